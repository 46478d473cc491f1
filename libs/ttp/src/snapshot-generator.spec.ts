/**
 * The synthetic snapshot generator: deterministic, exactly N rows, every row a valid snapshot
 * entry of its provider, no BSN shared by two people, realistic overlaps — and a ground truth that
 * a naïve recomputation from the rows themselves (people found by their stage-2 pseudonym, as the
 * TTP finds them) agrees with, figure for figure.
 */
import { stage1Pseudonymiser, stage2Pseudonymiser } from '@app/core';
import { generateDemoRegistry } from '@app/waitlists';
import { checkEntry, CheckedEntry, SNAPSHOT_COLUMNS } from './snapshot-entry';
import { GroundTruth, groundTruth, planSnapshots, SnapshotPlan, SnapshotPlanOptions, snapshotCsv, snapshotRows } from './snapshot-generator';

const TODAY = '2026-11-20';
const STAGE1_KEY = Buffer.alloc(32, 7);
const STAGE2_KEY = Buffer.alloc(32, 9);
const keys = { stage1: stage1Pseudonymiser(STAGE1_KEY), stage2: stage2Pseudonymiser(STAGE2_KEY) };
const registry = generateDemoRegistry({ today: TODAY, providers: 300 });
const base = (over: Partial<SnapshotPlanOptions> = {}): SnapshotPlanOptions => ({
  today: TODAY,
  locations: registry.locations,
  entries: 5_000,
  providers: 40,
  dupRate: 0.2,
  repeatRate: 0.02,
  seed: 11,
  stage1Key: STAGE1_KEY,
  ...over,
});

/** Our CSV never needs quotes: a plain split is a fair reader. */
function parseCsv(csv: string): Record<string, string>[] {
  const lines = csv.split('\n');
  expect(lines[0]).toBe(SNAPSHOT_COLUMNS.join(','));
  expect(lines[lines.length - 1]).toBe('');
  return lines.slice(1, -1).map((line) => {
    const cells = line.split(',');
    expect(cells).toHaveLength(SNAPSHOT_COLUMNS.length);
    return Object.fromEntries(SNAPSHOT_COLUMNS.map((c, i) => [c, cells[i]]));
  });
}

type Entry = CheckedEntry & { agb: string; region: string };

/** Every provider's CSV through checkEntry, as the upload would: fails the test on any problem. */
function checkedEntries(plan: SnapshotPlan): Entry[] {
  const region = new Map(registry.locations.map((l) => [`${l.agb}|${l.code}`, l.region]));
  return plan.providers.flatMap((p, i) => {
    const ctx = { today: plan.today, locations: new Set(registry.locations.filter((l) => l.agb === p.agb).map((l) => l.code)), keys };
    return parseCsv(snapshotCsv(plan, i)).map((raw) => {
      const r = checkEntry(raw, ctx);
      if ('problems' in r) throw new Error(`${p.agb} ${raw.clientRef}: ${JSON.stringify(r.problems)}`);
      return { ...r.entry, agb: p.agb, region: region.get(`${p.agb}|${r.entry.location}`)! };
    });
  });
}

const groupBy = <T>(xs: T[], key: (x: T) => string) => {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
};
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const bucket = (n: number) => (n >= 4 ? '4+' : String(n)) as '1' | '2' | '3' | '4+';
const on = (lists: number[]) => {
  const c = { '1': 0, '2': 0, '3': 0, '4+': 0 };
  for (const n of lists) c[bucket(n)]++;
  return c;
};
const daysBefore = (today: string, date: string) => (Date.parse(today) - Date.parse(date)) / 86_400_000;
/** Literally: the smallest value v such that at least p·n of the values are ≤ v. */
function nearestRank(values: number[], p: number): number | null {
  const s = [...values].sort((a, b) => a - b);
  for (const v of s) if (s.filter((x) => x <= v).length >= p * s.length) return Math.round((v / 7) * 10) / 10;
  return null;
}

