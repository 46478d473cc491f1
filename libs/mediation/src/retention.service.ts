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
import { DataSource } from 'typeorm';
import { amsterdamDate, amsterdamHour } from '@app/core';
import { APP_CONFIG, AppConfig, AuditService } from '@app/platform';

const BATCH = 500;

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

  /** Erases everything due on `now`, in batches of one transaction each. */
  async eraseDue(now = new Date()): Promise<RetentionOutcome> {
    const outcome: RetentionOutcome = { afterTask: 0, withoutTask: 0 };
    const horizonDay = amsterdamDate(new Date(now.getTime() - this.config.evaluation.horizonWeeks * 7 * 86_400_000));
    const closedBefore = new Date(now.getTime() - this.config.retention.daysAfterClose * 86_400_000);
    for (const reason of ['afterTask', 'withoutTask'] as const) {
      const due =
        reason === 'afterTask'
          ? `EXISTS (SELECT 1 FROM mediation_task t WHERE t.referral_id = r.id AND t.status = 'closed' AND t.outcome <> 'phase-withdrawn' AND t.closed_at < $1)
             AND NOT EXISTS (SELECT 1 FROM mediation_task t WHERE t.referral_id = r.id AND (t.status <> 'closed' OR t.closed_at >= $1))`
          : // A task the phase rule withdrew counts as none: the referral is re-evaluated until the horizon, as one without a task.
            `r.status = 'evaluated' AND r.verwijsdatum < $1::date
             AND NOT EXISTS (SELECT 1 FROM mediation_task t WHERE t.referral_id = r.id AND t.outcome IS DISTINCT FROM 'phase-withdrawn')`;
      for (;;) {
        const erased = await this.db.transaction(async (tx) => {
          const rows: { id: string; uzovi: string; audit_index: string | null }[] = await tx.query(
            `SELECT r.id, r.uzovi, r.audit_index FROM referral r
              WHERE r.status IN ('pending', 'evaluated') AND ${due}
              ORDER BY r.id LIMIT ${BATCH} FOR UPDATE OF r SKIP LOCKED`,
            [reason === 'afterTask' ? closedBefore : horizonDay],
          );
          if (rows.length === 0) return 0;
          await tx.query(
            `UPDATE referral SET status = 'erased', erased_at = $2, status_changed_at = $2,
                    bsn_ciphertext = NULL, bsn_key_id = NULL, bsn_blind_index = NULL, content_fingerprint = NULL, dsm_code = NULL, audit_index = NULL
              WHERE id = ANY($1::uuid[])`,
            [rows.map((r) => r.id), now],
          );
          await this.audit.record(
            rows.map((r) => ({
              actor: { subject: 'retention', role: 'system' as const, organisation: r.uzovi },
              personIndex: r.audit_index,
              action: 'erase' as const,
              resource: `referral/${r.id}`,
              purpose: 'retention' as const,
              outcome: 'allowed' as const,
              details: { reason: reason === 'afterTask' ? 'task closed' : 'can no longer lead to mediation' },
            })),
            tx,
          );
          return rows.length;
        });
        outcome[reason] += erased;
        if (erased < BATCH) break;
      }
    }
    if (outcome.afterTask + outcome.withoutTask > 0) this.logger.log({ msg: 'retention: personal data erased', ...outcome });
    return outcome;
  }
}
