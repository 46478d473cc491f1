/**
 * The linkage itself, in memory: entries go in one by one (as they stream out of Postgres), are
 * grouped by person, and everything a run produces comes out in one pass over the people —
 * aggregates for the insurer report, each entry's feedback, the cleaned waiting times.
 *
 * Why not SQL: every figure needs "per person, per provider" grouping over all entries, and each
 * such GROUP BY over a million 64-character keys costs about a second on this machine; the
 * outputs need ten of them. Here strings are turned into small integers as they arrive (a
 * person, a provider, a location, a group, a region) and the work is counting over typed arrays.
 * Pure: no I/O, no clock.
 *
 * Rules (the README states them for users):
 * - a person's lists = the distinct providers they have an entry at;
 * - feedback: every entry whose person is on another provider's list, with how many other
 *   providers and the stages they wait at there — but only for an entry marked established (the
 *   person was on this provider's list in two snapshots far enough apart): the TTP is not an
 *   oracle for BSNs a provider merely uploads (security review, item 11);
 * - cleaned waiting times per (provider, location, diagnosis group): a person counts once per
 *   stage, with their longest wait there; an intake entry of a person who waits for treatment at
 *   another provider (in care elsewhere) is left out — again only for an established entry, since
 *   the provider sees its own cells in full and would otherwise learn from the count who is in
 *   care elsewhere; median and 80th percentile are nearest-rank,
 *   in weeks to one decimal.
 */
import type { CleanedCounts, RawAggregates } from './insurer-report';

export interface FeedbackRow {
  agb: string;
  clientRef: string;
  /** The person's stage-2 pseudonym (hex), for the pseudonymous reference of the access log; never stored as such. */
  pseudonym: string;
  otherLists: number;
  otherStages: string[];
}

/** A cell of the cleaned waiting times: its counts (as the suppression sees them) and its figures. */
export interface CleanedCell extends CleanedCounts {
  leftOut: number;
  intake: { median: number | null; p80: number | null };
  treatment: { median: number | null; p80: number | null };
}

export interface LinkageResult {
  raw: Omit<RawAggregates, 'providers'> & { providers: Omit<RawAggregates['providers'][number], 'name'>[] };
  feedback: FeedbackRow[];
  cleaned: CleanedCell[];
}

/** Interns strings as small integers, in order of first appearance. */
class Dictionary {
  private readonly index = new Map<string, number>();
  readonly values: string[] = [];
  id(value: string): number {
    let i = this.index.get(value);
    if (i === undefined) {
      i = this.values.length;
      this.index.set(value, i);
      this.values.push(value);
    }
    return i;
  }
}

/** Nearest rank (percentile_disc): the smallest value with at least p of the values at or below it. */
function nearestRank(sorted: Int32Array, p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}
const weeks = (days: number) => Math.round((days / 7) * 10) / 10;

export class Linkage {
  private readonly persons = new Map<string, number>();
  private readonly agbs = new Dictionary();
  private readonly cells = new Dictionary(); // `${agb}\t${location}\t${group}`
  private readonly groups = new Dictionary();
  private readonly regions = new Dictionary();
  private n = 0;
  private person = new Int32Array(1 << 16);
  private agb = new Int32Array(1 << 16);
  private cell = new Int32Array(1 << 16);
  private region = new Int32Array(1 << 16);
  private days = new Int32Array(1 << 16);
  private treat = new Uint8Array(1 << 16);
  private established = new Uint8Array(1 << 16);
  private cellRegion: number[] = [];
  private readonly refs: string[] = [];
  private cellGroup: number[] = [];

  get entries(): number {
    return this.n;
  }

