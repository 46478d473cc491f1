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
import { Suppression, SuppressionCell, SuppressionGroup, suppressSmallCells } from '@app/core';

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
  // Some small counts cannot be protected by hiding others (a "<5" total whose parts are all
  // "<5" must be 1 + 1 + …). Such a row is withheld whole — its figures are not shown, and only
  // its entries still take part in the national sums, unpublished — and the rest is suppressed
  // again. Each pass withholds one more row, so this ends.
  const withheld = new Set<string>();
  for (;;) {
    try {
      return assemble(raw, options, withheld);
    } catch (e) {
      const cell = /cannot protect the small count in cell "([^"]+)"/.exec((e as Error).message)?.[1];
      const row = cell?.slice(0, cell.lastIndexOf('.'));
      if (!row || withheld.has(row)) throw e;
      withheld.add(row);
    }
  }
}

function assemble(raw: RawAggregates, options: { topOverlaps: number }, withheld: ReadonlySet<string>): InsurerReport {
  const cells: SuppressionCell[] = [];
  const groups: SuppressionGroup[] = [];
  // When a complement must be hidden, distinct people — the deduplicated figure this report
  // exists for — stay visible longer than entries.
  const cell = (id: string, value: number, published = true) => {
    cells.push({ id, value, published, keep: id.endsWith('.distinct') ? 1 : 0 });
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

  const hidden: Map<string, Suppression> = suppressSmallCells(cells, groups, { threshold: THRESHOLD });
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

  return {
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
    // Only overlaps of 5 or more people are listed: a pair's count ties to no published total.
    largestOverlaps: raw.overlaps.filter((o) => o.people >= THRESHOLD).slice(0, options.topOverlaps),
  };
}

/**
 * The report as CSV in long form — one figure per line, `section,key,name,measure,value` — so
 * that every section fits one header and a spreadsheet can pivot it.
 */
export function insurerReportCsv(report: InsurerReport): string {
  const esc = (v: string | number | null) => {
    const s = v === null ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = ['section,key,name,measure,value'];
  const put = (section: string, key: string, name: string | null, measure: string, value: Count) => lines.push([section, key, name, measure, value].map(esc).join(','));
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
  return lines.join('\n') + '\n';
}
