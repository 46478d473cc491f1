/**
 * Retention: personal data is kept only while it can serve the purpose it was given for. Once a
 * night (from RETENTION_HOUR, Europe/Amsterdam; the day claimed in daily_run so several workers
 * run it once) the referrals whose data served its purpose are erased the way a consent
 * withdrawal erases them — BSN ciphertext, key id, blind index, fingerprint, DSM code — and marked
 * `erased`:
 * - after a task: its task closed RETENTION_DAYS_AFTER_CLOSE days ago (and none is open);
 * - without a task: evaluated, no task, and referred longer ago than REEVALUATION_HORIZON_WEEKS
 *   — it is no longer re-evaluated, so it can no longer lead to mediation.
 * Each erasure is an access-log entry (the system, purpose retention); the run records how many
 * it erased for each reason in daily_run.details. The same run removes access-log entries older
 * than AUDIT_RETENTION_YEARS (at least five).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { amsterdamDate, amsterdamHour } from '@app/core';
import { APP_CONFIG, AppConfig, AuditService } from '@app/platform';
import { eraseForRetention, lockForRetention, ReferralReadsService } from '@app/referrals';

const BATCH = 500;

type Db = Pick<EntityManager, 'query'>;

/** A referral has at most one task (uq_mediation_task_referral): due once it closed long ago, other than by the phase rule. */
const CLOSED_LONG_AGO = `status = 'closed' AND closed_at < $1 AND outcome <> 'phase-withdrawn'`;

/** One page of referrals that may be due, and where the next page starts (null: none). */
interface Candidates {
  ids: string[];
  next: string | null;
}

export interface RetentionOutcome {
  afterTask: number;
  withoutTask: number;
  /** Access-log entries older than AUDIT_RETENTION_YEARS, removed (the chain's anchor moves). */
  accessLogPurged?: number;
}

@Injectable()
export class RetentionService {
  private readonly logger = new Logger(RetentionService.name);

  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly referrals: ReferralReadsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The nightly run, when it is due and no other worker ran it today. */
  async runIfDue(now = new Date()): Promise<RetentionOutcome | null> {
    const hour = amsterdamHour(now);
    if (!this.config.retention.enabled || hour < this.config.retention.hour) return null;
    const day = amsterdamDate(now);
    const claimed = await this.db.query(`INSERT INTO daily_run (kind, day) VALUES ('retention', $1) ON CONFLICT DO NOTHING RETURNING day`, [day]);
    if (claimed.length === 0) return null;
    const outcome: RetentionOutcome = {
      ...(await this.eraseDue(now)),
      accessLogPurged: await this.audit.purge(this.config.retention.auditYears, this.config.retention.databaseUrl),
    };
    await this.db.query(`UPDATE daily_run SET affected = $2, details = $3 WHERE kind = 'retention' AND day = $1`, [
      day,
      outcome.afterTask + outcome.withoutTask,
      JSON.stringify(outcome),
    ]);
    return outcome;
  }

