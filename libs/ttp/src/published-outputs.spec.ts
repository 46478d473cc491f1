/**
 * Joint suppression across the TTP's outputs (security review, item 9), checked by brute force.
 *
 * Many small random waiting lists go through the real linkage (linkage-compute.ts) and the real
 * suppression of what an insurer-side reader can read of a run: the insurer report and the
 * cleaned waiting times of every provider. The reader model is written down here, apart from the
 * module: every printed figure is known; "<5" is 1–4, "x" is 5 or more, a withheld figure and
 * every figure that is never printed is any count ≥ 0; and the reader knows every relation between
 * the figures of both outputs:
 *   - in each row of the report: distinct = people on 1 + 2 + 3 + 4+ lists, entries ≥ distinct;
 *     a provider's people also elsewhere ≤ its distinct people;
 *   - national entries = the sum of the providers' = of the regions' = of the diagnosis groups';
 *   - a provider's (a region's, a diagnosis group's) entries = the sum of the entries of its
 *     cleaned cells, and a cleaned cell's entries ≥ its people waiting for intake + for treatment;
 *   - a listed overlap ≤ both providers' people also elsewhere;
 *   - and a few more that the module does not model, to see that they give nothing away either:
 *     a cleaned count ≤ its provider's distinct people; a row's distinct people ≤ the nation's.
 * For every count of 1–4 the test then searches, exhaustively, for a complete assignment of all
 * figures that satisfies every relation and every bound and gives that count another value. None
 * found: the count is disclosed, and the test fails.
 */
import fc from 'fast-check';
import { buildPublishedOutputs, cleanedKey, CleanedSuppression, Count, InsurerReport, ListCounts } from './insurer-report';
import { Linkage } from './linkage-compute';

interface Entry {
  provider: number;
  person: number;
  location: number;
  group: number;
  treat: boolean;
  days: number;
  established: boolean;
}

const AGBS = ['73000001', '73000002', '73000003'];
const GROUPS = ['angst', 'depressie'];
// Location l of every provider is in region l % 2.
const REGIONS = ['groningen', 'utrecht'];

const entryArb = fc.record({
  provider: fc.integer({ min: 0, max: 2 }),
  person: fc.integer({ min: 0, max: 15 }),
  location: fc.integer({ min: 0, max: 2 }),
  group: fc.integer({ min: 0, max: 1 }),
  treat: fc.boolean(),
  days: fc.integer({ min: 0, max: 200 }),
  established: fc.boolean(),
});

function compute(entries: Entry[]) {
  const linkage = new Linkage();
  entries.forEach((e, i) =>
    linkage.add({
      agb: AGBS[e.provider],
      clientRef: `R${i}`,
      pseudonym: e.person.toString(16).padStart(64, '0'),
      location: `loc${e.location}`,
      diagnosisGroup: GROUPS[e.group],
      treat: e.treat,
      days: e.days,
      region: REGIONS[e.location % 2],
      established: e.established,
    }),
  );
  const { raw, cleaned } = linkage.compute(20);
  const out = buildPublishedOutputs({ ...raw, providers: raw.providers.map((p) => ({ ...p, name: null })) }, cleaned, { topOverlaps: 20 });
  return {
    raw,
    cleaned,
    report: out.report,
    cleanedSuppressionOf: (x: { agb: string; location: string; diagnosisGroup: string }): { intake: CleanedSuppression; treatment: CleanedSuppression } =>
      out.cleaned.get(cleanedKey(x))!,
  };
}

// ---- The reader's problem: variables with bounds, and linear relations sum(coef * var) (= or ≥) 0 ----------------

interface Problem {
  names: string[];
  truth: number[];
  lo: number[];
  hi: number[];
  /** Σ coef·x = 0 (eq) or Σ coef·x ≥ 0. */
  rels: { terms: [number, number][]; eq: boolean }[];
  small: number[];
}

