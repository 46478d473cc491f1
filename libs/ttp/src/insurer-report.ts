/**
 * The insurer report of a linkage run: aggregates only, with small cells suppressed.
 *
 * Counts of 1–4 people are shown as "<5" (primary suppression). Because the report's figures are
 * tied by sums — the providers' entries add up to the national entries, and so do the regions'
 * and the diagnosis groups'; a row's people on 1, 2, 3 and 4+ lists add up to its distinct
 * people; distinct people = people also elsewhere + people only here; entries = distinct people
 * + repeated entries — a hidden cell could often be worked out from the others. So more cells
 * are hidden ("x", complementary suppression) until no "<5" can be recomputed from what is shown
 * (suppressSmallCells of the core). Derived figures that are not printed (people only here,
 * repeated entries) take part as unknowns: they too are protected when they are 1–4. A row that
 * cannot be protected that way is withheld whole.
 * Pure: raw aggregates in, report out.
 */
import { csvDocument, CsvValue, Suppression, SuppressionCell, SuppressionGroup, suppressSmallCells } from '@app/core';

/** A published count: the number, "<5" for 1–4, "x" when hidden to protect a "<5", null in a withheld row. */
export type Count = number | '<5' | 'x' | null;

export interface ListCounts {
  '1': number;
  '2': number;
  '3': number;
  '4+': number;
}

export interface RawAggregates {
  national: { entries: number; distinctPeople: number; peopleOn: ListCounts };
  providers: { agb: string; name: string | null; entries: number; distinctPeople: number; alsoElsewhere: number }[];
  regions: { key: string; entries: number; distinctPeople: number; peopleOn: ListCounts }[];
  diagnosisGroups: { key: string; entries: number; distinctPeople: number; peopleOn: ListCounts }[];
  /** Provider pairs by people waiting at both, largest first. */
  overlaps: { agbA: string; agbB: string; people: number }[];
}

interface Row {
  entries: Count;
  distinctPeople: Count;
  peopleOn: { '1': Count; '2': Count; '3': Count; '4+': Count };
  /** No figure of this row can be shown without revealing a count of 1–4. */
  withheld?: true;
}

export interface InsurerReport {
  legend: Record<string, string>;
  national: Row;
  providers: { agb: string; name: string | null; entries: Count; distinctPeople: Count; alsoElsewhere: Count; withheld?: true }[];
  regions: (Row & { region: string })[];
  diagnosisGroups: (Row & { diagnosisGroup: string })[];
  largestOverlaps: { agbA: string; agbB: string; people: number }[];
}

export const REPORT_LEGEND = {
  '<5': '1 to 4 people: not shown',
  x: 'hidden so that a "<5" cannot be worked out from totals (complementary suppression)',
  withheld: 'a row none of whose figures can be shown without revealing a count of 1–4 (its figures are null)',
  peopleOn: 'people by the number of providers whose lists they are on (nationally)',
};

const LISTS = ['1', '2', '3', '4+'] as const;
const THRESHOLD = 5;

export function buildInsurerReport(raw: RawAggregates, options: { topOverlaps: number }): InsurerReport {
  return buildPublishedOutputs(raw, [], options).report;
}

/** A cell of the cleaned waiting times as the run computed it (the counts before suppression). */
export interface CleanedCounts {
  agb: string;
  location: string;
  diagnosisGroup: string;
  /** The region of the location (as in the report's regions). */
  region: string;
  /** All entries of the cell: waitingIntake + waitingTreatment + repeated and left-out entries. */
  entries: number;
  waitingIntake: number;
  waitingTreatment: number;
}

/** How a published count of the cleaned waiting times is shown to readers other than its provider. */
export type CleanedSuppression = 'primary' | 'secondary' | 'withheld' | null;

export const cleanedKey = (c: { agb: string; location: string; diagnosisGroup: string }) => `${c.agb}|${c.location}|${c.diagnosisGroup}`;

