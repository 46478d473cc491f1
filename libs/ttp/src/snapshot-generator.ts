/**
 * Synthetic waiting-list snapshots with a known answer, for testing and benchmarking the TTP's
 * linkage: a national population of invented people spread over the providers of a registry,
 * written as the providers' snapshot files, and the figures a correct linkage must find
 * (groundTruth), computed from the generator's own person model — plain JS, no SQL.
 *
 * Pure and deterministic: a seeded PRNG, no Math.random, no clock (`today` is passed in). The
 * same options give the same plan, the same files and the same ground truth.
 *
 * The model is compact — a handful of typed arrays indexed by entry, no object per entry or per
 * person — and a provider's rows are produced on demand (snapshotCsv, snapshotRows), so a
 * million entries over 500 providers take a few seconds and well under 500 MB.
 *
 * What it models:
 * - provider sizes are skewed (log-normal, more locations → bigger); exactly `entries` rows;
 * - a share `dupRate` of the distinct people waits on the lists of 2–5 providers (most on 2); for
 *   about 80 % of those extra lists the provider has a location in the same region treating the
 *   same diagnosis group, the rest are anywhere;
 * - registration dates spread over the past 52 weeks, skewed to recent; about 35 % of entries
 *   wait for treatment (intake done); someone waiting for treatment at one provider mostly waits
 *   for intake at the others; about 10 % wait for this provider by choice;
 * - a share `repeatRate` of the entries is a second entry of a person at the same provider under
 *   another clientRef (a data error providers make), often at the same location, group and stage;
 * - a share `preShare` of the providers sends stage-1 pre-pseudonyms, the others BSNs;
 * - every person has their own synthetic BSN (elfproef-valid; never shared by two people).
 */
import { csvCell, CsvOptions, isIsoDate, SeededRandom, stage1Pseudonymiser, syntheticBsn } from '@app/core';
import { SNAPSHOT_COLUMNS } from './snapshot-entry';

/** A location as the registry has it (DemoLocation fits). */
export interface SnapshotLocation {
  agb: string;
  code: string;
  region: string;
  diagnosisGroups: readonly string[];
}

export interface SnapshotPlanOptions {
  /** YYYY-MM-DD: the snapshots' date; every date in them is on or before it. */
  today: string;
  /** The registry's locations; providers are taken in the order they first appear here. */
  locations: readonly SnapshotLocation[];
  /** Rows in all snapshots together: exactly this many. */
  entries: number;
  /** Use the first this many providers that have a location with a diagnosis group. */
  providers: number;
  /** Fraction of the distinct people who wait on two or more providers' lists (0–1, default 0.2). */
  dupRate?: number;
  /** Fraction of the providers that send prePseudonym instead of bsn (0–1, default 0.3). */
  preShare?: number;
  /** Fraction of the entries that are a second entry of a person at the same provider (0–0.5, default 0). */
  repeatRate?: number;
  seed?: number;
  /** The providers' shared stage-1 key (for the pre-pseudonyms). */
  stage1Key: Buffer;
}

export interface PlannedProvider {
  agb: string;
  /** The location codes its rows use (its locations with at least one diagnosis group). */
  locations: string[];
  /** Sends prePseudonym (stage 1 done at the provider) rather than bsn. */
  sendsPrePseudonym: boolean;
  /** Rows in its snapshot. */
  entries: number;
}

/** The compact person model behind a plan. Internal: read it through the functions of this file. */
export interface PlanModel {
  stage1: (bsn: string) => string;
  bsnOffset: number;
  /** Per location (index into the used locations): provider index, code (CSV-ready), region and group indices. */
  locProvider: Int32Array;
  locCode: string[];
  locCsv: string[];
  locRegion: Int32Array;
  regions: string[];
  groups: string[];
  /** Per provider: clientRef prefix and first number; rows of provider p are rows[provStart[p] .. provStart[p + 1]). */
  refPrefix: string[];
  refStart: Int32Array;
  provStart: Int32Array;
  rows: Int32Array;
  /** Per entry. Days are counted back from today; entIntake is -1 while waiting for intake. */
  entPerson: Int32Array;
  entLoc: Int32Array;
  entGroup: Uint8Array;
  entReg: Uint16Array;
  entIntake: Int16Array;
  entWaits: Uint8Array;
  /** Per entry: its row number in its provider's snapshot. */
  entPos: Int32Array;
  /** dates[k] = today minus k days, YYYY-MM-DD. */
  dates: string[];
}

