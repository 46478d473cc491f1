/**
 * Reads the raw monthly figures of the mediation report for one scope (some insurers, or all)
 * and publishes them (mediation-report.ts). Months are calendar months in Europe/Amsterdam:
 * referrals by the month they were received, tasks by the month they were created (their
 * outcomes, contacts and weeks saved belong to that cohort, whenever they happened). The TTP's
 * measured figures come only through its public entry point (TtpOutputsService).
 *
 * Reading the report is not a read of a person's data — every figure is an aggregate over many
 * people, small ones suppressed — so it writes no access-log entry (NEN 7513 covers reads of a
 * person's data; the TTP's aggregate report is not logged either).
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { GGZ_STAGES, GgzStage, workingDaysBetween } from '@app/core';
import { MeasuredWait, TtpOutputsService } from '@app/ttp';
import {
  addMonths,
  MEDIATION_REPORT_LEGEND,
  MediationReport,
  monthsBetween,
  publishMonth,
  RawReportMonth,
  REPORT_OUTCOMES,
  REPORT_THRESHOLD,
  ReportOutcome,
} from './mediation-report';

export interface ReportRequest {
  from: string;
  to: string;
  /** The insurers to report on; null for all (national). */
  uzovis: string[] | null;
}

const AMS = `'Europe/Amsterdam'`;

/** A transaction's query function. */
type Query = (sql: string, params?: unknown[]) => Promise<any[]>;

@Injectable()
export class MediationReportService {
  constructor(
    private readonly db: DataSource,
    private readonly ttpOutputs: TtpOutputsService,
  ) {}

  async report(req: ReportRequest, now = new Date()): Promise<MediationReport> {
    const months = monthsBetween(req.from, req.to);
    const raw = new Map<string, RawReportMonth>(months.map((m) => [m, emptyMonth(m)]));
    // The figures that suppression ties together (referrals, tasks, contacts) are read in one
    // snapshot, so that a sum and its parts always agree. JIT compilation is off: it cost
    // seconds on these one-off aggregates and saves nothing.
    const pairs = await this.db.transaction('REPEATABLE READ', async (tx) => {
      await tx.query(`SET TRANSACTION READ ONLY`);
      await tx.query(`SET LOCAL jit = off`);
      // Enough memory to group a year's referrals in a hash instead of sorting them on disk.
      await tx.query(`SET LOCAL work_mem = '64MB'`);
      // Cached or SSD pages cost about the same read in any order: with the default (4) the
      // planner reads the wide referral rows instead of the covering index, twice as slow.
      await tx.query(`SET LOCAL random_page_cost = 1.1`);
      // Month boundaries as instants: the start of each month in Amsterdam, and of the month after.
      const [{ bounds }] = await tx.query(
        `SELECT array_agg((m AT TIME ZONE ${AMS}) ORDER BY m) AS bounds
           FROM generate_series($1::timestamp, $2::timestamp + interval '1 month', interval '1 month') AS m`,
        [`${req.from}-01`, `${req.to}-01`],
      );
      return this.read((sql, params) => tx.query(sql, params), req, months, bounds as Date[], raw);
    });
    await this.accuracy(raw, months, pairs);

    return {
      scope: req.uzovis ? { kind: 'insurer', uzovi: req.uzovis } : { kind: 'national' },
      from: req.from,
      to: req.to,
      generatedAt: now.toISOString(),
      suppression: { threshold: REPORT_THRESHOLD, legend: MEDIATION_REPORT_LEGEND },
      months: months.map((m) => publishMonth(raw.get(m)!)),
    };
  }

