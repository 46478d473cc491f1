/**
 * What leaves the TTP, read from the newest finished linkage run: the insurer report
 * (aggregates, suppressed when the run made it), a provider's own feedback, and cleaned waiting
 * times — suppressed for everyone but the provider they are about. Nothing here returns a
 * pseudonym.
 */
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig, AuditService, Principal } from '@app/platform';
import type { Count, InsurerReport } from './insurer-report';

export interface RunReference {
  runId: string;
  asOf: string | null;
  keyVersion: number | null;
  finishedAt: string;
  /** Providers whose snapshot was made under an older key and was left out until they re-send. */
  awaitingResend: { agb: string; asOf: string; keyVersion: number }[];
}

export interface FeedbackEntry {
  clientRef: string;
  /** On how many other providers' lists the same person waits. */
  otherLists: number;
  /** The stages they wait at elsewhere (never where). */
  otherStages: string[];
}

export interface CleanedWait {
  agb: string;
  location: string;
  diagnosisGroup: string;
  waitingIntake: Count;
  waitingTreatment: Count;
  /** Weeks waited so far; null when the stage has fewer than 5 people (or none) and the reader is not the provider. */
  intake: { medianWeeks: number | null; p80Weeks: number | null };
  treatment: { medianWeeks: number | null; p80Weeks: number | null };
  declared: { month: string; aanmeldWeeks: number; behandelWeeks: number } | null;
  /** The declared wait differs from the measured median by more than the flag threshold (weeks). */
  flagged: boolean;
}

/** Measured figures for the evaluation, next to the declared ones. */
export interface MeasuredWait {
  location: string;
  waitingIntake: number;
  waitingTreatment: number;
  intakeMedianWeeks: number | null;
  treatmentMedianWeeks: number | null;
  flagged: boolean;
  runId: string;
  asOf: string | null;
}

const SMALL = 5;

/** A DataSource or a transaction's manager: anything with query(). */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<any>;
}
const num = (v: string | null) => (v === null ? null : Number(v));