/** The ground truth from the checked rows alone, the slow and obvious way. */
function naiveTruth(entries: Entry[], today: string): GroundTruth {
  const people = groupBy(entries, (e) => e.pseudonym);
  const lists = new Map([...people].map(([ps, es]) => [ps, new Set(es.map((e) => e.agb)).size]));
  const breakdown = (key: (e: Entry) => string) =>
    [...groupBy(entries, key)]
      .map(([k, es]) => {
        const who = [...new Set(es.map((e) => e.pseudonym))];
        return { key: k, entries: es.length, distinctPeople: who.length, peopleOn: on(who.map((w) => lists.get(w)!)) };
      })
      .sort((a, b) => cmp(a.key, b.key));
  const pairs = new Map<string, number>();
  for (const es of people.values()) {
    const agbs = [...new Set(es.map((e) => e.agb))].sort(cmp);
    for (let i = 0; i < agbs.length; i++) {
      for (let j = i + 1; j < agbs.length; j++) pairs.set(`${agbs[i]}|${agbs[j]}`, (pairs.get(`${agbs[i]}|${agbs[j]}`) ?? 0) + 1);
    }
  }
  const treatedAt = (ps: string) =>
    new Set(
      people
        .get(ps)!
        .filter((e) => e.stage === 'waiting-treatment')
        .map((e) => e.agb),
    );
  return {
    today,
    national: { entries: entries.length, distinctPeople: people.size, peopleOn: on([...lists.values()]) },
    perProvider: [...groupBy(entries, (e) => e.agb)]
      .map(([agb, es]) => {
        const who = new Set(es.map((e) => e.pseudonym));
        return {
          agb,
          entries: es.length,
          distinctPeople: who.size,
          alsoElsewhere: [...who].filter((w) => lists.get(w)! > 1).length,
          alsoElsewhereRefs: es
            .filter((e) => lists.get(e.pseudonym)! > 1)
            .map((e) => {
              const elsewhere = people.get(e.pseudonym)!.filter((o) => o.agb !== agb);
              return { clientRef: e.clientRef, otherLists: lists.get(e.pseudonym)! - 1, otherStages: [...new Set(elsewhere.map((o) => o.stage))].sort(cmp) };
            })
            .sort((a, b) => cmp(a.clientRef, b.clientRef)),
        };
      })
      .sort((a, b) => cmp(a.agb, b.agb)),
    byRegion: breakdown((e) => e.region),
    byDiagnosisGroup: breakdown((e) => e.diagnosisGroup),
    pairs: [...pairs].map(([k, people]) => ({ a: k.split('|')[0], b: k.split('|')[1], people })).sort((x, y) => y.people - x.people || cmp(x.a, y.a) || cmp(x.b, y.b)),
    cleanedWaits: [...groupBy(entries, (e) => `${e.agb}|${e.location}|${e.diagnosisGroup}`)]
      .map(([, es]) => {
        const intake: number[] = [];
        const treatment: number[] = [];
        let leftOut = 0;
        for (const [, mine] of groupBy(es, (e) => `${e.pseudonym}|${e.stage}`)) {
          const treat = mine[0].stage === 'waiting-treatment';
          const earliest = mine.map((e) => (treat ? e.intakeOn! : e.registeredOn)).sort(cmp)[0];
          const elsewhere = [...treatedAt(mine[0].pseudonym)].some((agb) => agb !== es[0].agb);
          if (treat) treatment.push(daysBefore(today, earliest));
          else if (elsewhere) leftOut++;
          else intake.push(daysBefore(today, earliest));
        }
        return {
          agb: es[0].agb,
          location: es[0].location,
          diagnosisGroup: es[0].diagnosisGroup,
          entries: es.length,
          waitingIntake: intake.length,
          waitingTreatment: treatment.length,
          leftOut,
          intake: { median: nearestRank(intake, 0.5), p80: nearestRank(intake, 0.8) },
          treatment: { median: nearestRank(treatment, 0.5), p80: nearestRank(treatment, 0.8) },
        };
      })
      .sort((a, b) => cmp(a.agb, b.agb) || cmp(a.location, b.location) || cmp(a.diagnosisGroup, b.diagnosisGroup)),
  };
}

