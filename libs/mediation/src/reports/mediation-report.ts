/**
 * The evaluation report of proactive mediation (the parties evaluate it in Q4 2026): per month,
 * referrals, share above the norm per stage, tasks, time to first contact, outcomes, weeks saved,
 * and whether providers deliver (accurate) waiting-time figures.
 *
 * Pure: raw monthly figures in, the published report out. Counts of people (referrals, tasks)
 * are suppressed like the TTP's insurer report — 1–4 hidden (primary), and further cells hidden
 * where a hidden count could be worked out from the month's sums (secondary, suppressSmallCells
 * of the core). Figures computed from a hidden count, or from fewer than 5 people, are hidden too
 * (dependent). Counts of providers and of waiting-time cells are not about people and are shown.
 * Each month is suppressed on its own; there is deliberately no total over the period, which
 * would tie the months together and let a reader recover a hidden month from the others.
 */
import { csvDocument, CsvValue, GGZ_STAGES, GgzStage, SuppressionCell, SuppressionGroup, suppressSmallCells } from '@app/core';

export const REPORT_OUTCOMES = [
  'accepted-alternative',
  'prefers-to-wait',
  'already-in-care',
  'unreachable',
  'declined',
  'no-longer-needed',
  'consent-withdrawn',
  'phase-withdrawn',
] as const;
export type ReportOutcome = (typeof REPORT_OUTCOMES)[number];

/** Counts from 1 to THRESHOLD - 1 people are never shown. */
export const REPORT_THRESHOLD = 5;
/** The largest period one report covers, in months. */
export const REPORT_MAX_MONTHS = 36;

export type SuppressionReason = 'primary' | 'secondary' | 'dependent';

export const MEDIATION_REPORT_LEGEND: Record<SuppressionReason, string> = {
  primary: '1 to 4 people: not shown',
  secondary: "hidden so that a count of 1 to 4 cannot be worked out from the month's sums (complementary suppression)",
  dependent: 'computed from a hidden count, or from fewer than 5 people: not shown',
};

/** What the database yields for one month of one scope, before suppression. */
export interface RawReportMonth {
  month: string;
  received: number;
  /** Referrals with a judged evaluation (a verdict other than no-data and no-norm). */
  evaluated: number;
  /** Per stage: evaluated referrals whose first judged evaluation had the stage above the norm. */
  aboveNorm: Record<GgzStage, number>;
  tasksCreated: number;
  /** Tasks created this month and not closed (open, in progress or awaiting the patient). */
  stillOpen: number;
  outcomes: Record<ReportOutcome, number>;
  /** Per task of the month with a first contact attempt: working days from creation to it. */
  contactWorkingDays: number[];
  /** Of those, first contact on or before the task's due date. */
  contactedOnTime: number;
  /**
   * Accepted alternatives whose referred wait is known: the sum of their weeks saved (each the
   * referred provider's expected weeks minus the accepted location's, to 0.1) and how many.
   */
  weeksSaved: { total: number; tasks: number };
  providersReferredTo: number;
  providersWithoutCurrentFigures: number;
  /** AGB codes referred to that are not in the provider registry. */
  providersNotInRegistry: number;
  /** The TTP run standing at the month's end, and its cells for the month's providers and groups. */
  accuracy: { run: { asOf: string | null; finishedAt: string } | null; measuredCells: number; flaggedCells: number };
}

type Shown = number | null;

export interface ReportMonth {
  month: string;
  referrals: { received: Shown; evaluated: Shown };
  aboveNorm: Record<GgzStage, { count: Shown; share: Shown }>;
  tasks: { created: Shown; stillOpen: Shown; outcomes: Record<ReportOutcome, Shown> };
  firstContact: { contacted: Shown; onTime: Shown; medianWorkingDays: Shown; p90WorkingDays: Shown };
  weeksSaved: { total: Shown; perAcceptedTask: Shown };
  providers: { referredTo: number; withoutCurrentFigures: number; shareWithoutCurrentFigures: Shown; notInRegistry: number };
  accuracy: { run: { asOf: string | null; finishedAt: string } | null; measuredCells: Shown; flaggedCells: Shown; flaggedShare: Shown };
  /** Figure path (as in the CSV) → why it is null. Figures that are null without an entry here have no value (e.g. a share of 0 referrals). */
  suppressed: Record<string, SuppressionReason>;
}

export interface MediationReport {
  scope: { kind: 'insurer'; uzovi: string[] } | { kind: 'national' };
  from: string;
  to: string;
  generatedAt: string;
  suppression: { threshold: number; legend: Record<SuppressionReason, string> };
  months: ReportMonth[];
}

const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const share = (part: number, whole: number) => (whole > 0 ? round(part / whole, 3) : null);

/** Nearest-rank percentile (as the TTP's cleaned waits): the smallest value with at least p of the values at or below it. */
export function nearestRank(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1];
}

