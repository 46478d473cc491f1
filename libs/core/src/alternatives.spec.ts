import fc from 'fast-check';
import { MIN_GAIN_WEEKS, rankAlternatives } from './alternatives';
import { WAITING_LIST_REGIONS, isRegion } from './regions';
import { treeknormGgz } from './test-fixtures';
import { AlternativesInput, CandidateLocation } from './waiting.types';

const NORM = treeknormGgz();
const cand = (id: string, over: Partial<CandidateLocation> & { a?: number; b?: number } = {}): CandidateLocation => {
  const { a = 2, b = 5, ...rest } = over;
  return {
    locationId: id,
    agb: `9400${id.padStart(4, '0').slice(-4)}`,
    providerName: `Praktijk ${id}`,
    locationName: `Vestiging ${id}`,
    region: 'utrecht',
    municipality: 'Utrecht',
    contracted: true,
    treats: true,
    wait: { locationId: id, month: '2026-10', aanmeldWeeks: a, behandelWeeks: b },
    ...rest,
  };
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
    const out = rankAlternatives(input([cand('1', { contracted: false }), cand('2', { treats: false }), cand('3', { wait: null }), cand('4', { agb: '94000000' }), cand('5')]));
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

// ---- Further cases and properties --------------------------------------------------------------

describe('rankAlternatives (more)', () => {
  it('counts exactly at each norm as within, a tenth above as not', () => {
    expect(rankAlternatives(input([cand('x', { a: 4, b: 10 })]))[0].withinNorm).toBe(true);
    // 4.1 + 9.9 = 14 weeks: not within (aanmelding over), offered only because it is 6 weeks shorter than 20.
    expect(rankAlternatives(input([cand('x', { a: 4.1, b: 9.9 })]))[0]).toMatchObject({ withinNorm: false, totalWeeks: 14 });
    // aanmelding and behandeling within, but the total is over a stricter totaal norm.
    const strict = treeknormGgz({ maxWeeks: { aanmelding: 4, behandeling: 10, totaal: 12 } });
    expect(rankAlternatives(input([cand('x', { a: 4, b: 9 })], { norm: strict, referredTotalWeeks: null }))).toEqual([]);
  });

  it('applies the two-week rule in tenths, not in floating point (12.3 − 2 qualifies 10.3)', () => {
    expect(rankAlternatives(input([cand('x', { a: 5.1, b: 5.2 })], { referredTotalWeeks: 12.3 }))).toHaveLength(1);
    expect(rankAlternatives(input([cand('x', { a: 5.1, b: 5.3 })], { referredTotalWeeks: 12.3 }))).toHaveLength(0);
  });

  it('breaks ties by provider name, then by location id, so the list is the same on every run', () => {
    const out = rankAlternatives(input([cand('b', { providerName: 'Zorggroep' }), cand('c', { providerName: 'Altrecht' }), cand('a', { providerName: 'Zorggroep' })]));
    expect(out.map((x) => x.locationId)).toEqual(['c', 'a', 'b']);
  });

  it('names the region for people and falls back to the code when it is unknown', () => {
    const [known, unknown] = rankAlternatives(input([cand('1', { region: 't-gooi', a: 1, b: 1 }), cand('2', { region: 'elders', a: 1, b: 2 })]));
    expect(known.reason).toMatch(/other region \('t Gooi\)$/);
    expect(unknown.reason).toMatch(/other region \(elders\)$/);
  });

  it('returns nothing for a limit of 0 or below, and refuses a norm set that is not ggz', () => {
    expect(rankAlternatives(input([cand('1')], { limit: 0 }))).toEqual([]);
    expect(rankAlternatives(input([cand('1'), cand('2')], { limit: -1 }))).toEqual([]);
    expect(() => rankAlternatives(input([cand('1')], { norm: treeknormGgz({ sector: 'msz', maxWeeks: { polikliniek: 4, diagnostiek: 4, behandeling: 6 } }) }))).toThrow(/ggz/);
  });

  it('property: exactly the best min(limit, eligible) candidates, in the documented order, ranked 1..n', () => {
    const collator = new Intl.Collator('nl');
    const arb = fc.array(
      fc.record({
        region: fc.constantFrom('utrecht', 'amsterdam', 'zeeland'),
        a: fc.integer({ min: 0, max: 80 }).map((n) => n / 10),
        b: fc.integer({ min: 0, max: 150 }).map((n) => n / 10),
        contracted: fc.boolean(),
        treats: fc.boolean(),
        noFigures: fc.boolean(),
        referred: fc.boolean(),
        providerName: fc.constantFrom('Altrecht', 'Parnassia', 'GGz Centraal', 'ggz centraal'),
      }),
      { maxLength: 20 },
    );
    const referredTotal = fc.option(fc.integer({ min: 0, max: 300 }).map((n) => n / 10));
    fc.assert(
      fc.property(arb, referredTotal, fc.option(fc.integer({ min: 0, max: 8 })), fc.subarray(['utrecht', 'amsterdam', 'zeeland']), (rows, ref, limit, regions) => {
        const cands = rows.map((r, i) => {
          const c = cand(String(i).padStart(2, '0'), { region: r.region, a: r.a, b: r.b, contracted: r.contracted, treats: r.treats, providerName: r.providerName });
          return { ...c, agb: r.referred ? '94000000' : c.agb, wait: r.noFigures ? null : c.wait };
        });
        const out = rankAlternatives(input(cands, { referredTotalWeeks: ref, referralRegions: regions, limit: limit ?? undefined }));

        // Independent statement of eligibility, in tenths of a week.
        const tenths = (x: number) => Math.round(x * 10);
        const eligible = cands.filter((c) => {
          if (!c.contracted || !c.treats || c.wait === null || c.agb === '94000000') return false;
          const total = tenths(c.wait.aanmeldWeeks + c.wait.behandelWeeks);
          const within = tenths(c.wait.aanmeldWeeks) <= 40 && tenths(c.wait.behandelWeeks) <= 100 && total <= 140;
          return within || (ref !== null && total <= tenths(ref) - 20);
        });
        const ids = new Set(eligible.map((c) => c.locationId));
        expect(out.length).toBe(Math.min(limit ?? 5, eligible.length));
        expect(out.map((x) => x.rank)).toEqual(out.map((_, i) => i + 1));

        type Key = { sameRegion: boolean; withinNorm: boolean; totalWeeks: number; providerName: string; locationId: string };
        const cmp = (p: Key, q: Key) =>
          Number(q.sameRegion) - Number(p.sameRegion) ||
          Number(q.withinNorm) - Number(p.withinNorm) ||
          p.totalWeeks - q.totalWeeks ||
          collator.compare(p.providerName, q.providerName) ||
          (p.locationId < q.locationId ? -1 : 1);
        for (const x of out) {
          expect(ids.has(x.locationId)).toBe(true);
          expect(x.sameRegion).toBe(regions.includes(x.region));
        }
        for (let i = 1; i < out.length; i++) expect(cmp(out[i - 1], out[i])).toBeLessThan(0);
        // Nothing left out would have ranked before the last one taken.
        const taken = new Set(out.map((x) => x.locationId));
        for (const c of out.length === 0 ? [] : eligible.filter((e) => !taken.has(e.locationId))) {
          const total = Math.round((c.wait!.aanmeldWeeks + c.wait!.behandelWeeks) * 10) / 10;
          const within = c.wait!.aanmeldWeeks <= 4 && c.wait!.behandelWeeks <= 10 && total <= 14;
          const key = { sameRegion: regions.includes(c.region), withinNorm: within, totalWeeks: total, providerName: c.providerName, locationId: c.locationId };
          expect(cmp(out[out.length - 1], key)).toBeLessThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });
});