  /** Fills `raw` from the database; returns the month's (provider, diagnosis group) pairs of its referrals. */
  private async read(
    q: Query,
    req: ReportRequest,
    months: string[],
    bounds: Date[],
    raw: Map<string, RawReportMonth>,
  ): Promise<Map<string, { agb: string; diagnosisGroup: string }[]>> {
    // Every statement takes the period as $1..$2 and, for insurers, their codes as $n.
    const scope = (column: string, n: number) => (req.uzovis ? `AND ${column} = ANY($${n}::bpchar[])` : '');
    const period = [bounds[0], bounds[bounds.length - 1]];
    const own = req.uzovis ? [req.uzovis] : [];

    // Referrals received, per month (width_bucket over the month starts: no time-zone arithmetic
    // per row), provider and diagnosis group — read from the covering index alone.
    const referrals: { b: number; agb: string; grp: string; n: number }[] = await q(
      `SELECT width_bucket(r.received_at, $3::timestamptz[]) AS b, r.agb::text AS agb, r.klachtenprofiel AS grp, count(*)::int AS n
         FROM referral r
        WHERE r.received_at >= $1 AND r.received_at < $2 ${scope('r.uzovi', 4)}
        GROUP BY 1, 2, 3`,
      [...period, bounds, ...own],
    );
    // Of those, the judged ones and, per stage, those above the norm in their first judgement
    // (referral_judgement, kept by a trigger on referral_evaluation).
    const judged: Record<string, number>[] = await q(
      `SELECT width_bucket(j.received_at, $3::timestamptz[]) AS b, count(*)::int AS evaluated,
              ${GGZ_STAGES.map((s) => `count(*) FILTER (WHERE j.above_${s})::int AS "${s}"`).join(', ')}
         FROM referral_judgement j
        WHERE j.received_at >= $1 AND j.received_at < $2 ${scope('j.uzovi', 4)}
        GROUP BY 1`,
      [...period, bounds, ...own],
    );
    for (const j of judged) {
      const m = raw.get(months[j.b - 1])!;
      m.evaluated = j.evaluated;
      for (const s of GGZ_STAGES) m.aboveNorm[s as GgzStage] = j[s];
    }
    const pairs = new Map<string, { agb: string; diagnosisGroup: string }[]>();
    const referred = new Map<string, Set<string>>();
    for (const r of referrals) {
      const month = months[r.b - 1];
      raw.get(month)!.received += r.n;
      if (!pairs.has(month)) pairs.set(month, []);
      pairs.get(month)!.push({ agb: r.agb, diagnosisGroup: r.grp });
      if (!referred.has(month)) referred.set(month, new Set());
      referred.get(month)!.add(r.agb);
    }

    // The providers referred to: in the registry, and with current figures at the month's end —
    // a figure of that month or of the two before it (the evaluation's staleness rule) submitted
    // by then. Read once: per provider and figure month, when its first figure came in.
    const agbs = [...new Set([...referred.values()].flatMap((s) => [...s]))];
    if (agbs.length > 0) {
      const known = new Set((await q(`SELECT agb::text AS agb FROM provider WHERE agb = ANY($1::bpchar[])`, [agbs])).map((p) => p.agb as string));
      const figures: { agb: string; month: string; first: Date }[] = await q(
        `SELECT l.agb::text AS agb, to_char(w.month, 'YYYY-MM') AS month, min(w.submitted_at) AS first
           FROM provider_location l JOIN wait_time w ON w.location_id = l.id
          WHERE l.agb = ANY($1::bpchar[]) AND w.month >= $2::date AND w.submitted_at < $3
          GROUP BY 1, 2`,
        [agbs, `${addMonths(months[0], -2)}-01`, bounds[bounds.length - 1]],
      );
      const figuresOf = new Map<string, { month: string; first: Date }[]>();
      for (const f of figures) (figuresOf.get(f.agb) ?? figuresOf.set(f.agb, []).get(f.agb)!).push(f);
      for (const [month, set] of referred) {
        const m = raw.get(month)!;
        const oldest = addMonths(month, -2);
        const end = bounds[months.indexOf(month) + 1].getTime();
        for (const agb of set) {
          if (!known.has(agb)) m.providersNotInRegistry++;
          else {
            m.providersReferredTo++;
            if (!(figuresOf.get(agb) ?? []).some((f) => f.month >= oldest && f.first.getTime() < end)) m.providersWithoutCurrentFigures++;
          }
        }
      }
    }

    // Tasks by the day they were created (Amsterdam): outcome (null while not closed), the day of
    // the first contact attempt and the due date, and the weeks saved by accepted alternatives
    // (referred expected weeks minus the accepted location's, per task to 0.1).
    const tasks: Record<string, any>[] = await q(
      `SELECT created_on::text AS created_on, contacted_on::text AS contacted_on, on_time, outcome, n, saved, saved_n
         FROM (SELECT (t.created_at AT TIME ZONE ${AMS})::date AS created_on, (t.first_contact_at AT TIME ZONE ${AMS})::date AS contacted_on,
                      (t.first_contact_at AT TIME ZONE ${AMS})::date <= t.due_date AS on_time, t.outcome, count(*)::int AS n,
                      sum(round(t.referred_weeks - (t.outcome_details ->> 'expectedWeeks')::numeric, 1))::float8 AS saved,
                      count(t.referred_weeks - (t.outcome_details ->> 'expectedWeeks')::numeric)::int AS saved_n
                 FROM mediation_task t
                WHERE t.created_at >= $1 AND t.created_at < $2 ${scope('t.uzovi', 3)}
                GROUP BY 1, 2, 3, 4) g`,
      [...period, ...own],
    );
    for (const t of tasks) {
      const m = raw.get(t.created_on.slice(0, 7))!;
      m.tasksCreated += t.n;
      if (t.outcome === null) m.stillOpen += t.n;
      else if ((REPORT_OUTCOMES as readonly string[]).includes(t.outcome)) m.outcomes[t.outcome as ReportOutcome] += t.n;
      if (t.contacted_on !== null) {
        // Working days as the due date counts them (weekends and Dutch public holidays skipped).
        const days = workingDaysBetween(t.created_on, t.contacted_on);
        for (let i = 0; i < t.n; i++) m.contactWorkingDays.push(days);
        if (t.on_time) m.contactedOnTime += t.n;
      }
      if (t.outcome === 'accepted-alternative' && t.saved_n > 0) {
        m.weeksSaved.total += t.saved;
        m.weeksSaved.tasks += t.saved_n;
      }
    }
    return pairs;
  }