function readerProblem(c: ReturnType<typeof compute>, withExtras: boolean): Problem {
  // Unknown counts are enumerated up to a bound far above anything in the case (the reader knows no such bound; the
  // true total is not it, or "at most the total" would itself give counts away).
  const total = 3 * c.raw.national.entries + 10;
  const p: Problem = { names: [], truth: [], lo: [], hi: [], rels: [], small: [] };
  const index = new Map<string, number>();
  const v = (name: string, truth: number, shown: Count | 'hidden'): number => {
    const i = p.names.length;
    index.set(name, i);
    p.names.push(name);
    p.truth.push(truth);
    const [lo, hi] = typeof shown === 'number' ? [shown, shown] : shown === '<5' ? [1, 4] : shown === 'x' ? [5, total] : [0, total];
    p.lo.push(lo);
    p.hi.push(hi);
    if (typeof shown === 'number') expect([name, shown]).toEqual([name, truth]);
    if (shown === '<5') expect([name, truth >= 1 && truth <= 4]).toEqual([name, true]);
    if (shown === 'x') expect([name, truth >= 5]).toEqual([name, true]);
    if (truth >= 1 && truth <= 4 && shown !== 'hidden') {
      expect([name, shown === '<5' || shown === null]).toEqual([name, true]);
      p.small.push(i);
    }
    return i;
  };
  const eq = (left: number, right: number[]) => p.rels.push({ eq: true, terms: [[left, 1], ...right.map((r): [number, number] => [r, -1])] });
  const geq = (big: number, parts: number[]) => p.rels.push({ eq: false, terms: [[big, 1], ...parts.map((r): [number, number] => [r, -1])] });
  const report: InsurerReport = c.report;

  const row = (name: string, t: { entries: number; distinctPeople: number; peopleOn: ListCounts }, s: InsurerReport['national']) => {
    const entries = v(`${name}.entries`, t.entries, s.entries);
    const distinct = v(`${name}.distinct`, t.distinctPeople, s.distinctPeople);
    const on = (['1', '2', '3', '4+'] as const).map((k) => v(`${name}.on${k}`, t.peopleOn[k], s.peopleOn[k]));
    eq(distinct, on);
    geq(entries, [distinct]);
    return { entries, distinct };
  };
  const n = row('n', c.raw.national, report.national);
  const providers = new Map<string, { entries: number; distinct: number; also: number }>();
  c.raw.providers.forEach((t, i) => {
    const s = report.providers[i];
    const entries = v(`p${t.agb}.entries`, t.entries, s.entries);
    const distinct = v(`p${t.agb}.distinct`, t.distinctPeople, s.distinctPeople);
    const also = v(`p${t.agb}.also`, t.alsoElsewhere, s.alsoElsewhere);
    geq(entries, [distinct]);
    geq(distinct, [also]);
    providers.set(t.agb, { entries, distinct, also });
    if (withExtras) geq(n.distinct, [distinct]);
  });
  const regions = new Map(c.raw.regions.map((t, i) => [t.key, row(`r${t.key}`, t, report.regions[i])]));
  const groups = new Map(c.raw.diagnosisGroups.map((t, i) => [t.key, row(`g${t.key}`, t, report.diagnosisGroups[i])]));
  eq(
    n.entries,
    [...providers.values()].map((x) => x.entries),
  );
  eq(
    n.entries,
    [...regions.values()].map((x) => x.entries),
  );
  eq(
    n.entries,
    [...groups.values()].map((x) => x.entries),
  );
  if (withExtras) for (const x of [...regions.values(), ...groups.values()]) geq(n.distinct, [x.distinct]);

  const byTotal = new Map<number, number[]>();
  for (const cell of c.cleaned) {
    const how = c.cleanedSuppressionOf(cell);
    const shown = (value: number, s: CleanedSuppression): Count => (s === 'withheld' ? null : s === 'primary' ? '<5' : s === 'secondary' ? 'x' : value);
    const k = cleanedKey(cell);
    const wi = v(`c${k}.intake`, cell.waitingIntake, shown(cell.waitingIntake, how.intake));
    const wt = v(`c${k}.treatment`, cell.waitingTreatment, shown(cell.waitingTreatment, how.treatment));
    const entries = v(`c${k}.entries`, cell.entries, 'hidden');
    geq(entries, [wi, wt]);
    for (const total of [providers.get(cell.agb)!.entries, regions.get(cell.region)!.entries, groups.get(cell.diagnosisGroup)!.entries])
      byTotal.set(total, [...(byTotal.get(total) ?? []), entries]);
    if (withExtras) for (const x of [wi, wt]) geq(providers.get(cell.agb)!.distinct, [x]);
  }
  for (const [total, parts] of byTotal) eq(total, parts);
  for (const o of report.largestOverlaps) {
    const people = v(`o${o.agbA}+${o.agbB}`, o.people, o.people);
    geq(providers.get(o.agbA)!.also, [people]);
    geq(providers.get(o.agbB)!.also, [people]);
  }
  return p;
}

/**
 * Exhaustive search: an assignment within the bounds satisfying every relation, with x[target] = value? Bounds
 * propagation over the relations, then branching on the open variable with the smallest domain, every value in turn.
 */