/**
 * Everything an insurer-side reader can read of a run — the insurer report and the cleaned
 * waiting times — suppressed in one pass over one relation, so that no "<5" of one output can be
 * worked out with the figures of the other (security review, item 9). The relations between them:
 * - a provider's entries (report) = the sum of its cleaned cells' entries; so do a region's and a
 *   diagnosis group's entries over the cells of that region or group;
 * - a cleaned cell's entries = waiting for intake + waiting for treatment + the rest (repeated
 *   entries, intake entries of people in care elsewhere): the rest is a slack no reader sees, so
 *   the reader gets "entries ≥ the cleaned counts";
 * - a listed overlap of two providers ≤ each one's people also elsewhere (a slack again);
 *   an overlap that would give a "<5" away is left off the list.
 * A cleaned cell whose small counts cannot be protected is withheld (its counts null), as a row of
 * the report is. The provider's own view of its cells (in full) is not an insurer output.
 */
export function buildPublishedOutputs(
  raw: RawAggregates,
  cleaned: readonly CleanedCounts[],
  options: { topOverlaps: number },
): { report: InsurerReport; cleaned: Map<string, { intake: CleanedSuppression; treatment: CleanedSuppression }> } {
  // Some small counts cannot be protected by hiding others (a "<5" total whose parts are all
  // "<5" must be 1 + 1 + …). Such a row is withheld whole — its figures are not shown, and only
  // its entries still take part in the national sums, unpublished — and the rest is suppressed
  // again. Each pass withholds one more row (or cleaned cell), so this ends.
  const withheld = new Set<string>();
  // The joint pass is exact but its witness search grows too fast with the number of cleaned
  // cells (measured: 160–170 cells 0.5–5 s, 400 cells 13 s and more, 900 cells minutes). Beyond the limit the
  // cleaned counts are withheld from insurer-side readers (fail closed): withheld counts are
  // unknowns to the reader and tie nothing to the report, which is then suppressed as before.
  // All withheld, they are left out of the relation altogether (they would only say that entries
  // are not negative), so the report costs what it cost alone.
  if (cleaned.length > JOINT_MAX_CLEANED_CELLS) {
    const { report } = buildPublishedOutputs(raw, [], options);
    return { report, cleaned: new Map(cleaned.map((c) => [cleanedKey(c), { intake: 'withheld', treatment: 'withheld' }])) };
  }
  for (;;) {
    try {
      return assemble(raw, cleaned, options, withheld);
    } catch (e) {
      const cell = /cannot protect the small count in cell "([^"]+)"/.exec((e as Error).message)?.[1];
      const row = cell?.slice(0, cell.lastIndexOf('.'));
      if (!row || withheld.has(ALL)) throw e;
      // A row withheld already and still not protected: its count follows from the structure of
      // the other small counts (e.g. every figure "<5"). Then nothing of the run is published.
      withheld.add(withheld.has(row) ? ALL : row);
    }
  }
}

/** Cleaned cells up to which the joint pass runs (see buildPublishedOutputs). */
export const JOINT_MAX_CLEANED_CELLS = 200;

/** Withholds every figure: the last resort when rows alone cannot be withheld to protect a count. */
const ALL = '*';