  /**
   * Erases everything due on `now`, in batches of one transaction each. The tasks (this lib's)
   * say which referrals are due; the referrals' owner locks those still pending or evaluated and
   * erases them (eraseForRetention), in the same transaction as their access-log entries.
   */
  async eraseDue(now = new Date()): Promise<RetentionOutcome> {
    const outcome: RetentionOutcome = { afterTask: 0, withoutTask: 0 };
    const horizonDay = amsterdamDate(new Date(now.getTime() - this.config.evaluation.horizonWeeks * 7 * 86_400_000));
    const closedBefore = new Date(now.getTime() - this.config.retention.daysAfterClose * 86_400_000);
    for (const reason of ['afterTask', 'withoutTask'] as const) {
      for (let after: string | null = '00000000-0000-0000-0000-000000000000'; after !== null;) {
        const page: Candidates = reason === 'afterTask' ? await this.closedLongAgo(closedBefore, after) : await this.withoutTaskBefore(horizonDay, after);
        after = page.next;
        const candidates = page.ids;
        if (candidates.length === 0) continue;
        outcome[reason] += await this.db.transaction(async (tx) => {
          // Locked first, then checked again: a task command takes the referral's lock before it
          // changes the task, so what the check sees cannot change before the erasure commits.
          const locked = await lockForRetention(tx, candidates);
          const still = new Set(await (reason === 'afterTask' ? this.stillClosedLongAgo(tx, locked, closedBefore) : this.stillWithoutTask(tx, locked)));
          const erased = locked.filter((r) => still.has(r.id));
          await eraseForRetention(
            tx,
            erased.map((r) => r.id),
            now,
          );
          await this.audit.record(
            erased.map((r) => ({
              actor: { subject: 'retention', role: 'system' as const, organisation: r.uzovi },
              personIndex: r.auditIndex,
              action: 'erase' as const,
              resource: `referral/${r.id}`,
              purpose: 'retention' as const,
              outcome: 'allowed' as const,
              details: { reason: reason === 'afterTask' ? 'task closed' : 'can no longer lead to mediation' },
            })),
            tx,
          );
          return erased.length;
        });
      }
    }
    if (outcome.afterTask + outcome.withoutTask > 0) this.logger.log({ msg: 'retention: personal data erased', ...outcome });
    return outcome;
  }

  private async stillClosedLongAgo(tx: Db, locked: { id: string }[], closedBefore: Date): Promise<string[]> {
    if (locked.length === 0) return [];
    const rows: { referral_id: string }[] = await tx.query(`SELECT referral_id FROM mediation_task WHERE referral_id = ANY($2::uuid[]) AND ${CLOSED_LONG_AGO}`, [
      closedBefore,
      locked.map((r) => r.id),
    ]);
    return rows.map((r) => r.referral_id);
  }

  private async stillWithoutTask(tx: Db, locked: { id: string; status: string }[]): Promise<string[]> {
    // Still evaluated (a re-evaluation may have made it pending again) and still without a task.
    return this.withoutTask(
      tx,
      locked.filter((r) => r.status === 'evaluated').map((r) => r.id),
    );
  }

  /** Of these referrals, those without a task (a task the phase rule withdrew counts as none). */
  private async withoutTask(q: Db, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows: { referral_id: string }[] = await q.query(
      `SELECT referral_id FROM mediation_task WHERE referral_id = ANY($1::uuid[]) AND outcome IS DISTINCT FROM 'phase-withdrawn'`,
      [ids],
    );
    const withTask = new Set(rows.map((r) => r.referral_id));
    return ids.filter((id) => !withTask.has(id));
  }

  /** Referrals after `after` (id order, a page of BATCH) whose task closed before `closedBefore`, not by the phase rule; erased ones among them are passed over by lockForRetention. */
  private async closedLongAgo(closedBefore: Date, after: string): Promise<Candidates> {
    const rows: { referral_id: string }[] = await this.db.query(
      `SELECT referral_id FROM mediation_task WHERE referral_id > $2 AND ${CLOSED_LONG_AGO} ORDER BY referral_id LIMIT ${BATCH}`,
      [closedBefore, after],
    );
    const ids = rows.map((r) => r.referral_id);
    return { ids, next: ids.length < BATCH ? null : ids[ids.length - 1] };
  }

  /**
   * Of the evaluated referrals referred before the horizon after `after` (id order, a page of
   * BATCH), those without a task — a task the phase rule withdrew counts as none: the referral
   * was re-evaluated until the horizon, as one without a task.
   */
  private async withoutTaskBefore(horizonDay: string, after: string): Promise<Candidates> {
    const page = await this.referrals.evaluatedBefore(horizonDay, after, BATCH);
    return { ids: await this.withoutTask(this.db, page), next: page.length < BATCH ? null : page[page.length - 1] };
  }
}