  add(e: {
    agb: string;
    clientRef: string;
    pseudonym: string;
    location: string;
    diagnosisGroup: string;
    treat: boolean;
    days: number;
    region: string;
    /** On this provider's list long enough to be disclosed in feedback (see the header); default true. */
    established?: boolean;
  }): void {
    if (this.n === this.person.length) this.grow();
    const i = this.n++;
    // The key is the pseudonym's 32 bytes as a fresh one-byte string: half the size, and not a
    // slice that would keep the whole chunk it was read from alive.
    const key = Buffer.from(e.pseudonym, 'hex').toString('latin1');
    let p = this.persons.get(key);
    if (p === undefined) {
      p = this.persons.size;
      this.persons.set(key, p);
    }
    this.person[i] = p;
    this.agb[i] = this.agbs.id(e.agb);
    const cellsBefore = this.cells.values.length;
    this.cell[i] = this.cells.id(`${e.agb}\t${e.location}\t${e.diagnosisGroup}`);
    this.region[i] = this.regions.id(e.region);
    if (this.cells.values.length > cellsBefore) {
      this.cellGroup.push(this.groups.id(e.diagnosisGroup));
      this.cellRegion.push(this.region[i]);
    }
    this.days[i] = e.days;
    this.treat[i] = e.treat ? 1 : 0;
    this.established[i] = e.established === false ? 0 : 1;
    this.refs.push(e.clientRef);
  }

  private grow(): void {
    const size = this.person.length * 2;
    const grown = <T extends Int32Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.person = grown(this.person);
    this.agb = grown(this.agb);
    this.cell = grown(this.cell);
    this.region = grown(this.region);
    this.days = grown(this.days);
    this.treat = grown(this.treat);
    this.established = grown(this.established);
  }