@Injectable()
export class TtpOutputsService {
  constructor(
    private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  /** The newest finished run, resolved to the run whose outputs stand for it; null before the first. */
  async latest(db: Queryable = this.db): Promise<RunReference | null> {
    const [row] = await db.query(
      `SELECT coalesce(r.same_as, r.id) AS "runId", to_char(r.as_of, 'YYYY-MM-DD') AS "asOf", r.key_version AS "keyVersion",
              r.finished_at AS "finishedAt", r.awaiting_resend AS "awaitingResend"
         FROM ttp.run r WHERE r.status = 'done' ORDER BY r.finished_at DESC, r.id LIMIT 1`,
    );
    if (!row) return null;
    row.awaitingResend = (row.awaitingResend ?? []).map((i: { agb: string; asOf: string; keyVersion: number }) => ({ agb: i.agb, asOf: i.asOf, keyVersion: i.keyVersion }));
    return row;
  }

  private async latestOrFail(db: Queryable = this.db): Promise<RunReference> {
    const run = await this.latest(db);
    if (!run)
      throw new NotFoundException({
        message: 'No linkage run has finished yet',
        details: [{ field: '(run)', reason: 'ask the TTP operator to start one, or wait for the nightly run' }],
      });
    return run;
  }

  async insurerReport(): Promise<{ run: RunReference } & InsurerReport> {
    const run = await this.latestOrFail();
    const [{ report }] = await this.db.query(`SELECT report FROM ttp.run WHERE id = $1`, [run.runId]);
    return { run, ...report };
  }

  /**
   * A provider's own entries whose person also waits elsewhere; its own snapshot must have been in
   * the run. Only people established on its list (in two snapshots at least TTP_FEEDBACK_MIN_DAYS
   * apart) are in the run's feedback at all (linkage-compute.ts). Each read is in the access log,
   * with how many people were disclosed and their pseudonymous references (never the client
   * references, which are the provider's free text).
   */
  async feedback(caller: Principal & { agb: string }): Promise<{ run: RunReference; linked: boolean; entries: FeedbackEntry[] }> {
    const agb = caller.agb;
    // One snapshot of the database: a run finishing in between deletes the older run's feedback,
    // and the answer would be that run with no entries. The access-log entry is written in the
    // same transaction: no disclosure without its entry.
    return this.db.transaction('REPEATABLE READ', async (m) => {
      const run = await this.latestOrFail(m);
      const [{ linked }] = await m.query(`SELECT coalesce(inputs @> $2::jsonb, false) AS linked FROM ttp.run WHERE id = $1`, [run.runId, JSON.stringify([{ agb }])]);
      const rows: (FeedbackEntry & { personRef: string | null })[] = await m.query(
        `SELECT client_ref AS "clientRef", other_lists AS "otherLists", other_stages AS "otherStages", person_ref AS "personRef"
           FROM ttp.run_feedback WHERE run_id = $1 AND agb = $2 ORDER BY client_ref`,
        [run.runId, agb],
      );
      const personRefs = [...new Set(rows.map((r) => r.personRef ?? 'unknown'))].sort();
      await this.audit.record(
        [
          {
            actor: caller,
            organisation: agb,
            personIndex: null,
            action: 'read',
            resource: `ttp/feedback/${run.runId}`,
            purpose: 'zorgbemiddeling',
            outcome: 'allowed',
            details: { disclosedEntries: rows.length, disclosedPeople: personRefs.length, personRefs, linked },
          },
        ],
        m,
      );
      const entries = rows.map(({ clientRef, otherLists, otherStages }) => ({ clientRef, otherLists, otherStages }));
      return { run: { ...run, awaitingResend: run.awaitingResend.filter((a) => a.agb === agb) }, linked, entries };
    });
  }

  /**
   * Cleaned waiting times. `ownAgb` set: that provider's cells, in full. Otherwise all cells, with
   * counts of 1–4 as "<5", counts hidden to protect a "<5" of this output or of the insurer report
   * as "x" (the run suppressed both in one pass), a cell that could not be protected as null, and
   * no percentiles for a stage of fewer than 5 people (a median of one person is that person's wait).
   */
  async cleanedWaits(filter: { ownAgb?: string; agb?: string; diagnosisGroup?: string }): Promise<{ run: RunReference; cells: CleanedWait[] }> {
    const run = await this.latestOrFail();
    const agb = filter.ownAgb ?? filter.agb ?? null;
    const rows = await this.db.query(
      `SELECT agb, location, diagnosis_group AS "diagnosisGroup", waiting_intake AS wi, waiting_treatment AS wt,
              intake_median_weeks AS i50, intake_p80_weeks AS i80, treatment_median_weeks AS t50, treatment_p80_weeks AS t80,
              to_char(declared_month, 'YYYY-MM') AS month, declared_aanmeld_weeks AS da, declared_behandel_weeks AS db, flagged,
              intake_suppressed AS si, treatment_suppressed AS st
         FROM ttp.run_cleaned_wait
        WHERE run_id = $1 AND ($2::bpchar IS NULL OR agb = $2::bpchar) AND ($3::text IS NULL OR diagnosis_group = $3)
        ORDER BY agb, location, diagnosis_group`,
      [run.runId, agb, filter.diagnosisGroup ?? null],
    );
    const full = filter.ownAgb !== undefined;
    const count = (n: number, suppressed: string | null): Count => {
      if (full) return n;
      if (suppressed === 'withheld') return null;
      if (suppressed === 'secondary') return 'x';
      // A count of 1–4 is "<5" whatever the row says (rows of runs before joint suppression say nothing).
      return suppressed === 'primary' || (n >= 1 && n < SMALL) ? '<5' : n;
    };
    const pct = (n: number, v: string | null) => (full || n >= SMALL ? num(v) : null);
    const run2 = full ? { ...run, awaitingResend: run.awaitingResend.filter((a) => a.agb === filter.ownAgb) } : run;
    return {
      run: run2,
      cells: rows.map((r: Record<string, string | number | boolean | null>) => ({
        agb: r.agb,
        location: r.location,
        diagnosisGroup: r.diagnosisGroup,
        waitingIntake: count(r.wi as number, r.si as string | null),
        waitingTreatment: count(r.wt as number, r.st as string | null),
        intake: { medianWeeks: pct(r.wi as number, r.i50 as string | null), p80Weeks: pct(r.wi as number, r.i80 as string | null) },
        treatment: { medianWeeks: pct(r.wt as number, r.t50 as string | null), p80Weeks: pct(r.wt as number, r.t80 as string | null) },
        declared: r.month === null ? null : { month: r.month, aanmeldWeeks: Number(r.da), behandelWeeks: Number(r.db) },
        flagged: r.flagged,
      })),
    };
  }

  /** The run whose outputs stand for the newest finished run; null before the first. */
  async latestRunId(q: Queryable = this.db): Promise<{ runId: string; asOf: string | null } | null> {
    const [row] = await q.query(
      `SELECT coalesce(same_as, id) AS "runId", to_char(as_of, 'YYYY-MM-DD') AS "asOf" FROM ttp.run WHERE status = 'done' ORDER BY finished_at DESC, id LIMIT 1`,
    );
    return row ?? null;
  }

  /**
   * The run whose outputs stood for the newest run finished before `before` — what the TTP had
   * measured by then (the mediation report asks this per month end); null when none had finished.
   */
  async runFinishedBefore(before: Date, q: Queryable = this.db): Promise<{ runId: string; asOf: string | null; finishedAt: string } | null> {
    const [row] = await q.query(
      `SELECT coalesce(same_as, id) AS "runId", to_char(as_of, 'YYYY-MM-DD') AS "asOf", finished_at AS "finishedAt"
         FROM ttp.run WHERE status = 'done' AND finished_at < $1 ORDER BY finished_at DESC, id LIMIT 1`,
      [before],
    );
    return row ? { runId: row.runId, asOf: row.asOf, finishedAt: new Date(row.finishedAt).toISOString() } : null;
  }

  /**
   * For the evaluation: a run's measured figures per provider and diagnosis group
   * (`${agb}|${group}` → its locations' cells; missing when the run had none).
   */
  async measuredFor(runId: string, pairs: { agb: string; diagnosisGroup: string }[], q: Queryable = this.db): Promise<Map<string, MeasuredWait[]>> {
    const found = new Map<string, MeasuredWait[]>();
    if (pairs.length === 0) return found;
    const rows = await q.query(
      `SELECT c.agb, c.diagnosis_group AS dg, c.location, c.waiting_intake AS wi, c.waiting_treatment AS wt,
              c.intake_median_weeks AS i50, c.treatment_median_weeks AS t50, c.flagged, to_char(r.as_of, 'YYYY-MM-DD') AS "asOf"
         FROM ttp.run_cleaned_wait c JOIN ttp.run r ON r.id = c.run_id
         JOIN jsonb_to_recordset($2::jsonb) AS p(agb text, "diagnosisGroup" text) ON c.agb = p.agb::bpchar AND c.diagnosis_group = p."diagnosisGroup"
        WHERE c.run_id = $1 ORDER BY c.agb, c.diagnosis_group, c.location`,
      [runId, JSON.stringify(pairs)],
    );
    for (const r of rows) {
      const key = `${r.agb}|${r.dg}`;
      if (!found.has(key)) found.set(key, []);
      found.get(key)!.push({
        location: r.location,
        waitingIntake: r.wi,
        waitingTreatment: r.wt,
        intakeMedianWeeks: num(r.i50),
        treatmentMedianWeeks: num(r.t50),
        flagged: r.flagged,
        runId,
        asOf: r.asOf,
      });
    }
    return found;
  }

  get flagWeeks(): number {
    return this.config.ttp.flagWeeks;
  }
}