export function publishMonth(raw: RawReportMonth): ReportMonth {
  const cells: SuppressionCell[] = [];
  const groups: SuppressionGroup[] = [];
  // Denominators of published shares and the row totals stay visible longer (keep 1) when a
  // complement must be chosen: hiding a part costs less of the report.
  const cell = (id: string, value: number, published = true, keep = 0) => {
    cells.push({ id, value, published, keep });
    return id;
  };
  const received = cell('referrals.received', raw.received);
  const evaluated = cell('referrals.evaluated', raw.evaluated, true, 1);
  groups.push({ total: received, parts: [evaluated, cell('referrals.notEvaluated', raw.received - raw.evaluated, false)] });
  for (const s of GGZ_STAGES) {
    groups.push({ total: evaluated, parts: [cell(`aboveNorm.${s}.count`, raw.aboveNorm[s]), cell(`aboveNorm.${s}.within`, raw.evaluated - raw.aboveNorm[s], false)] });
  }
  const created = cell('tasks.created', raw.tasksCreated, true, 1);
  groups.push({ total: created, parts: [...REPORT_OUTCOMES.map((o) => cell(`tasks.outcomes.${o}`, raw.outcomes[o])), cell('tasks.stillOpen', raw.stillOpen)] });
  const contactedCount = raw.contactWorkingDays.length;
  const contacted = cell('firstContact.contacted', contactedCount, true, 1);
  groups.push({ total: created, parts: [contacted, cell('firstContact.notContacted', raw.tasksCreated - contactedCount, false)] });
  groups.push({ total: contacted, parts: [cell('firstContact.onTime', raw.contactedOnTime), cell('firstContact.late', contactedCount - raw.contactedOnTime, false)] });

  // Every group is a sum in one month; the relation is a tree, so suppressSmallCells is exact here.
  const hidden = suppressSmallCells(cells, groups, { threshold: REPORT_THRESHOLD });
  const values = new Map(cells.map((c) => [c.id, c.value]));
  const suppressed: Record<string, SuppressionReason> = {};
  const show = (id: string): Shown => {
    const s = hidden.get(id);
    if (s) {
      suppressed[id] = s;
      return null;
    }
    return values.get(id)!;
  };
  const dependent = (id: string, visible: boolean, value: number | null): Shown => {
    if (value === null) return null;
    if (!visible) {
      suppressed[id] = 'dependent';
      return null;
    }
    return value;
  };

  const rEvaluated = show(evaluated);
  const aboveNorm = Object.fromEntries(
    GGZ_STAGES.map((s) => {
      const count = show(`aboveNorm.${s}.count`);
      return [s, { count, share: dependent(`aboveNorm.${s}.share`, count !== null && rEvaluated !== null, share(raw.aboveNorm[s], raw.evaluated)) }];
    }),
  ) as ReportMonth['aboveNorm'];

  const outcomes = Object.fromEntries(REPORT_OUTCOMES.map((o) => [o, show(`tasks.outcomes.${o}`)])) as Record<ReportOutcome, Shown>;
  const shownContacted = show(contacted);
  // Percentiles of fewer than 5 people would show their waits; they do not reveal the count.
  const enough = contactedCount >= REPORT_THRESHOLD;
  // Weeks saved: with the total and the mean shown, total / mean is the count of accepted tasks,
  // so both follow that count's visibility.
  const accepted = outcomes['accepted-alternative'];
  const savedTotal = raw.weeksSaved.tasks > 0 ? round(raw.weeksSaved.total, 1) : raw.outcomes['accepted-alternative'] === 0 ? 0 : null;
  const perTask = raw.weeksSaved.tasks > 0 ? round(raw.weeksSaved.total / raw.weeksSaved.tasks, 1) : null;

  const acc = raw.accuracy;
  return {
    month: raw.month,
    referrals: { received: show(received), evaluated: rEvaluated },
    aboveNorm,
    tasks: { created: show(created), stillOpen: show('tasks.stillOpen'), outcomes },
    firstContact: {
      contacted: shownContacted,
      onTime: show('firstContact.onTime'),
      medianWorkingDays: dependent('firstContact.medianWorkingDays', enough, nearestRank(raw.contactWorkingDays, 0.5)),
      p90WorkingDays: dependent('firstContact.p90WorkingDays', enough, nearestRank(raw.contactWorkingDays, 0.9)),
    },
    weeksSaved: {
      total: dependent('weeksSaved.total', accepted !== null, savedTotal),
      perAcceptedTask: dependent('weeksSaved.perAcceptedTask', accepted !== null, perTask),
    },
    providers: {
      referredTo: raw.providersReferredTo,
      withoutCurrentFigures: raw.providersWithoutCurrentFigures,
      shareWithoutCurrentFigures: share(raw.providersWithoutCurrentFigures, raw.providersReferredTo),
      notInRegistry: raw.providersNotInRegistry,
    },
    accuracy: {
      run: acc.run,
      measuredCells: acc.run ? acc.measuredCells : null,
      flaggedCells: acc.run ? acc.flaggedCells : null,
      flaggedShare: acc.run ? share(acc.flaggedCells, acc.measuredCells) : null,
    },
    suppressed,
  };
}