export interface SnapshotPlan {
  readonly today: string;
  readonly seed: number;
  readonly entries: number;
  /** Distinct people. */
  readonly people: number;
  /** Entries that are a second entry of a person at the same provider. */
  readonly repeatEntries: number;
  readonly providers: readonly PlannedProvider[];
  readonly model: PlanModel;
}

/** A snapshot row as an object (JSON / NDJSON upload); null = not given. */
export interface SnapshotRow {
  clientRef: string;
  bsn: string | null;
  prePseudonym: string | null;
  location: string;
  diagnosisGroup: string;
  registeredOn: string;
  intakeOn: string | null;
  stage: 'waiting-intake' | 'waiting-treatment';
  waitsForThisProvider: boolean;
}

export interface ListCounts {
  '1': number;
  '2': number;
  '3': number;
  '4+': number;
}

/** What a provider's feedback must say about one of its entries whose person also waits elsewhere. */
export interface GroundTruthRef {
  clientRef: string;
  /** Other providers (AGBs) the person has an entry at. */
  otherLists: number;
  /** Sorted distinct stages of the person's entries at those other providers. */
  otherStages: string[];
}

export interface GroundTruthProvider {
  agb: string;
  entries: number;
  distinctPeople: number;
  /** Distinct people of this provider who also have an entry at another provider. */
  alsoElsewhere: number;
  /** This provider's entries whose person is also elsewhere, by clientRef (code-unit order). */
  alsoElsewhereRefs: GroundTruthRef[];
}

export interface GroundTruthBreakdown {
  key: string;
  entries: number;
  /** People with at least one entry here. */
  distinctPeople: number;
  /** Those people by their national list count. */
  peopleOn: ListCounts;
}

export interface GroundTruthPair {
  a: string;
  b: string;
  people: number;
}

export interface WaitFigures {
  /** Weeks waited so far, nearest rank (percentile_disc), one decimal; null for an empty stage. */
  median: number | null;
  p80: number | null;
}

export interface GroundTruthCleanedWait {
  agb: string;
  location: string;
  diagnosisGroup: string;
  /** Raw entries in the cell. */
  entries: number;
  /** People counted (once per stage), intake stage without those in treatment elsewhere. */
  waitingIntake: number;
  waitingTreatment: number;
  /** People waiting for intake here left out because they wait for treatment at another provider. */
  leftOut: number;
  intake: WaitFigures;
  treatment: WaitFigures;
}

export interface GroundTruth {
  today: string;
  national: { entries: number; distinctPeople: number; peopleOn: ListCounts };
  /** By AGB. */
  perProvider: GroundTruthProvider[];
  /** By key. */
  byRegion: GroundTruthBreakdown[];
  byDiagnosisGroup: GroundTruthBreakdown[];
  /** Every pair of providers with people in common (a < b), most people first, then a, b. */
  pairs: GroundTruthPair[];
  /** Per (agb, location, diagnosisGroup) with entries, in that order. */
  cleanedWaits: GroundTruthCleanedWait[];
}

export const SNAPSHOT_CSV_HEADER = SNAPSHOT_COLUMNS.join(',');

const MAX_ENTRIES = 5_000_000;
const STAGES = ['waiting-intake', 'waiting-treatment'] as const;
const STAGE_SETS: readonly string[][] = [[], ['waiting-intake'], ['waiting-treatment'], ['waiting-intake', 'waiting-treatment']];
/** Share of extra lists at a provider in the same region treating the same group. */
const SAME_REGION_GROUP = 0.8;
/** Lists per duplicated person: [count, relative frequency]. */
const LIST_COUNTS: [number, number][] = [
  [2, 68],
  [3, 20],
  [4, 8],
  [5, 4],
];
const P_TREATMENT_SINGLE = 0.41;
const P_TREATMENT_FIRST = 0.45;
const P_TREATMENT_OTHER = 0.12;
const P_WAITS = 0.1;
const DAYS = 364;
/** How common a group is among the people on a location's list (others 1). */
const GROUP_WEIGHT: Record<string, number> = {
  'basis-ggz': 3,
  depressie: 3,
  angst: 3,
  trauma: 2,
  persoonlijkheid: 1.5,
  'neurobiologische-ontwikkelingsstoornissen': 1.5,
  eetstoornissen: 0.7,
  'neurocognitieve-stoornissen': 0.7,
};
const REF_PREFIXES = ['K', 'CL', 'P-', 'ZD', 'C', 'DOS'];
/** BSN seeds: 10·m for m in [1e6, 1e7); a multiplier coprime to the span makes i → m a bijection. */
const BSN_SPAN = 9_000_000;
const BSN_MULT = 7_654_321;