describe('snapshot generator', () => {
  const plan = planSnapshots(base());
  const entries = checkedEntries(plan);

  it('is deterministic: the same seed gives the same files, another seed others', () => {
    const again = planSnapshots(base());
    const other = planSnapshots(base({ seed: 12 }));
    for (let i = 0; i < plan.providers.length; i++) expect(snapshotCsv(again, i)).toBe(snapshotCsv(plan, i));
    expect(plan.providers.map((_, i) => snapshotCsv(other, i)).join('')).not.toBe(plan.providers.map((_, i) => snapshotCsv(plan, i)).join(''));
    expect(groundTruth(again)).toEqual(groundTruth(plan));
  });

  it('writes exactly N rows, over the first P providers of the registry', () => {
    expect(entries).toHaveLength(5_000);
    expect(plan.providers.map((p) => p.agb)).toEqual(registry.providers.slice(0, 40).map((p) => p.agb));
    expect(plan.providers.reduce((s, p) => s + p.entries, 0)).toBe(5_000);
    expect(plan.providers.every((p) => p.entries > 0)).toBe(true);
    // Skewed sizes: the biggest provider holds several times the average.
    expect(Math.max(...plan.providers.map((p) => p.entries))).toBeGreaterThan(3 * (5_000 / 40));
    for (const opts of [
      { entries: 7, providers: 20 },
      { entries: 1_001, providers: 1, dupRate: 0 },
      { entries: 999, providers: 3, repeatRate: 0.5 },
      { entries: 2_345, providers: 25, dupRate: 1, repeatRate: 0.1, preShare: 1 },
    ]) {
      const p = planSnapshots(base(opts));
      expect(p.providers.map((_, i) => snapshotRows(p, i).length).reduce((a, b) => a + b, 0)).toBe(opts.entries);
      expect(groundTruth(p).national.entries).toBe(opts.entries);
    }
  });

  it('makes rows that checkEntry accepts, as CSV and as JSON, with clientRefs unique per provider', () => {
    // checkedEntries above already threw on any problem; the JSON form too:
    const row = plan.providers.findIndex((p) => p.sendsPrePseudonym);
    for (const i of [0, row]) {
      const ctx = { today: TODAY, locations: new Set(plan.providers[i].locations), keys };
      for (const r of snapshotRows(plan, i)) expect(checkEntry(JSON.parse(JSON.stringify(r)), ctx)).toHaveProperty('entry');
    }
    for (const es of groupBy(entries, (e) => e.agb).values()) expect(new Set(es.map((e) => e.clientRef)).size).toBe(es.length);
    expect(plan.providers.filter((p) => p.sendsPrePseudonym)).toHaveLength(12);
    const csv = plan.providers.map((_, i) => parseCsv(snapshotCsv(plan, i))).flat();
    expect(csv.filter((r) => r.prePseudonym !== '')).toHaveLength(plan.providers.filter((p) => p.sendsPrePseudonym).reduce((s, p) => s + p.entries, 0));
  });

  it('gives every person a BSN of their own', () => {
    const m = plan.model;
    const byPerson = new Map<number, string>();
    const byKey = new Map<string, number>();
    plan.providers.forEach((p, i) =>
      snapshotRows(plan, i).forEach((r, pos) => {
        const person = m.entPerson[m.rows[m.provStart[i] + pos]];
        const pre = r.prePseudonym ?? keys.stage1(r.bsn!);
        expect(byPerson.get(person) ?? pre).toBe(pre);
        expect(byKey.get(pre) ?? person).toBe(person);
        byPerson.set(person, pre);
        byKey.set(pre, person);
      }),
    );
    expect(byKey.size).toBe(plan.people);
    // And across a plan big enough for BSN seeds to collide if they could.
    const big = planSnapshots(base({ entries: 60_000, providers: 10, dupRate: 0, preShare: 0 }));
    const bsns = new Set(big.providers.flatMap((_, i) => snapshotRows(big, i).map((r) => r.bsn)));
    expect(bsns.size).toBe(big.people);
  });

  it('knows the answer: a naïve recomputation from the checked rows agrees with groundTruth', () => {
    const truth = groundTruth(plan);
    expect(naiveTruth(entries, TODAY)).toEqual(truth);
    // The plan exercises what it should: repeats, people left out, every list count.
    expect(plan.repeatEntries).toBe(100);
    expect(truth.national.entries - truth.perProvider.reduce((s, p) => s + p.distinctPeople, 0)).toBe(100);
    expect(truth.cleanedWaits.reduce((s, c) => s + c.leftOut, 0)).toBeGreaterThan(0);
    expect(Object.values(truth.national.peopleOn).every((n) => n > 0)).toBe(true);
  });

  it('duplicates about dupRate of the people, mostly in one region and diagnosis group', () => {
    for (const dupRate of [0.2, 0.35]) {
      const p = planSnapshots(base({ entries: 20_000, providers: 60, dupRate, repeatRate: 0 }));
      const t = groundTruth(p);
      const { '1': one, '2': two, '3': three, '4+': more } = t.national.peopleOn;
      expect(Math.abs((two + three + more) / t.national.distinctPeople - dupRate)).toBeLessThan(0.01);
      expect(two).toBeGreaterThan(2 * three);
      expect(three).toBeGreaterThan(more);
      expect(one + two + three + more).toBe(t.national.distinctPeople);
    }
    // Region and group need a registry with several providers per region: 300 over 31 regions.
    const wide = planSnapshots(base({ entries: 30_000, providers: 300 }));
    const m = wide.model;
    const people = new Map<number, number[]>();
    for (let e = 0; e < wide.entries; e++) people.set(m.entPerson[e], [...(people.get(m.entPerson[e]) ?? []), e]);
    const agb = (e: number) => m.locProvider[m.entLoc[e]];
    const dup = [...people.values()].filter((es) => new Set(es.map(agb)).size > 1);
    const providersIn = (es: number[]) => [...groupBy(es, (e) => `${m.locRegion[m.entLoc[e]]}|${m.entGroup[e]}`).values()].map((x) => new Set(x.map(agb)).size);
    // Some (region, group) that at least two of the person's providers share; one that all share.
    const shared = dup.filter((es) => providersIn(es).some((n) => n > 1));
    const allShare = dup.filter((es) => providersIn(es).some((n) => n === new Set(es.map(agb)).size));
    expect(shared.length / dup.length).toBeGreaterThan(0.8);
    expect(allShare.length / dup.length).toBeGreaterThan(0.65);
  });

  it('looks like a waiting list: stages, dates, choices', () => {
    const share = (f: (e: Entry) => boolean) => entries.filter(f).length / entries.length;
    expect(share((e) => e.stage === 'waiting-treatment')).toBeGreaterThan(0.3);
    expect(share((e) => e.stage === 'waiting-treatment')).toBeLessThan(0.4);
    expect(share((e) => e.waitsForThisProvider)).toBeGreaterThan(0.07);
    expect(share((e) => e.waitsForThisProvider)).toBeLessThan(0.13);
    expect(entries.every((e) => daysBefore(TODAY, e.registeredOn) <= 364)).toBe(true);
    // Skewed to recent: more than half registered in the last 16 weeks.
    expect(share((e) => daysBefore(TODAY, e.registeredOn) < 16 * 7)).toBeGreaterThan(0.5);
    // Waiting for treatment at one provider and on other lists: often (not always) waiting for intake there.
    const inCare = [...groupBy(entries, (e) => e.pseudonym).values()].filter((es) => new Set(es.map((e) => e.agb)).size > 1 && es.some((e) => e.stage === 'waiting-treatment'));
    const intakeElsewhere = inCare.filter((es) => es.some((t) => t.stage === 'waiting-treatment' && es.some((e) => e.agb !== t.agb && e.stage === 'waiting-intake')));
    expect(inCare.length).toBeGreaterThan(50);
    expect(intakeElsewhere.length / inCare.length).toBeGreaterThan(0.7);
    expect(intakeElsewhere.length).toBeLessThan(inCare.length);
  });

  it('refuses options it cannot honour', () => {
    expect(() => planSnapshots(base({ today: '2026-13-01' }))).toThrow(/today/);
    expect(() => planSnapshots(base({ entries: 0 }))).toThrow(/entries/);
    expect(() => planSnapshots(base({ providers: 301 }))).toThrow(/only 300 providers/);
    expect(() => planSnapshots(base({ dupRate: 1.5 }))).toThrow(/dupRate/);
    expect(() => planSnapshots(base({ providers: 1 }))).toThrow(/at least 2 providers/);
    expect(() => planSnapshots(base({ repeatRate: 0.6 }))).toThrow(/repeatRate/);
    expect(() => planSnapshots(base({ stage1Key: Buffer.alloc(8) }))).toThrow(/32 bytes/);
    expect(() => snapshotCsv(plan, 40)).toThrow(/no provider 40/);
  });
});
