import { normSetProblems, overlappingSets, periodsOverlap, selectNormSet, weeksBetween } from './norms';
import { DEFAULT_POLICY, mayOfferMediation, phaseOn, policyProblems } from './policy';
import { treeknormGgz } from './test-fixtures';
import { NormSet } from './waiting.types';

const set = (over: Partial<NormSet>): NormSet => treeknormGgz({ id: 'x', name: 'n', ...over });

describe('weeksBetween', () => {
  it('counts calendar days / 7 and never goes negative', () => {
    expect(weeksBetween('2026-11-01', '2026-11-22')).toBe(3);
    expect(weeksBetween('2026-03-28', '2026-03-30')).toBeCloseTo(2 / 7); // across the DST change
    expect(weeksBetween('2026-11-22', '2026-11-01')).toBe(0);
  });
});

describe('normSetProblems', () => {
  it('accepts the Treeknorm', () => expect(normSetProblems(set({}))).toEqual([]));
  it('names each problem by field', () => {
    const fields = normSetProblems(set({ name: '', validUntil: '1999-01-01', category: 'cruciaal', sector: 'msz', maxWeeks: { aanmelding: 4 } })).map((p) => p.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'validUntil', 'category', 'maxWeeks.aanmelding', 'maxWeeks.polikliniek']));
    expect(normSetProblems(set({ maxWeeks: { aanmelding: 4, behandeling: 10, totaal: 8 } })).map((p) => p.field)).toEqual(['maxWeeks.totaal']);
    expect(normSetProblems(set({ maxWeeks: { aanmelding: -1, behandeling: 10, totaal: 14 } })).map((p) => p.field)).toEqual(['maxWeeks.aanmelding']);
  });
});

describe('overlap', () => {
  it('uses [from, until) periods', () => {
    expect(periodsOverlap({ validFrom: '2026-01-01', validUntil: '2026-07-01' }, { validFrom: '2026-07-01', validUntil: null })).toBe(false);
    expect(periodsOverlap({ validFrom: '2026-01-01', validUntil: '2026-07-02' }, { validFrom: '2026-07-01', validUntil: null })).toBe(true);
    expect(periodsOverlap({ validFrom: '2026-01-01', validUntil: null }, { validFrom: '2030-01-01', validUntil: null })).toBe(true);
  });
  it('only within the same scope', () => {
    const existing = [set({ id: 'general' }), set({ id: 'urgent', urgency: 'urgent' })];
    expect(overlappingSets(set({ validFrom: '2027-01-01' }), existing).map((s) => s.id)).toEqual(['general']);
    expect(overlappingSets(set({ urgency: 'regulier' }), existing)).toEqual([]);
  });
});

describe('selectNormSet', () => {
  const old = set({ id: 'old', validUntil: '2027-01-01' });
  const c4 = set({ id: 'c4', validFrom: '2027-01-01', maxWeeks: { aanmelding: 3, behandeling: 8, totaal: 11 } });
  const c4urgent = set({ id: 'c4-urgent', validFrom: '2027-01-01', urgency: 'urgent' });
  const c4crucial = set({ id: 'c4-crucial', validFrom: '2027-01-01', category: 'cruciaal' });
  const msz = set({ id: 'msz', sector: 'msz', maxWeeks: { polikliniek: 4, diagnostiek: 4, behandeling: 6 } });
  const all = [old, c4, c4urgent, c4crucial, msz];
  it('picks the set valid on the date', () => {
    expect(selectNormSet(all, { sector: 'ggz', date: '2026-12-31' })?.id).toBe('old');
    expect(selectNormSet(all, { sector: 'ggz', date: '2027-01-01' })?.id).toBe('c4');
    expect(selectNormSet(all, { sector: 'msz', date: '2027-01-01' })?.id).toBe('msz');
    expect(selectNormSet([c4], { sector: 'ggz', date: '2026-06-01' })).toBeNull();
  });
  it('prefers the most specific matching scope and ignores sets for another urgency or category', () => {
    expect(selectNormSet(all, { sector: 'ggz', date: '2027-02-01', urgency: 'urgent' })?.id).toBe('c4-urgent');
    expect(selectNormSet(all, { sector: 'ggz', date: '2027-02-01', urgency: 'regulier' })?.id).toBe('c4');
    expect(selectNormSet(all, { sector: 'ggz', date: '2027-02-01', category: 'cruciaal' })?.id).toBe('c4-crucial');
    expect(selectNormSet(all, { sector: 'ggz', date: '2027-02-01', category: 'overig' })?.id).toBe('c4');
  });
});

describe('mediation policy', () => {
  it('starts phase 1 on 2026-01-01 and has no phase 2 by default', () => {
    expect(phaseOn(DEFAULT_POLICY, '2025-12-31')).toBe('none');
    expect(phaseOn(DEFAULT_POLICY, '2026-01-01')).toBe('phase-1');
    expect(phaseOn(DEFAULT_POLICY, '2030-01-01')).toBe('phase-1');
    const p2 = { ...DEFAULT_POLICY, phase2From: '2027-04-01' };
    expect(phaseOn(p2, '2027-03-31')).toBe('phase-1');
    expect(phaseOn(p2, '2027-04-01')).toBe('phase-2');
  });
  it('approaches within-norm people only in phase 2, and nobody on no data', () => {
    expect(mayOfferMediation('phase-1', 'above-norm')).toBe(true);
    expect(mayOfferMediation('phase-1', 'within-norm')).toBe(false);
    expect(mayOfferMediation('phase-2', 'within-norm')).toBe(true);
    expect(mayOfferMediation('phase-2', 'no-data')).toBe(false);
    expect(mayOfferMediation('none', 'above-norm')).toBe(false);
  });
  it('validates dates and order', () => {
    expect(policyProblems(DEFAULT_POLICY)).toEqual([]);
    expect(policyProblems({ phase1From: '2026-01-01', phase2From: '2025-01-01' }).map((p) => p.field)).toEqual(['phase2From']);
  });
});
