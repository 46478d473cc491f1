import fc from 'fast-check';
import { MIN_GAIN_WEEKS, rankAlternatives } from './alternatives';
import { WAITING_LIST_REGIONS, isRegion } from './regions';
import { treeknormGgz } from './test-fixtures';
import { AlternativesInput, CandidateLocation } from './waiting.types';

const NORM = treeknormGgz();
const cand = (id: string, over: Partial<CandidateLocation> & { a?: number; b?: number } = {}): CandidateLocation => {
  const { a = 2, b = 5, ...rest } = over;
  return { locationId: id, agb: `9400${id.padStart(4, '0').slice(-4)}`, providerName: `Praktijk ${id}`, locationName: `Vestiging ${id}`, region: 'utrecht', municipality: 'Utrecht', contracted: true, treats: true, wait: { locationId: id, month: '2026-10', aanmeldWeeks: a, behandelWeeks: b }, ...rest };
};
const input = (candidates: CandidateLocation[], over: Partial<AlternativesInput> = {}): AlternativesInput => ({
  referredAgb: '94000000',
  referralRegions: ['utrecht'],
  referredTotalWeeks: 20,
  norm: NORM,
  candidates,
  diagnosisGroup: 'depressie',
  ...over,
});

describe('regions', () => {
  it('has the 31 waiting-list regions with unique codes', () => {
    expect(WAITING_LIST_REGIONS).toHaveLength(31);
    expect(new Set(WAITING_LIST_REGIONS.map((r) => r.code)).size).toBe(31);
    expect(isRegion('zuid-limburg')).toBe(true);
    expect(isRegion('Zuid-Limburg')).toBe(false);
  });
});

describe('rankAlternatives', () => {
  it('leaves out locations not contracted, not treating the group, without figures, or of the referred provider', () => {
    const out = rankAlternatives(
      input([cand('1', { contracted: false }), cand('2', { treats: false }), cand('3', { wait: null }), cand('4', { agb: '94000000' }), cand('5')]),
    );
    expect(out.map((a) => a.locationId)).toEqual(['5']);
  });

  it('orders same region first, then within the norm, then shortest, and says why', () => {
    const out = rankAlternatives(
      input([
        cand('far-fast', { region: 'amsterdam', a: 1, b: 1 }),
        cand('near-slow', { a: 3, b: 9 }),
        cand('near-fast', { a: 1, b: 2 }),
        cand('near-over', { a: 6, b: 6 }), // 12 wk: not within (aanmelding 6 > 4) but 8 wk shorter than 20
      ]),
    );
    expect(out.map((a) => a.locationId)).toEqual(['near-fast', 'near-slow', 'near-over', 'far-fast']);
    expect(out.map((a) => a.rank)).toEqual([1, 2, 3, 4]);
    expect(out[0].reason).toBe('within the Treeknorm (aanmelding 1 wk ≤ 4, behandeling 2 wk ≤ 10, totaal 3 wk ≤ 14); same region (Utrecht)');
    expect(out[2].reason).toBe('8 weeks shorter than the referred provider (total 12 vs 20 wk); same region (Utrecht)');
    expect(out[3]).toMatchObject({ sameRegion: false, withinNorm: true });
    expect(out[3].reason).toMatch(/other region \(Amsterdam\)$/);
  });

  it('offers an over-norm location only when it saves at least two weeks (exactly two qualifies)', () => {
    const c = cand('x', { a: 6, b: 6 }); // 12 weeks
    expect(rankAlternatives(input([c], { referredTotalWeeks: 12 + MIN_GAIN_WEEKS }))).toHaveLength(1);
    expect(rankAlternatives(input([c], { referredTotalWeeks: 13.9 }))).toHaveLength(0);
    expect(rankAlternatives(input([c], { referredTotalWeeks: null }))).toHaveLength(0);
  });

  it('returns at most five by default, or the given limit', () => {
    const many = Array.from({ length: 9 }, (_, i) => cand(String(i)));
    expect(rankAlternatives(input(many))).toHaveLength(5);
    expect(rankAlternatives(input(many, { limit: 2 }))).toHaveLength(2);
  });

  it('property: output is eligible and sorted by region, norm, total', () => {
    const arb = fc.array(
      fc.record({
        region: fc.constantFrom('utrecht', 'amsterdam', 'zeeland'),
        a: fc.integer({ min: 0, max: 120 }).map((n) => n / 10),
        b: fc.integer({ min: 0, max: 200 }).map((n) => n / 10),
        contracted: fc.boolean(),
        treats: fc.boolean(),
      }),
      { maxLength: 15 },
    );
    fc.assert(
      fc.property(arb, fc.integer({ min: 0, max: 300 }), (rows, ref) => {
        const cands = rows.map((r, i) => cand(String(i), r));
        const out = rankAlternatives(input(cands, { referredTotalWeeks: ref / 10 }));
        for (const a of out) {
          const c = cands.find((x) => x.locationId === a.locationId)!;
          expect(c.contracted && c.treats).toBe(true);
          expect(a.withinNorm || Math.round(a.totalWeeks * 10) <= ref - 20).toBe(true);
        }
        for (let i = 1; i < out.length; i++) {
          const [p, q] = [out[i - 1], out[i]];
          const key = (x: typeof p) => [x.sameRegion ? 0 : 1, x.withinNorm ? 0 : 1, x.totalWeeks];
          const [kp, kq] = [key(p), key(q)];
          const cmp = kp[0] - kq[0] || kp[1] - kq[1] || kp[2] - kq[2];
          expect(cmp).toBeLessThanOrEqual(0);
        }
      }),
    );
  });
});
