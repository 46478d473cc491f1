import fc from 'fast-check';
import { normSetProblems, overlappingSets, periodsOverlap, selectNormSet, TREEKNORM_GGZ_2025, TREEKNORM_MSZ_2025, weeksBetween } from './norms';
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

// ---- Further cases and properties --------------------------------------------------------------

/** Day `n` after 2026-01-01 as YYYY-MM-DD: lets properties work with small integers. */
const day = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 86_400_000).toISOString().slice(0, 10);

describe('weeksBetween (more)', () => {
  it('uses calendar days across a leap day and refuses malformed dates instead of returning NaN', () => {
    expect(weeksBetween('2024-02-28', '2024-03-01')).toBeCloseTo(2 / 7);
    expect(weeksBetween('2026-01-01', '2026-01-01')).toBe(0);
    expect(() => weeksBetween('2026-02-30', '2026-03-01')).toThrow(/YYYY-MM-DD/);
    expect(() => weeksBetween('2026-01-01', '')).toThrow(/YYYY-MM-DD/);
  });
  it('property: n days later is n/7 weeks, and the order of the dates never makes it negative', () => {
    fc.assert(
      fc.property(fc.integer({ min: -400, max: 4000 }), fc.integer({ min: 0, max: 2000 }), (start, n) => {
        expect(weeksBetween(day(start), day(start + n))).toBeCloseTo(n / 7, 9);
        expect(weeksBetween(day(start + n), day(start))).toBe(0);
      }),
    );
  });
});

describe('normSetProblems (more)', () => {
  const fields = (x: unknown) => normSetProblems(x).map((p) => p.field);
  it('accepts the seed Treeknorm sets for both sectors (without their ids)', () => {
    for (const seed of [TREEKNORM_GGZ_2025, TREEKNORM_MSZ_2025]) {
      const { id, ...draft } = seed;
      expect(id).toMatch(/^treeknorm-(ggz|msz)$/);
      expect(normSetProblems(draft)).toEqual([]);
    }
    expect(TREEKNORM_GGZ_2025.maxWeeks).toEqual({ aanmelding: 4, behandeling: 10, totaal: 14 });
    expect(TREEKNORM_MSZ_2025.maxWeeks).toEqual({ polikliniek: 4, diagnostiek: 4, behandeling: 6 });
  });
  it('reports a wrong shape instead of throwing', () => {
    for (const bad of [null, undefined, 'Treeknorm', 14, []]) expect(fields(bad)).toEqual(['(body)']);
    expect(fields(set({ maxWeeks: null as never }))).toEqual(['maxWeeks']);
    expect(fields({})).toEqual(expect.arrayContaining(['name', 'sector', 'validFrom', 'validUntil', 'urgency', 'category']));
  });
  it.each<[string, Partial<NormSet>, string[]]>([
    ['a 100-character name', { name: 'x'.repeat(100) }, []],
    ['a 101-character name', { name: 'x'.repeat(101) }, ['name']],
    ['a blank name', { name: '   ' }, ['name']],
    ['an unknown sector', { sector: 'ggzz' as never }, ['sector']],
    ['an impossible validFrom', { validFrom: '2026-02-29' }, ['validFrom']],
    ['validUntil equal to validFrom', { validFrom: '2027-01-01', validUntil: '2027-01-01' }, ['validUntil']],
    ['validUntil the day after', { validFrom: '2027-01-01', validUntil: '2027-01-02' }, []],
    ['an unknown urgency', { urgency: 'spoed' as never }, ['urgency']],
    ['a known urgency', { urgency: 'urgent' }, []],
    ['an unknown category', { category: 'basis' as never }, ['category']],
    ['a category on msz', { sector: 'msz', category: 'overig', maxWeeks: { polikliniek: 4, diagnostiek: 4, behandeling: 6 } }, ['category']],
    [
      'a ggz set with msz stages',
      { maxWeeks: { polikliniek: 4, diagnostiek: 4, behandeling: 6 } },
      ['maxWeeks.polikliniek', 'maxWeeks.diagnostiek', 'maxWeeks.aanmelding', 'maxWeeks.totaal'],
    ],
    ['104 weeks (the maximum)', { maxWeeks: { aanmelding: 4, behandeling: 10, totaal: 104 } }, []],
    ['104.1 weeks', { maxWeeks: { aanmelding: 4, behandeling: 10, totaal: 104.1 } }, ['maxWeeks.totaal']],
    ['zero weeks', { maxWeeks: { aanmelding: 0, behandeling: 10, totaal: 14 } }, ['maxWeeks.aanmelding']],
    ['NaN', { maxWeeks: { aanmelding: NaN, behandeling: 10, totaal: 14 } }, ['maxWeeks.aanmelding']],
    ['Infinity', { maxWeeks: { aanmelding: 4, behandeling: Infinity, totaal: 14 } }, ['maxWeeks.behandeling', 'maxWeeks.totaal']],
    ['a number as a string', { maxWeeks: { aanmelding: '4' as never, behandeling: 10, totaal: 14 } }, ['maxWeeks.aanmelding']],
    ['totaal equal to the largest stage', { maxWeeks: { aanmelding: 4, behandeling: 10, totaal: 10 } }, []],
  ])('%s', (_label, over, expected) => expect(fields(set(over))).toEqual(expected));
});