// ---------------------------------------------------------------------------------------------
// Randomness: SeededRandom of the core (mulberry32), as in the demo registry.

/** Weighted sampling with updates, O(log n): the weights are the providers' remaining room. */
class Fenwick {
  private readonly t: Float64Array;
  private readonly top: number;
  total = 0;
  constructor(private readonly n: number) {
    this.t = new Float64Array(n + 1);
    let top = 1;
    while (top * 2 <= n) top *= 2;
    this.top = top;
  }
  add(i: number, d: number): void {
    this.total += d;
    for (let x = i + 1; x <= this.n; x += x & -x) this.t[x] += d;
  }
  /** The index whose weight covers r (0 ≤ r < total). */
  find(r: number): number {
    let pos = 0;
    for (let step = this.top; step > 0; step >>= 1) {
      if (pos + step <= this.n && this.t[pos + step] <= r) {
        pos += step;
        r -= this.t[pos];
      }
    }
    return pos;
  }
  pick(rng: SeededRandom): number {
    return this.find(Math.floor(rng.next() * this.total));
  }
}

/** Largest remainder: `total` shared out in proportion to the weights, exactly. */
function shareOut(total: number, weights: ArrayLike<number>): Int32Array {
  const n = weights.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += weights[i];
  const out = new Int32Array(n);
  const rest = new Float64Array(n);
  let given = 0;
  for (let i = 0; i < n; i++) {
    const q = (total * weights[i]) / sum;
    out[i] = Math.floor(q);
    rest[i] = q - out[i];
    given += out[i];
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => rest[b] - rest[a] || a - b);
  for (let k = 0; k < total - given; k++) out[order[k]]++;
  return out;
}

interface Nearby {
  prov: number[];
  locs: number[][];
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(`planSnapshots: ${message}`);
}

const rate = (v: unknown, lo: number, hi: number) => typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi;
/**
 * Snapshot files are the TTP's input, read back field for field (a clientRef of "-K1" must stay
 * "-K1", or the feedback would name another client): the one CSV writer of @app/core with RFC 4180
 * quoting and no formula neutralising. They are data files for the upload, not exports.
 */
const DATA_FILE: CsvOptions = { neutralise: false };
const dataCell = (s: string) => csvCell(s, DATA_FILE);

// ---------------------------------------------------------------------------------------------