function assemble(
  raw: RawAggregates,
  cleanedCells: readonly CleanedCounts[],
  options: { topOverlaps: number },
  withheldRows: ReadonlySet<string>,
): { report: InsurerReport; cleaned: Map<string, { intake: CleanedSuppression; treatment: CleanedSuppression }> } {
  const everything = withheldRows.has(ALL);
  const withheld = { has: (prefix: string) => everything || withheldRows.has(prefix) };
  const cells: SuppressionCell[] = [];
  const groups: SuppressionGroup[] = [];
  const ids = new Set<string>();
  // When a complement must be hidden, distinct people — the deduplicated figure this report
  // exists for — stay visible longer than entries; a listed overlap goes first (it only drops off a list).
  const cell = (id: string, value: number, published = true, slack = false) => {
    cells.push({ id, value, published, slack, keep: id.endsWith('.distinct') ? 1 : id.startsWith('o:') ? -1 : 0 });
    ids.add(id);
    return id;
  };
  const row = (prefix: string, r: { entries: number; distinctPeople: number; peopleOn: ListCounts }) => {
    const entries = cell(`${prefix}.entries`, r.entries, !withheld.has(prefix));
    if (withheld.has(prefix)) return entries;
    const distinct = cell(`${prefix}.distinct`, r.distinctPeople);
    const lists = LISTS.map((k) => cell(`${prefix}.on${k}`, r.peopleOn[k]));
    groups.push({ total: distinct, parts: lists });
    groups.push({ total: entries, parts: [distinct, cell(`${prefix}.repeats`, r.entries - r.distinctPeople, false)] });
    return entries;
  };

  const national = row('n', raw.national);
  // A sum over nothing (no snapshots linked) is no relation at all.
  const sumOf = (parts: string[]) => (parts.length > 0 ? groups.push({ total: national, parts }) : 0);
  sumOf(
    raw.providers.map((p) => {
      const prefix = `p:${p.agb}`;
      const entries = cell(`${prefix}.entries`, p.entries, !withheld.has(prefix));
      if (withheld.has(prefix)) return entries;
      const distinct = cell(`${prefix}.distinct`, p.distinctPeople);
      const also = cell(`${prefix}.also`, p.alsoElsewhere);
      groups.push({ total: entries, parts: [distinct, cell(`${prefix}.repeats`, p.entries - p.distinctPeople, false)] });
      groups.push({ total: distinct, parts: [also, cell(`${prefix}.only`, p.distinctPeople - p.alsoElsewhere, false)] });
      return entries;
    }),
  );
  sumOf(raw.regions.map((r) => row(`r:${r.key}`, r)));
  sumOf(raw.diagnosisGroups.map((g) => row(`g:${g.key}`, g)));

  // The cleaned waiting times: each cell's entries (unseen) add up to its provider's, its
  // region's and its diagnosis group's entries.
  const byTotal = new Map<string, string[]>();
  const into = (total: string, part: string) => {
    if (!ids.has(total)) throw new Error(`buildPublishedOutputs: a cleaned cell refers to "${total}", which the report does not have`);
    byTotal.set(total, [...(byTotal.get(total) ?? []), part]);
  };
  for (const c of cleanedCells) {
    const k = `c:${cleanedKey(c)}`;
    const shown = !withheld.has(k);
    const entries = cell(`${k}.entries`, c.entries, false, true);
    const parts = [
      cell(`${k}.intake`, c.waitingIntake, shown, !shown),
      cell(`${k}.treatment`, c.waitingTreatment, shown, !shown),
      cell(`${k}.rest`, c.entries - c.waitingIntake - c.waitingTreatment, false, true),
    ];
    groups.push({ total: entries, parts });
    into(`p:${c.agb}.entries`, entries);
    into(`r:${c.region}.entries`, entries);
    into(`g:${c.diagnosisGroup}.entries`, entries);
  }
  for (const [total, parts] of byTotal) groups.push({ total, parts });
  // Listed overlaps (5 or more people) are at most each provider's people also elsewhere.
  const listed = raw.overlaps.filter((o) => o.people >= THRESHOLD).slice(0, options.topOverlaps);
  for (const o of listed) {
    const id = cell(`o:${o.agbA}+${o.agbB}.people`, o.people);
    for (const agb of [o.agbA, o.agbB]) {
      const also = raw.providers.find((p) => p.agb === agb);
      if (!also || withheld.has(`p:${agb}`)) continue;
      groups.push({ total: `p:${agb}.also`, parts: [id, cell(`o:${o.agbA}+${o.agbB}.rest${agb}`, also.alsoElsewhere - o.people, false, true)] });
    }
  }

  const hidden: Map<string, Suppression> = everything ? new Map() : suppressSmallCells(cells, groups, { threshold: THRESHOLD });
  const values = new Map(cells.map((c) => [c.id, c.value]));
  const show = (id: string): Count => {
    if (withheld.has(id.slice(0, id.lastIndexOf('.')))) return null;
    const s = hidden.get(id);
    return s === 'primary' ? '<5' : s === 'secondary' ? 'x' : values.get(id)!;
  };
  const shownRow = (prefix: string): Row => ({
    entries: show(`${prefix}.entries`),
    distinctPeople: show(`${prefix}.distinct`),
    peopleOn: { '1': show(`${prefix}.on1`), '2': show(`${prefix}.on2`), '3': show(`${prefix}.on3`), '4+': show(`${prefix}.on4+`) },
    ...(withheld.has(prefix) ? { withheld: true } : {}),
  });

  const cleaned = new Map<string, { intake: CleanedSuppression; treatment: CleanedSuppression }>();
  for (const c of cleanedCells) {
    const k = `c:${cleanedKey(c)}`;
    const how = (id: string): CleanedSuppression => (withheld.has(k) ? 'withheld' : (hidden.get(id) ?? null));
    cleaned.set(cleanedKey(c), { intake: how(`${k}.intake`), treatment: how(`${k}.treatment`) });
  }
  const report: InsurerReport = {
    legend: REPORT_LEGEND,
    national: shownRow('n'),
    providers: raw.providers.map((p) => ({
      agb: p.agb,
      name: p.name,
      entries: show(`p:${p.agb}.entries`),
      distinctPeople: show(`p:${p.agb}.distinct`),
      alsoElsewhere: show(`p:${p.agb}.also`),
      ...(withheld.has(`p:${p.agb}`) ? { withheld: true } : {}),
    })),
    regions: raw.regions.map((r) => ({ region: r.key, ...shownRow(`r:${r.key}`) })),
    diagnosisGroups: raw.diagnosisGroups.map((g) => ({ diagnosisGroup: g.key, ...shownRow(`g:${g.key}`) })),
    // Only overlaps of 5 or more people are listed, and none hidden to protect a "<5".
    largestOverlaps: everything ? [] : listed.filter((o) => !hidden.has(`o:${o.agbA}+${o.agbB}.people`)),
  };
  return { report, cleaned };
}