  /**
   * "Is the information accurate?": per month, the TTP run standing at the month's end and, among
   * its cleaned-wait cells (provider, location, diagnosis group) for the providers and groups of
   * the month's referrals, how many were flagged (declared wait more than TTP_FLAG_WEEKS off the
   * measured median).
   */
  private async accuracy(raw: Map<string, RawReportMonth>, months: string[], byMonth: Map<string, { agb: string; diagnosisGroup: string }[]>): Promise<void> {
    const [{ ends }] = await this.db.query(`SELECT array_agg(((m + interval '1 month') AT TIME ZONE ${AMS}) ORDER BY m) AS ends FROM unnest($1::timestamp[]) AS m`, [
      months.map((m) => `${m}-01`),
    ]);
    // Months sharing a run ask the TTP once; the runs are asked at the same time.
    const runs = new Map<string, { months: string[]; pairs: Map<string, { agb: string; diagnosisGroup: string }> }>();
    const standing = await Promise.all(months.map((_, i) => this.ttpOutputs.runFinishedBefore(new Date(ends[i]))));
    for (const [i, month] of months.entries()) {
      const run = standing[i];
      const m = raw.get(month)!;
      m.accuracy = { run: run && { asOf: run.asOf, finishedAt: run.finishedAt }, measuredCells: 0, flaggedCells: 0 };
      if (!run) continue;
      if (!runs.has(run.runId)) runs.set(run.runId, { months: [], pairs: new Map() });
      const r = runs.get(run.runId)!;
      r.months.push(month);
      for (const p of byMonth.get(month) ?? []) r.pairs.set(`${p.agb}|${p.diagnosisGroup}`, p);
    }
    const measured = await Promise.all([...runs].map(([runId, r]) => this.ttpOutputs.measuredFor(runId, [...r.pairs.values()])));
    for (const [k, r] of [...runs.values()].entries()) {
      const cells: Map<string, MeasuredWait[]> = measured[k];
      for (const month of r.months) {
        const m = raw.get(month)!;
        for (const p of byMonth.get(month) ?? []) {
          for (const c of cells.get(`${p.agb}|${p.diagnosisGroup}`) ?? []) {
            m.accuracy.measuredCells++;
            if (c.flagged) m.accuracy.flaggedCells++;
          }
        }
      }
    }
  }
}

function emptyMonth(month: string): RawReportMonth {
  return {
    month,
    received: 0,
    evaluated: 0,
    aboveNorm: { aanmelding: 0, behandeling: 0, totaal: 0 },
    tasksCreated: 0,
    stillOpen: 0,
    outcomes: Object.fromEntries(REPORT_OUTCOMES.map((o) => [o, 0])) as Record<ReportOutcome, number>,
    contactWorkingDays: [],
    contactedOnTime: 0,
    weeksSaved: { total: 0, tasks: 0 },
    providersReferredTo: 0,
    providersWithoutCurrentFigures: 0,
    providersNotInRegistry: 0,
    accuracy: { run: null, measuredCells: 0, flaggedCells: 0 },
  };
}