/** Builds the person model: who waits where, since when, at which stage. */
export function planSnapshots(opts: SnapshotPlanOptions): SnapshotPlan {
  const { today, entries: N, providers: P, dupRate = 0.2, preShare = 0.3, repeatRate = 0, seed = 1 } = opts;
  check(isIsoDate(today), `today must be YYYY-MM-DD, got ${JSON.stringify(today)}`);
  check(Number.isInteger(N) && N >= 1 && N <= MAX_ENTRIES, `entries must be an integer 1–${MAX_ENTRIES}, got ${N}`);
  check(Number.isInteger(P) && P >= 1, `providers must be a positive integer, got ${P}`);
  check(rate(dupRate, 0, 1), `dupRate must be a number 0–1, got ${dupRate}`);
  check(rate(preShare, 0, 1), `preShare must be a number 0–1, got ${preShare}`);
  check(rate(repeatRate, 0, 0.5), `repeatRate must be a number 0–0.5, got ${repeatRate}`);
  check(Number.isFinite(seed), `seed must be a number, got ${seed}`);
  check(dupRate === 0 || P >= 2, 'a dupRate above 0 needs at least 2 providers');
  const stage1 = stage1Pseudonymiser(opts.stage1Key);
  const rng = new SeededRandom(seed);

  // Providers and their usable locations, in registry order.
  const provIndex = new Map<string, number>();
  const provAgb: string[] = [];
  const provLocs: number[][] = [];
  const used: SnapshotLocation[] = [];
  for (const loc of opts.locations) {
    if (loc.diagnosisGroups.length === 0) continue;
    let p = provIndex.get(loc.agb);
    if (p === undefined) {
      if (provAgb.length === P) continue;
      p = provAgb.length;
      provIndex.set(loc.agb, p);
      provAgb.push(loc.agb);
      provLocs.push([]);
    }
    provLocs[p].push(used.length);
    used.push(loc);
  }
  check(provAgb.length === P, `the registry has only ${provAgb.length} providers with locations, ${P} asked`);
  const regions: string[] = [];
  const groups: string[] = [];
  const regionIx = new Map<string, number>();
  const groupIx = new Map<string, number>();
  const ix = (m: Map<string, number>, list: string[], k: string) => {
    let i = m.get(k);
    if (i === undefined) m.set(k, (i = list.push(k) - 1));
    return i;
  };
  const L = used.length;
  const locProvider = new Int32Array(L);
  const locRegion = new Int32Array(L);
  const locGroups: Uint8Array[] = [];
  const locGroupCum: Float64Array[] = [];
  for (let l = 0; l < L; l++) {
    const loc = used[l];
    locProvider[l] = provIndex.get(loc.agb)!;
    locRegion[l] = ix(regionIx, regions, loc.region);
    const gs = Uint8Array.from([...new Set(loc.diagnosisGroups)].map((g) => ix(groupIx, groups, g)));
    check(groups.length <= 256, 'at most 256 diagnosis groups');
    locGroups.push(gs);
    const cum = new Float64Array(gs.length);
    let acc = 0;
    gs.forEach((g, i) => (cum[i] = acc += GROUP_WEIGHT[groups[g]] ?? 1));
    locGroupCum.push(cum);
  }
  const G = groups.length;
  // Per (region, group), and per region: the providers with a location there (treating it), and those locations.
  const near = new Map<number, Nearby>();
  const nearby = (key: number, p: number, l: number) => {
    let c = near.get(key);
    if (!c) near.set(key, (c = { prov: [], locs: [] }));
    if (c.prov[c.prov.length - 1] === p) c.locs[c.locs.length - 1].push(l);
    else {
      c.prov.push(p);
      c.locs.push([l]);
    }
  };
  for (let p = 0; p < P; p++) {
    for (const l of provLocs[p]) {
      nearby(-1 - locRegion[l], p, l);
      for (const g of locGroups[l]) nearby(locRegion[l] * G + g, p, l);
    }
  }

  // Sizes: skewed, more locations → bigger; repeats come on top of the people's first entries.
  const weight = new Float64Array(P);
  for (let p = 0; p < P; p++) weight[p] = (1 + provLocs[p].length) * Math.exp(0.9 * rng.normal());
  const R = Math.floor(repeatRate * N);
  const B = N - R;
  const room = B >= P ? shareOut(B - P, weight).map((x) => x + 1) : shareOut(B, weight);

  // People on several lists: how many, and on how many lists each.
  const maxLists = Math.min(5, P);
  const listDist = LIST_COUNTS.filter(([k]) => k <= maxLists);
  const listTotal = listDist.reduce((s, [, w]) => s + w, 0);
  const meanLists = listDist.reduce((s, [k, w]) => s + (k * w) / listTotal, 0);
  let D = dupRate === 0 ? 0 : Math.round((dupRate * B) / (1 - dupRate + dupRate * meanLists));
  const ks = new Uint8Array(D);
  let placed = 0;
  for (let i = 0; i < D; i++) {
    let r = rng.next() * listTotal;
    let k = listDist[listDist.length - 1][0];
    for (const [kk, w] of listDist)
      if ((r -= w) < 0) {
        k = kk;
        break;
      }
    if (placed + k > B) {
      D = i;
      break;
    }
    ks[i] = k;
    placed += k;
  }

  const entPerson = new Int32Array(N);
  const entLoc = new Int32Array(N);
  const entGroup = new Uint8Array(N);
  const entReg = new Uint16Array(N);
  const entIntake = new Int16Array(N);
  const entWaits = new Uint8Array(N);
  let n = 0;
  const put = (person: number, loc: number, group: number, treatment: boolean, reg: number) => {
    entPerson[n] = person;
    entLoc[n] = loc;
    entGroup[n] = group;
    entReg[n] = reg;
    entIntake[n] = treatment ? Math.floor(reg * rng.next() * 0.85) : -1;
    entWaits[n] = rng.chance(P_WAITS) ? 1 : 0;
    n++;
  };
  const pickLoc = (p: number) => {
    const ls = provLocs[p];
    // The first (home) location counts double.
    const r = Math.floor(rng.next() * (ls.length + 1));
    return ls[r === 0 ? 0 : r - 1];
  };
  const pickGroup = (l: number) => {
    const cum = locGroupCum[l];
    const r = rng.next() * cum[cum.length - 1];
    let i = 0;
    while (i < cum.length - 1 && cum[i] <= r) i++;
    return locGroups[l][i];
  };
  const regDays = (treatment: boolean) => Math.min(DAYS, Math.floor((DAYS + 1) * Math.pow(rng.next(), treatment ? 1.3 : 2.2)));

  const free = new Fenwick(P);
  for (let p = 0; p < P; p++) free.add(p, room[p]);
  const chosen: number[] = [];
  let person = 0;
  for (let i = 0; i < D; i++) {
    const k = ks[i];
    if (free.total === 0) break;
    chosen.length = 0;
    const take = (p: number) => {
      room[p]--;
      // Out of the draw for the rest of this person: all of its room, given back below.
      free.add(p, -room[p] - 1);
      chosen.push(p);
    };
    const p0 = free.pick(rng);
    take(p0);
    const l0 = pickLoc(p0);
    const g0 = pickGroup(l0);
    const inCare = rng.chance(P_TREATMENT_FIRST);
    const d0 = regDays(inCare);
    put(person, l0, g0, inCare, d0);
    /** A provider with room and a location in `c`, by its room; [provider, location] or null. */
    const pickNear = (c: Nearby): [number, number] | null => {
      let sum = 0;
      for (const q of c.prov) if (!chosen.includes(q)) sum += room[q];
      if (sum === 0) return null;
      let r = Math.floor(rng.next() * sum);
      for (let t = 0; ; t++) {
        const q = c.prov[t];
        if (!chosen.includes(q) && (r -= room[q]) < 0) return [q, c.locs[t][Math.floor(rng.next() * c.locs[t].length)]];
      }
    };
    for (let j = 1; j < k; j++) {
      let p: number;
      let l: number;
      let g = g0;
      // Mostly a provider treating the same group in the same region; failing that, one in the
      // same region; otherwise anyone.
      const hit = rng.chance(SAME_REGION_GROUP) ? (pickNear(near.get(locRegion[l0] * G + g0)!) ?? pickNear(near.get(-1 - locRegion[l0])!)) : null;
      if (hit) {
        [p, l] = hit;
        if (!locGroups[l].includes(g0)) g = pickGroup(l);
      } else {
        if (free.total === 0) break;
        p = free.pick(rng);
        l = pickLoc(p);
        g = pickGroup(l);
      }
      take(p);
      const treatment = rng.chance(P_TREATMENT_OTHER);
      put(person, l, g, treatment, Math.max(0, Math.min(DAYS, d0 + rng.int(-42, 42))));
    }
    for (const p of chosen) free.add(p, room[p]);
    person++;
  }
  // Everyone else waits at one provider: the room that is left.
  for (let p = 0; p < P; p++) {
    for (let c = room[p]; c > 0; c--) {
      const l = pickLoc(p);
      const treatment = rng.chance(P_TREATMENT_SINGLE);
      put(person++, l, pickGroup(l), treatment, regDays(treatment));
    }
  }
  check(n === B, `internal: ${n} first entries, ${B} expected`);

  // Repeats: distinct first entries drawn without replacement (a partial Fisher–Yates).
  if (R > 0) {
    const pool = new Int32Array(B);
    for (let i = 0; i < B; i++) pool[i] = i;
    for (let i = 0; i < R; i++) {
      const j = i + Math.floor(rng.next() * (B - i));
      const e = pool[j];
      pool[j] = pool[i];
      pool[i] = e;
      const p = locProvider[entLoc[e]];
      if (rng.chance(0.6)) {
        const treatment = entIntake[e] >= 0;
        put(entPerson[e], entLoc[e], entGroup[e], treatment, Math.max(0, Math.min(DAYS, entReg[e] + rng.int(-28, 28))));
      } else {
        const l = pickLoc(p);
        const treatment = rng.chance(P_TREATMENT_SINGLE);
        put(entPerson[e], l, pickGroup(l), treatment, regDays(treatment));
      }
    }
  }

  // Rows per provider, in a shuffled order; a row's clientRef is the provider's prefix + a number.
  const provStart = new Int32Array(P + 1);
  for (let e = 0; e < N; e++) provStart[locProvider[entLoc[e]] + 1]++;
  for (let p = 0; p < P; p++) provStart[p + 1] += provStart[p];
  const cursor = provStart.slice(0, P);
  const rows = new Int32Array(N);
  for (let e = 0; e < N; e++) rows[cursor[locProvider[entLoc[e]]]++] = e;
  const entPos = new Int32Array(N);
  for (let p = 0; p < P; p++) {
    const a = provStart[p];
    for (let i = provStart[p + 1] - 1; i > a; i--) {
      const j = a + Math.floor(rng.next() * (i - a + 1));
      const t = rows[i];
      rows[i] = rows[j];
      rows[j] = t;
    }
    for (let i = a; i < provStart[p + 1]; i++) entPos[rows[i]] = i - a;
  }
  const refPrefix = provAgb.map(() => REF_PREFIXES[Math.floor(rng.next() * REF_PREFIXES.length)]);
  const refStart = Int32Array.from(provAgb, () => rng.int(1_000, 900_000));

  // Which providers send pre-pseudonyms: exactly round(preShare · P) of them.
  const order = Array.from({ length: P }, (_, i) => i);
  for (let i = P - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const pre = new Set(order.slice(0, Math.round(preShare * P)));
  const bsnOffset = rng.int(0, BSN_SPAN - 1);

  const base = Date.parse(`${today}T00:00:00Z`);
  const dates = Array.from({ length: DAYS + 1 }, (_, k) => new Date(base - k * 86_400_000).toISOString().slice(0, 10));
  const locCode = used.map((l) => l.code);
  return {
    today,
    seed,
    entries: N,
    people: person,
    repeatEntries: R,
    providers: provAgb.map((agb, p) => ({
      agb,
      locations: provLocs[p].map((l) => locCode[l]),
      sendsPrePseudonym: pre.has(p),
      entries: provStart[p + 1] - provStart[p],
    })),
    model: {
      stage1,
      bsnOffset,
      locProvider,
      locCode,
      locCsv: locCode.map(dataCell),
      locRegion,
      regions,
      groups,
      refPrefix,
      refStart,
      provStart,
      rows,
      entPerson,
      entLoc,
      entGroup,
      entReg,
      entIntake,
      entWaits,
      entPos,
      dates,
    },
  };
}

/** A person's synthetic BSN: distinct people never share one (see BSN_MULT). */
function personBsn(m: PlanModel, person: number): string {
  // syntheticBsn(10·x) is 10·x or, when no check digit fits, 10·x + 1 (which always has one).
  return syntheticBsn(10 * (1_000_000 + ((person * BSN_MULT + m.bsnOffset) % BSN_SPAN)));
}

function clientRef(m: PlanModel, p: number, pos: number): string {
  return m.refPrefix[p] + String(m.refStart[p] + pos).padStart(7, '0');
}

function providerRange(plan: SnapshotPlan, i: number): [number, number] {
  if (!Number.isInteger(i) || i < 0 || i >= plan.providers.length) throw new Error(`no provider ${i} in this plan (0–${plan.providers.length - 1})`);
  return [plan.model.provStart[i], plan.model.provStart[i + 1]];
}

/** Provider i's snapshot as CSV: the header line, then one line per entry, `\n` line ends. */
export function snapshotCsv(plan: SnapshotPlan, i: number): string {
  const m = plan.model;
  const [a, b] = providerRange(plan, i);
  const pre = plan.providers[i].sendsPrePseudonym;
  const parts: string[] = [SNAPSHOT_CSV_HEADER + '\n'];
  for (let r = a; r < b; r++) {
    const e = m.rows[r];
    const bsn = personBsn(m, m.entPerson[e]);
    const intake = m.entIntake[e];
    parts.push(
      `${dataCell(clientRef(m, i, r - a))},${pre ? `,${m.stage1(bsn)}` : `${bsn},`},${m.locCsv[m.entLoc[e]]},${m.groups[m.entGroup[e]]},` +
        `${m.dates[m.entReg[e]]},${intake >= 0 ? m.dates[intake] : ''},${STAGES[intake >= 0 ? 1 : 0]},${m.entWaits[e] === 1}\n`,
    );
  }
  return parts.join('');
}

/** Provider i's snapshot as objects (for a JSON array or NDJSON). */
export function snapshotRows(plan: SnapshotPlan, i: number): SnapshotRow[] {
  const m = plan.model;
  const [a, b] = providerRange(plan, i);
  const pre = plan.providers[i].sendsPrePseudonym;
  const out: SnapshotRow[] = [];
  for (let r = a; r < b; r++) {
    const e = m.rows[r];
    const bsn = personBsn(m, m.entPerson[e]);
    const intake = m.entIntake[e];
    out.push({
      clientRef: clientRef(m, i, r - a),
      bsn: pre ? null : bsn,
      prePseudonym: pre ? m.stage1(bsn) : null,
      location: m.locCode[m.entLoc[e]],
      diagnosisGroup: m.groups[m.entGroup[e]],
      registeredOn: m.dates[m.entReg[e]],
      intakeOn: intake >= 0 ? m.dates[intake] : null,
      stage: STAGES[intake >= 0 ? 1 : 0],
      waitsForThisProvider: m.entWaits[e] === 1,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ground truth.

const truths = new WeakMap<SnapshotPlan, GroundTruth>();
const weeks = (days: number) => Math.round((days * 10) / 7) / 10;

/** Nearest rank: the smallest v with at least p·n values ≤ v (percentile_disc), in weeks. */
function figures(days: number[]): WaitFigures {
  if (days.length === 0) return { median: null, p80: null };
  const s = Float64Array.from(days).sort();
  const at = (p: number) => weeks(s[Math.max(0, Math.ceil(p * s.length) - 1)]);
  return { median: at(0.5), p80: at(0.8) };
}

const listCounts = (a: ArrayLike<number>, off = 0): ListCounts => ({ '1': a[off], '2': a[off + 1], '3': a[off + 2], '4+': a[off + 3] });
const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The figures a correct linkage of the plan's snapshots must produce, from the person model
 * (computed once per plan, then cached). Per person: the distinct providers they wait at (their
 * list count) and the stages there; the rest follows. Cleaned waits: a person once per
 * (location, group, stage) with their earliest date; waiting for intake here while waiting for
 * treatment at another provider leaves them out; weeks waited until `today`. The result is shared
 * between callers: treat it as read-only.
 */
export function groundTruth(plan: SnapshotPlan): GroundTruth {
  const cached = truths.get(plan);
  if (cached) return cached;
  const m = plan.model;
  const P = plan.providers.length;
  const N = plan.entries;
  const H = plan.people;
  const G = m.groups.length;
  const RG = m.regions.length;
  const agbs = plan.providers.map((p) => p.agb);
  const rank = new Int32Array(P);
  agbs
    .map((agb, p) => ({ agb, p }))
    .sort((x, y) => byString(x.agb, y.agb))
    .forEach(({ p }, r) => (rank[p] = r));

  // Entries by person (counting sort).
  const start = new Int32Array(H + 1);
  for (let e = 0; e < N; e++) start[m.entPerson[e] + 1]++;
  for (let h = 0; h < H; h++) start[h + 1] += start[h];
  const cur = start.slice(0, H);
  const byPerson = new Int32Array(N);
  for (let e = 0; e < N; e++) byPerson[cur[m.entPerson[e]]++] = e;

  const national = new Float64Array(4);
  const distinct = new Int32Array(P);
  const also = new Int32Array(P);
  const regionEntries = new Int32Array(RG);
  const regionPeople = new Int32Array(RG);
  const regionOn = new Int32Array(RG * 4);
  const groupEntries = new Int32Array(G);
  const groupPeople = new Int32Array(G);
  const groupOn = new Int32Array(G * 4);
  const pairs = new Map<number, number>();
  const refs: { pos: number; ref: GroundTruthRef }[][] = agbs.map(() => []);
  const cells = new Map<number, { entries: number; intake: number[]; treatment: number[]; leftOut: number }>();

  const ps: number[] = [];
  const masks: number[] = [];
  const seenRegion: number[] = [];
  const seenGroup: number[] = [];
  for (let h = 0; h < H; h++) {
    const a = start[h];
    const b = start[h + 1];
    ps.length = masks.length = seenRegion.length = seenGroup.length = 0;
    for (let t = a; t < b; t++) {
      const e = byPerson[t];
      const p = m.locProvider[m.entLoc[e]];
      const bit = m.entIntake[e] >= 0 ? 2 : 1;
      const j = ps.indexOf(p);
      if (j < 0) {
        ps.push(p);
        masks.push(bit);
      } else masks[j] |= bit;
      const r = m.locRegion[m.entLoc[e]];
      const g = m.entGroup[e];
      regionEntries[r]++;
      groupEntries[g]++;
      if (!seenRegion.includes(r)) seenRegion.push(r);
      if (!seenGroup.includes(g)) seenGroup.push(g);
    }
    const k = ps.length;
    const bucket = Math.min(k, 4) - 1;
    national[bucket]++;
    for (const r of seenRegion) {
      regionPeople[r]++;
      regionOn[r * 4 + bucket]++;
    }
    for (const g of seenGroup) {
      groupPeople[g]++;
      groupOn[g * 4 + bucket]++;
    }
    for (const p of ps) {
      distinct[p]++;
      if (k > 1) also[p]++;
    }
    if (k > 1) {
      for (let x = 0; x < k; x++) {
        for (let y = x + 1; y < k; y++) {
          const [lo, hi] = rank[ps[x]] < rank[ps[y]] ? [rank[ps[x]], rank[ps[y]]] : [rank[ps[y]], rank[ps[x]]];
          const key = lo * P + hi;
          pairs.set(key, (pairs.get(key) ?? 0) + 1);
        }
      }
    }
    for (let t = a; t < b; t++) {
      const e = byPerson[t];
      const l = m.entLoc[e];
      const p = m.locProvider[l];
      const g = m.entGroup[e];
      const treat = m.entIntake[e] >= 0;
      let otherMask = 0;
      for (let j = 0; j < k; j++) if (ps[j] !== p) otherMask |= masks[j];
      if (k > 1) refs[p].push({ pos: m.entPos[e], ref: { clientRef: clientRef(m, p, m.entPos[e]), otherLists: k - 1, otherStages: STAGE_SETS[otherMask] } });
      const cellKey = l * G + g;
      let cell = cells.get(cellKey);
      if (!cell) cells.set(cellKey, (cell = { entries: 0, intake: [], treatment: [], leftOut: 0 }));
      cell.entries++;
      // Once per (location, group, stage): the first such entry speaks for all, with the longest wait.
      let first = true;
      let days = treat ? m.entIntake[e] : m.entReg[e];
      for (let u = a; u < b; u++) {
        const f = byPerson[u];
        if (f === e || m.entLoc[f] !== l || m.entGroup[f] !== g || m.entIntake[f] >= 0 !== treat) continue;
        if (u < t) first = false;
        days = Math.max(days, treat ? m.entIntake[f] : m.entReg[f]);
      }
      if (!first) continue;
      if (treat) cell.treatment.push(days);
      else if (otherMask & 2) cell.leftOut++;
      else cell.intake.push(days);
    }
  }

  const breakdown = (keys: string[], entries: Int32Array, people: Int32Array, on: Int32Array): GroundTruthBreakdown[] =>
    keys
      .map((key, i) => ({ key, entries: entries[i], distinctPeople: people[i], peopleOn: listCounts(on, i * 4) }))
      .filter((x) => x.entries > 0)
      .sort((x, y) => byString(x.key, y.key));
  const sortedAgbs = [...agbs].sort(byString);
  const truth: GroundTruth = {
    today: plan.today,
    national: { entries: N, distinctPeople: H, peopleOn: listCounts(national) },
    perProvider: agbs
      .map((agb, p) => ({
        agb,
        entries: m.provStart[p + 1] - m.provStart[p],
        distinctPeople: distinct[p],
        alsoElsewhere: also[p],
        alsoElsewhereRefs: refs[p].sort((x, y) => byString(x.ref.clientRef, y.ref.clientRef)).map((x) => x.ref),
      }))
      .sort((x, y) => byString(x.agb, y.agb)),
    byRegion: breakdown(m.regions, regionEntries, regionPeople, regionOn),
    byDiagnosisGroup: breakdown(m.groups, groupEntries, groupPeople, groupOn),
    pairs: [...pairs]
      .map(([key, people]) => ({ a: sortedAgbs[Math.floor(key / P)], b: sortedAgbs[key % P], people }))
      .sort((x, y) => y.people - x.people || byString(x.a, y.a) || byString(x.b, y.b)),
    cleanedWaits: [...cells]
      .map(([key, c]) => {
        const l = Math.floor(key / G);
        return {
          agb: agbs[m.locProvider[l]],
          location: m.locCode[l],
          diagnosisGroup: m.groups[key % G],
          entries: c.entries,
          waitingIntake: c.intake.length,
          waitingTreatment: c.treatment.length,
          leftOut: c.leftOut,
          intake: figures(c.intake),
          treatment: figures(c.treatment),
        };
      })
      .sort((x, y) => byString(x.agb, y.agb) || byString(x.location, y.location) || byString(x.diagnosisGroup, y.diagnosisGroup)),
  };
  truths.set(plan, truth);
  return truth;
}