/**
 * The report as CSV in long form — one figure per line, `section,key,name,measure,value` — so
 * that every section fits one header and a spreadsheet can pivot it.
 */
export function insurerReportCsv(report: InsurerReport): string {
  const rows: CsvValue[][] = [];
  const put = (section: string, key: string, name: string | null, measure: string, value: Count) => rows.push([section, key, name, measure, value]);
  const putRow = (section: string, key: string, r: Row) => {
    put(section, key, null, 'entries', r.entries);
    put(section, key, null, 'distinctPeople', r.distinctPeople);
    for (const k of LISTS) put(section, key, null, `peopleOn${k === '4+' ? '4OrMore' : k}Lists`, r.peopleOn[k]);
  };
  putRow('national', 'NL', report.national);
  for (const p of report.providers) {
    put('provider', p.agb, p.name, 'entries', p.entries);
    put('provider', p.agb, p.name, 'distinctPeople', p.distinctPeople);
    put('provider', p.agb, p.name, 'alsoElsewhere', p.alsoElsewhere);
  }
  for (const r of report.regions) putRow('region', r.region, r);
  for (const g of report.diagnosisGroups) putRow('diagnosisGroup', g.diagnosisGroup, g);
  for (const o of report.largestOverlaps) put('overlap', `${o.agbA}+${o.agbB}`, null, 'people', o.people);
  return csvDocument(['section', 'key', 'name', 'measure', 'value'], rows);
}