function feasible(p: Problem, target: number, value: number, budget = { nodes: 2_000_000 }): boolean {
  const search = (lo: number[], hi: number[]): boolean => {
    if (--budget.nodes < 0) throw new Error('search budget exhausted: make the cases smaller');
    // Propagate to a fixpoint.
    for (let changed = true; changed;) {
      changed = false;
      for (const { terms, eq } of p.rels) {
        // Σ c·x: its least and greatest value.
        let min = 0;
        let max = 0;
        for (const [x, a] of terms) {
          min += a > 0 ? a * lo[x] : a * hi[x];
          max += a > 0 ? a * hi[x] : a * lo[x];
        }
        if (max < 0 || (eq && min > 0)) return false;
        for (const [x, a] of terms) {
          const restMin = min - (a > 0 ? a * lo[x] : a * hi[x]);
          const restMax = max - (a > 0 ? a * hi[x] : a * lo[x]);
          // a·x + rest ≥ 0 (and ≤ 0 when eq).
          if (a > 0) {
            const newLo = Math.ceil(-restMax / a);
            if (newLo > lo[x]) {
              lo[x] = newLo;
              changed = true;
            }
            if (eq) {
              const newHi = Math.floor(-restMin / a);
              if (newHi < hi[x]) {
                hi[x] = newHi;
                changed = true;
              }
            }
          } else {
            const newHi = Math.floor(restMax / -a);
            if (newHi < hi[x]) {
              hi[x] = newHi;
              changed = true;
            }
            if (eq) {
              const newLo = Math.ceil(restMin / -a);
              if (newLo > lo[x]) {
                lo[x] = newLo;
                changed = true;
              }
            }
          }
          if (lo[x] > hi[x]) return false;
        }
      }
    }
    let pick = -1;
    for (let i = 0; i < lo.length; i++) if (lo[i] < hi[i] && (pick < 0 || hi[i] - lo[i] < hi[pick] - lo[pick])) pick = i;
    if (pick < 0) return true; // all fixed and every relation held in the last pass
    for (let x = lo[pick]; x <= hi[pick]; x++) {
      const lo2 = lo.slice();
      const hi2 = hi.slice();
      lo2[pick] = hi2[pick] = x;
      if (search(lo2, hi2)) return true;
    }
    return false;
  };
  if (value < p.lo[target] || value > p.hi[target]) return false;
  const lo = p.lo.slice();
  const hi = p.hi.slice();
  lo[target] = hi[target] = value;
  return search(lo, hi);
}

function disclosed(p: Problem): string[] {
  // The true values are a solution: the reader model is sound to begin with.
  expect(feasible(p, p.small[0] ?? 0, p.truth[p.small[0] ?? 0])).toBe(true);
  // 0 counts as a second value only for a withheld figure: of a "<5" the reader knows it is at least 1.
  return p.small.filter((i) => ![0, 1, 2, 3, 4].some((x) => x !== p.truth[i] && feasible(p, i, x))).map((i) => `${p.names[i]} = ${p.truth[i]}`);
}

describe('joint suppression of the insurer report and the cleaned waiting times', () => {
  it('leaves every count of 1–4 of either output with a second value consistent with all published figures of both', () => {
    let checkedSmall = 0;
    let crossHidden = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(entryArb, { minLength: 1, maxLength: 14 }),
          fc.array(
            entryArb.map((e) => ({ ...e, provider: e.provider % 2, location: e.location % 2, person: e.person + 16 * (e.days % 2) })),
            { minLength: 10, maxLength: 36 },
          ),
        ),
        (entries) => {
          const c = compute(entries);
          const p = readerProblem(c, true);
          checkedSmall += p.small.length;
          // The joint pass hid more than the two outputs suppressed on their own would have.
          const reportAlone = buildPublishedOutputs({ ...c.raw, providers: c.raw.providers.map((x) => ({ ...x, name: null })) }, [], { topOverlaps: 20 }).report;
          const cleanedMore = c.cleaned.map(c.cleanedSuppressionOf).some((x) => x.intake === 'secondary' || x.treatment === 'secondary');
          if (cleanedMore || JSON.stringify(reportAlone) !== JSON.stringify(c.report)) crossHidden++;
          expect(disclosed(p)).toEqual([]);
        },
      ),
      { numRuns: 300, seed: 20261202 },
    );
    // Not vacuous: many small counts were checked, and in many cases the joint pass had to hide more than two separate ones.
    expect(checkedSmall).toBeGreaterThan(1000);
    expect(crossHidden).toBeGreaterThan(40);
  });

  it('needed the joint pass: with the cleaned counts suppressed on their own, a reader works out a "<5"', () => {
    // One provider, one location, one group: 5 waiting for intake and 1 for treatment. On its
    // own the cleaned cell shows 5 and "<5"; the report shows entries 6 … unless suppressed jointly.
    const entries: Entry[] = [0, 1, 2, 3, 4].map((person) => ({ provider: 0, person, location: 0, group: 0, treat: false, days: 10, established: true }));
    entries.push({ provider: 0, person: 5, location: 0, group: 0, treat: true, days: 10, established: true });
    for (let person = 10; person < 16; person++) entries.push({ provider: 1, person, location: 1, group: 1, treat: false, days: 10, established: true });
    const c = compute(entries);
    const small = (n: number): CleanedSuppression => (n >= 1 && n <= 4 ? 'primary' : null);
    const byCell = new Map(c.cleaned.map((x) => [cleanedKey(x), { intake: small(x.waitingIntake), treatment: small(x.waitingTreatment) }]));
    // Each output suppressed on its own: the report by itself (as before), the cleaned counts cell by cell.
    const reportAlone = buildPublishedOutputs({ ...c.raw, providers: c.raw.providers.map((p) => ({ ...p, name: null })) }, [], { topOverlaps: 20 }).report;
    const alone = readerProblem({ ...c, report: reportAlone, cleanedSuppressionOf: (x) => byCell.get(cleanedKey(x))! }, false);
    expect(disclosed(alone).length).toBeGreaterThan(0);
    expect(disclosed(readerProblem(c, true))).toEqual([]);
  });
});