/** The figures of a month as `path → value`, in a fixed order (the CSV's rows). */
export function monthFigures(m: ReportMonth): [string, Shown][] {
  const out: [string, Shown][] = [
    ['referrals.received', m.referrals.received],
    ['referrals.evaluated', m.referrals.evaluated],
  ];
  for (const s of GGZ_STAGES) out.push([`aboveNorm.${s}.count`, m.aboveNorm[s].count], [`aboveNorm.${s}.share`, m.aboveNorm[s].share]);
  out.push(['tasks.created', m.tasks.created]);
  for (const o of REPORT_OUTCOMES) out.push([`tasks.outcomes.${o}`, m.tasks.outcomes[o]]);
  out.push(
    ['tasks.stillOpen', m.tasks.stillOpen],
    ['firstContact.contacted', m.firstContact.contacted],
    ['firstContact.onTime', m.firstContact.onTime],
    ['firstContact.medianWorkingDays', m.firstContact.medianWorkingDays],
    ['firstContact.p90WorkingDays', m.firstContact.p90WorkingDays],
    ['weeksSaved.total', m.weeksSaved.total],
    ['weeksSaved.perAcceptedTask', m.weeksSaved.perAcceptedTask],
    ['providers.referredTo', m.providers.referredTo],
    ['providers.withoutCurrentFigures', m.providers.withoutCurrentFigures],
    ['providers.shareWithoutCurrentFigures', m.providers.shareWithoutCurrentFigures],
    ['providers.notInRegistry', m.providers.notInRegistry],
    ['accuracy.measuredCells', m.accuracy.measuredCells],
    ['accuracy.flaggedCells', m.accuracy.flaggedCells],
    ['accuracy.flaggedShare', m.accuracy.flaggedShare],
  );
  return out;
}

/**
 * The report as CSV in long form — `month,figure,value,suppressed`, one figure per line — so that
 * a spreadsheet can pivot it. A suppressed figure has an empty value and its reason (primary,
 * secondary, dependent) in the last column; an empty value without a reason has no value.
 */
export function mediationReportCsv(report: MediationReport): string {
  // The one CSV writer (@app/core): figures are JS numbers, written as numbers (a negative one unprefixed).
  const rows: CsvValue[][] = [];
  for (const m of report.months) for (const [figure, value] of monthFigures(m)) rows.push([m.month, figure, value, m.suppressed[figure] ?? '']);
  return csvDocument(['month', 'figure', 'value', 'suppressed'], rows);
}

/** `YYYY-MM` → the months from..to inclusive. */
export function monthsBetween(from: string, to: string): string[] {
  const out: string[] = [];
  let y = Number(from.slice(0, 4));
  let m = Number(from.slice(5, 7));
  for (;;) {
    const key = `${y}-${String(m).padStart(2, '0')}`;
    if (key > to) return out;
    out.push(key);
    if (++m > 12) {
      m = 1;
      y++;
    }
  }
}

/** The month `n` months after (negative: before) `month`. */
export function addMonths(month: string, n: number): string {
  const idx = Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1 + n;
  return `${Math.floor(idx / 12)}-${String((idx % 12) + 1).padStart(2, '0')}`;
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/**
 * The period asked for, checked: `from` and `to` as YYYY-MM (Europe/Amsterdam calendar months),
 * by default the twelve months through the current one; `to` not after the current month, `from`
 * not after `to`, at most REPORT_MAX_MONTHS months. Returns the problems as field details.
 */
export function reportPeriod(
  from: string | undefined,
  to: string | undefined,
  currentMonth: string,
): { from: string; to: string } | { errors: { field: string; reason: string }[] } {
  const errors: { field: string; reason: string }[] = [];
  for (const [field, v] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (v !== undefined && (!MONTH.test(v) || Number(v.slice(0, 4)) < 2000)) errors.push({ field, reason: 'must be a month as YYYY-MM (from 2000-01)' });
  }
  if (errors.length) return { errors };
  const end = to ?? currentMonth;
  const start = from ?? addMonths(end, -11);
  if (end > currentMonth) errors.push({ field: 'to', reason: `must not be after the current month (${currentMonth})` });
  if (start > end) errors.push({ field: 'from', reason: `must not be after to (${end})` });
  else if (monthsBetween(start, end).length > REPORT_MAX_MONTHS) errors.push({ field: 'from', reason: `the period may span at most ${REPORT_MAX_MONTHS} months` });
  return errors.length ? { errors } : { from: start, to: end };
}
