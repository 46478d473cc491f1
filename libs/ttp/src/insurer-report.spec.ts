import { buildInsurerReport, insurerReportCsv, RawAggregates } from './insurer-report';

const on = (a: number, b: number, c: number, d: number) => ({ '1': a, '2': b, '3': c, '4+': d });

function national(regions: RawAggregates['regions'], providers: RawAggregates['providers'] = []): RawAggregates {
  const sum = (f: (r: RawAggregates['regions'][number]) => number) => regions.reduce((n, r) => n + f(r), 0);
  return {
    // Every person in one region only here, so the national row is the sum of the regions.
    national: {
      entries: sum((r) => r.entries),
      distinctPeople: sum((r) => r.distinctPeople),
      peopleOn: on(
        sum((r) => r.peopleOn['1']),
        sum((r) => r.peopleOn['2']),
        sum((r) => r.peopleOn['3']),
        sum((r) => r.peopleOn['4+']),
      ),
    },
    providers,
    regions,
    diagnosisGroups: [],
    overlaps: [],
  };
}

describe('the insurer report', () => {
  it('shows large counts, 1–4 as "<5", zero as 0, and hides a complement so that no "<5" follows from a total', () => {
    const r = buildInsurerReport(
      national([
        { key: 'utrecht', entries: 40, distinctPeople: 40, peopleOn: on(30, 10, 0, 0) },
        { key: 'groningen', entries: 3, distinctPeople: 3, peopleOn: on(3, 0, 0, 0) },
        { key: 'twente', entries: 20, distinctPeople: 20, peopleOn: on(20, 0, 0, 0) },
      ]),
      { topOverlaps: 20 },
    );
    expect(r.national.entries).toBe(63);
    const entries = Object.fromEntries(r.regions.map((x) => [x.region, x.entries]));
    expect(entries.groningen).toBe('<5');
    // 63 − 40 − 20 would give groningen away: one of the others is hidden too.
    expect([entries.utrecht, entries.twente].filter((e) => e === 'x')).toHaveLength(1);
    expect(r.regions[1].peopleOn).toEqual({ '1': '<5', '2': 0, '3': 0, '4+': 0 });
  });

  it('withholds a row whose small counts cannot be protected (a "<5" total of four "<5" parts is 1 + 1 + 1 + 1)', () => {
    const r = buildInsurerReport(
      national([
        { key: 'utrecht', entries: 40, distinctPeople: 40, peopleOn: on(30, 10, 0, 0) },
        { key: 'drenthe', entries: 4, distinctPeople: 4, peopleOn: on(1, 1, 1, 1) },
        { key: 'twente', entries: 20, distinctPeople: 20, peopleOn: on(20, 0, 0, 0) },
      ]),
      { topOverlaps: 20 },
    );
    const drenthe = r.regions.find((x) => x.region === 'drenthe')!;
    expect(drenthe).toEqual({ region: 'drenthe', entries: null, distinctPeople: null, peopleOn: { '1': null, '2': null, '3': null, '4+': null }, withheld: true });
    // Its entries still count in the national total, so another region hides its own.
    expect(r.regions.filter((x) => x.entries === 'x')).toHaveLength(1);
    expect(insurerReportCsv({ ...r })).toContain('region,drenthe,,entries,\n');
  });

  it('builds for a run that linked nothing', () => {
    const r = buildInsurerReport(
      { national: { entries: 0, distinctPeople: 0, peopleOn: on(0, 0, 0, 0) }, providers: [], regions: [], diagnosisGroups: [], overlaps: [] },
      { topOverlaps: 20 },
    );
    expect(r.national).toEqual({ entries: 0, distinctPeople: 0, peopleOn: { '1': 0, '2': 0, '3': 0, '4+': 0 } });
  });

  it('protects what is derivable but not printed: people only at this provider', () => {
    // 50 distinct, 48 also elsewhere → 2 only here: also-elsewhere must not be shown.
    const r = buildInsurerReport(
      {
        ...national([{ key: 'utrecht', entries: 60, distinctPeople: 50, peopleOn: on(2, 48, 0, 0) }]),
        providers: [{ agb: '73000001', name: 'A', entries: 60, distinctPeople: 50, alsoElsewhere: 48 }],
      },
      { topOverlaps: 20 },
    );
    expect(r.providers[0]).toMatchObject({ distinctPeople: 50, alsoElsewhere: 'x' });
  });

  it('lists only overlaps of five people or more, largest first, up to the limit', () => {
    const raw = national([{ key: 'utrecht', entries: 40, distinctPeople: 40, peopleOn: on(30, 10, 0, 0) }]);
    raw.overlaps = [
      { agbA: '1', agbB: '2', people: 9 },
      { agbA: '1', agbB: '3', people: 6 },
      { agbA: '2', agbB: '3', people: 4 },
    ];
    expect(buildInsurerReport(raw, { topOverlaps: 1 }).largestOverlaps).toEqual([{ agbA: '1', agbB: '2', people: 9 }]);
    expect(buildInsurerReport(raw, { topOverlaps: 5 }).largestOverlaps.map((o) => o.people)).toEqual([9, 6]);
  });
});