describe('overlap (more)', () => {
  // Periods as day numbers; until null = open-ended. Checked against the days themselves.
  const period = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.option(fc.integer({ min: 1, max: 40 }))).map(([from, len]) => ({
    validFrom: day(from),
    validUntil: len === null ? null : day(from + len),
    from,
    until: len === null ? Infinity : from + len,
  }));
  it('property: two periods overlap exactly when some day lies in both, and it is symmetric', () => {
    fc.assert(
      fc.property(period, period, (a, b) => {
        let shared = false;
        for (let d = 0; d <= 100 && !shared; d++) shared = a.from <= d && d < a.until && b.from <= d && d < b.until;
        expect(periodsOverlap(a, b)).toBe(shared);
        expect(periodsOverlap(b, a)).toBe(shared);
      }),
    );
  });
  it('treats a category set and a general set as different scopes (both may coexist)', () => {
    expect(overlappingSets(set({ category: 'cruciaal' }), [set({ id: 'general' })])).toEqual([]);
    expect(overlappingSets(set({ sector: 'msz' }), [set({ id: 'general' })])).toEqual([]);
  });
});

describe('selectNormSet (more)', () => {
  it('with no urgency or category given, applies only the general sets', () => {
    const sets = [set({ id: 'urgent', urgency: 'urgent' }), set({ id: 'crucial', category: 'cruciaal' })];
    expect(selectNormSet(sets, { sector: 'ggz', date: '2027-01-01' })).toBeNull();
    expect(selectNormSet([...sets, set({ id: 'general' })], { sector: 'ggz', date: '2027-01-01', urgency: null, category: null })?.id).toBe('general');
  });
  it('prefers a set matching both dimensions, then urgency over category', () => {
    const sets = [set({ id: 'g' }), set({ id: 'u', urgency: 'urgent' }), set({ id: 'c', category: 'cruciaal' }), set({ id: 'uc', urgency: 'urgent', category: 'cruciaal' })];
    expect(selectNormSet(sets, { sector: 'ggz', date: '2027-01-01', urgency: 'urgent', category: 'cruciaal' })?.id).toBe('uc');
    expect(selectNormSet(sets.slice(0, 3), { sector: 'ggz', date: '2027-01-01', urgency: 'urgent', category: 'cruciaal' })?.id).toBe('u');
  });
  it('treats validUntil as exclusive and, should overlapping sets exist anyway, takes the latest validFrom', () => {
    const sets = [set({ id: 'a', validUntil: '2027-01-01' }), set({ id: 'b', validFrom: '2026-06-01' })];
    expect(selectNormSet(sets, { sector: 'ggz', date: '2026-05-31' })?.id).toBe('a');
    expect(selectNormSet(sets, { sector: 'ggz', date: '2026-07-01' })?.id).toBe('b');
    expect(selectNormSet(sets.slice(0, 1), { sector: 'ggz', date: '2027-01-01' })).toBeNull();
  });

  it('property: the chosen set applies, and no applicable set is more specific', () => {
    const urgency = fc.constantFrom(null, 'regulier' as const, 'urgent' as const);
    const category = fc.constantFrom(null, 'cruciaal' as const, 'overig' as const);
    const arbSet = fc.record({
      sector: fc.constantFrom('ggz' as const, 'msz' as const),
      from: fc.integer({ min: 0, max: 30 }),
      len: fc.option(fc.integer({ min: 1, max: 30 })),
      urgency,
      category,
    });
    fc.assert(
      fc.property(fc.array(arbSet, { maxLength: 8 }), fc.integer({ min: 0, max: 70 }), urgency, category, (rows, d, u, c) => {
        const sets = rows.map((r, i) =>
          set({ id: `s${i}`, sector: r.sector, validFrom: day(r.from), validUntil: r.len === null ? null : day(r.from + r.len), urgency: r.urgency, category: r.category }),
        );
        const date = day(d);
        const applies = (n: NormSet) =>
          n.sector === 'ggz' &&
          n.validFrom <= date &&
          (n.validUntil === null || date < n.validUntil) &&
          (n.urgency === null || n.urgency === u) &&
          (n.category === null || n.category === c);
        const rank = (n: NormSet) => [n.urgency === null ? 0 : 1, n.category === null ? 0 : 1];
        const chosen = selectNormSet(sets, { sector: 'ggz', date, urgency: u, category: c });
        const applicable = sets.filter(applies);
        if (applicable.length === 0) return expect(chosen).toBeNull();
        expect(chosen).not.toBeNull();
        expect(applies(chosen!)).toBe(true);
        const [cu, cc] = rank(chosen!);
        for (const other of applicable) {
          const [ou, oc] = rank(other);
          expect(ou > cu || (ou === cu && oc > cc)).toBe(false);
        }
      }),
    );
  });
});
