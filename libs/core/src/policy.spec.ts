import fc from 'fast-check';
import { DEFAULT_POLICY, mayOfferMediation, phaseOn, policyProblems } from './policy';
import { MediationPhase, MediationPolicy, Verdict } from './waiting.types';

const day = (offset: number) => new Date(Date.UTC(2026, 0, 1) + offset * 86_400_000).toISOString().slice(0, 10);

describe('mediation policy', () => {
  it('defaults to phase 1 from 1 January 2026 and no phase 2 (that date is configuration)', () => {
    expect(DEFAULT_POLICY).toEqual({ phase1From: '2026-01-01', phase2From: null });
  });

  it.each<[MediationPhase, Verdict, boolean]>([
    ['none', 'above-norm', false],
    ['none', 'within-norm', false],
    ['none', 'no-data', false],
    ['phase-1', 'above-norm', true],
    ['phase-1', 'within-norm', false], // not allowed in phase 1
    ['phase-1', 'no-data', false],
    ['phase-2', 'above-norm', true],
    ['phase-2', 'within-norm', true],
    ['phase-2', 'no-data', false], // never approach on a guess
  ])('%s, %s → may offer: %s', (phase, verdict, may) => expect(mayOfferMediation(phase, verdict)).toBe(may));

  it.each<[MediationPolicy, string[]]>([
    [DEFAULT_POLICY, []],
    [{ phase1From: '2026-01-01', phase2From: '2027-04-01' }, []],
    [{ phase1From: '2026-02-30', phase2From: null }, ['phase1From']],
    [{ phase1From: '2026-01-01', phase2From: '2026-01-01' }, ['phase2From']], // must be strictly after
    [{ phase1From: '2026-01-01', phase2From: '2025-12-31' }, ['phase2From']],
    [{ phase1From: '2026-01-01', phase2From: 'spring 2027' }, ['phase2From']],
  ])('validates %j → problems in %j', (policy, fields) => expect(policyProblems(policy).map((p) => p.field)).toEqual(fields));

  it('property: for a valid policy the phase only moves forward in time (none → phase-1 → phase-2)', () => {
    const order: Record<MediationPhase, number> = { none: 0, 'phase-1': 1, 'phase-2': 2 };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 900 }), fc.option(fc.integer({ min: 1, max: 900 })), fc.integer({ min: -100, max: 2000 }), fc.nat(500), (p1, gap, d, step) => {
        const policy = { phase1From: day(p1), phase2From: gap === null ? null : day(p1 + gap) };
        expect(policyProblems(policy)).toEqual([]);
        expect(order[phaseOn(policy, day(d))]).toBeLessThanOrEqual(order[phaseOn(policy, day(d + step))]);
        expect(phaseOn(policy, day(d)) === 'none').toBe(d < p1);
      }),
    );
  });
});