  compute(topOverlaps: number): LinkageResult {
    const n = this.n;
    const P = this.persons.size;
    const keys = [...this.persons.keys()]; // by person number; only feedback rows use them
    this.persons.clear();
    const A = this.agbs.values.length;
    const G = this.groups.values.length;
    const R = this.regions.values.length;
    const C = this.cells.values.length;
    const cellGroup = Int32Array.from(this.cellGroup);

    // Entries grouped by person (counting sort), in arrival order within a person.
    const start = new Int32Array(P + 1);
    for (let i = 0; i < n; i++) start[this.person[i] + 1]++;
    for (let p = 0; p < P; p++) start[p + 1] += start[p];
    const byPerson = new Int32Array(n);
    const fill = start.slice(0, P);
    for (let i = 0; i < n; i++) byPerson[fill[this.person[i]]++] = i;

    const national = { entries: n, distinctPeople: P, peopleOn: { '1': 0, '2': 0, '3': 0, '4+': 0 } };
    const prov = { entries: new Int32Array(A), distinct: new Int32Array(A), also: new Int32Array(A) };
    const byRegion = { entries: new Int32Array(R), distinct: new Int32Array(R), on: [new Int32Array(R), new Int32Array(R), new Int32Array(R), new Int32Array(R)] };
    const byGroup = { entries: new Int32Array(G), distinct: new Int32Array(G), on: [new Int32Array(G), new Int32Array(G), new Int32Array(G), new Int32Array(G)] };
    const pairs = new Map<number, number>();
    const feedback: FeedbackRow[] = [];
    // Cleaned waits: per cell and stage, the days of each person counted (pushed to lists).
    const waits = [Array.from({ length: C }, () => [] as number[]), Array.from({ length: C }, () => [] as number[])];
    const cellEntries = new Int32Array(C);
    const leftOut = new Int32Array(C);
    const STAGES = ['waiting-intake', 'waiting-treatment'];

    // Scratch per person (people have few entries).
    const pAgbs: number[] = [];
    const pIntake: boolean[] = [];
    const pTreat: boolean[] = [];
    const seen = new Set<number>();
    for (let p = 0; p < P; p++) {
      const from = start[p];
      const to = start[p + 1];
      pAgbs.length = pIntake.length = pTreat.length = 0;
      for (let j = from; j < to; j++) {
        const i = byPerson[j];
        const a = this.agb[i];
        let k = pAgbs.indexOf(a);
        if (k < 0) {
          k = pAgbs.push(a) - 1;
          pIntake.push(false);
          pTreat.push(false);
        }
        if (this.treat[i]) pTreat[k] = true;
        else pIntake[k] = true;
        prov.entries[a]++;
        byRegion.entries[this.region[i]]++;
        byGroup.entries[cellGroup[this.cell[i]]]++;
        cellEntries[this.cell[i]]++;
      }
      const lists = pAgbs.length;
      const on = Math.min(lists, 4) - 1;
      national.peopleOn[(['1', '2', '3', '4+'] as const)[on]]++;
      for (const a of pAgbs) {
        prov.distinct[a]++;
        if (lists > 1) prov.also[a]++;
      }
      seen.clear();
      for (let j = from; j < to; j++) seen.add(this.region[byPerson[j]]);
      for (const r of seen) {
        byRegion.distinct[r]++;
        byRegion.on[on][r]++;
      }
      seen.clear();
      for (let j = from; j < to; j++) seen.add(cellGroup[this.cell[byPerson[j]]]);
      for (const g of seen) {
        byGroup.distinct[g]++;
        byGroup.on[on][g]++;
      }
      if (lists > 1) {
        const sorted = [...pAgbs].sort((x, y) => (this.agbs.values[x] < this.agbs.values[y] ? -1 : 1));
        for (let x = 0; x < sorted.length; x++) for (let y = x + 1; y < sorted.length; y++) pairs.set(sorted[x] * A + sorted[y], (pairs.get(sorted[x] * A + sorted[y]) ?? 0) + 1);
      }
      // Feedback, and the cleaned waits: once per (cell, stage) with the longest wait.
      for (let j = from; j < to; j++) {
        const i = byPerson[j];
        const k = pAgbs.indexOf(this.agb[i]);
        const intakeElsewhere = pIntake.some((v, m) => v && m !== k);
        const treatElsewhere = pTreat.some((v, m) => v && m !== k);
        if (lists > 1 && this.established[i]) {
          const stages: string[] = [];
          if (intakeElsewhere) stages.push(STAGES[0]);
          if (treatElsewhere) stages.push(STAGES[1]);
          feedback.push({
            agb: this.agbs.values[this.agb[i]],
            clientRef: this.refs[i],
            pseudonym: Buffer.from(keys[p], 'latin1').toString('hex'),
            otherLists: lists - 1,
            otherStages: stages,
          });
        }
        let first = true;
        let longest = this.days[i];
        for (let m = from; m < to; m++) {
          const o = byPerson[m];
          if (o === i || this.cell[o] !== this.cell[i] || this.treat[o] !== this.treat[i]) continue;
          if (m < j) first = false;
          if (this.days[o] > longest) longest = this.days[o];
        }
        if (!first) continue;
        if (!this.treat[i] && treatElsewhere && this.established[i]) leftOut[this.cell[i]]++;
        else waits[this.treat[i]][this.cell[i]].push(longest);
      }
    }

    const cleaned: CleanedCell[] = this.cells.values.map((key, c) => {
      const [agb, location, diagnosisGroup] = key.split('\t');
      const figures = (days: number[]) => {
        if (days.length === 0) return { median: null, p80: null };
        const sorted = Int32Array.from(days).sort();
        return { median: weeks(nearestRank(sorted, 0.5)), p80: weeks(nearestRank(sorted, 0.8)) };
      };
      return {
        agb,
        location,
        diagnosisGroup,
        region: this.regions.values[this.cellRegion[c]],
        entries: cellEntries[c],
        waitingIntake: waits[0][c].length,
        waitingTreatment: waits[1][c].length,
        leftOut: leftOut[c],
        intake: figures(waits[0][c]),
        treatment: figures(waits[1][c]),
      };
    });

    const byKey = <T extends { key: string }>(rows: T[]) => rows.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    const breakdown = (d: Dictionary, t: typeof byRegion) =>
      byKey(
        d.values.map((key, x) => ({
          key,
          entries: t.entries[x],
          distinctPeople: t.distinct[x],
          peopleOn: { '1': t.on[0][x], '2': t.on[1][x], '3': t.on[2][x], '4+': t.on[3][x] },
        })),
      );
    const overlaps = [...pairs.entries()]
      .map(([k, people]) => ({ agbA: this.agbs.values[Math.floor(k / A)], agbB: this.agbs.values[k % A], people }))
      .sort((x, y) => y.people - x.people || (x.agbA < y.agbA ? -1 : x.agbA > y.agbA ? 1 : x.agbB < y.agbB ? -1 : 1))
      .slice(0, topOverlaps);
    const providers = this.agbs.values
      .map((agb, a) => ({ agb, entries: prov.entries[a], distinctPeople: prov.distinct[a], alsoElsewhere: prov.also[a] }))
      .sort((x, y) => (x.agb < y.agb ? -1 : 1));
    return {
      raw: { national, providers, regions: breakdown(this.regions, byRegion), diagnosisGroups: breakdown(this.groups, byGroup), overlaps },
      feedback,
      cleaned,
    };
  }
}
