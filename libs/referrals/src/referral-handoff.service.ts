/**
 * Hands referrals that need an evaluation to the worker. Postgres is the source of truth: a
 * referral is `pending` until an evaluation has been stored for it — after intake, and again
 * whenever something asks for a re-evaluation (new figures, a new norm set, a policy change, the
 * daily sweep). Job data is referral ids only; the worker evaluates only rows that are still
 * pending, so a second job for the same referral is a no-op. The sweeper re-enqueues anything
 * still pending after a delay, which covers a Redis restart or flush, or a crash between commit
 * and enqueue.
 */
import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { QUEUE_NAMES, QueueService } from '@app/platform/queue/queue.service';
import { APP_CONFIG } from '@app/platform/platform.tokens';
import type { AppConfig } from '@app/platform/config/config';
import type { PendingReason } from './referral.entity';

export const EVALUATE_REFERRALS_JOB = 'evaluate-referrals';

export interface EvaluateReferralsJob {
  referralIds: string[];
}

@Injectable()
export class ReferralHandoffService {
  private readonly logger = new Logger(ReferralHandoffService.name);

  constructor(
    private readonly db: DataSource,
    private readonly queues: QueueService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Enqueues after commit, in jobs of at most EVALUATION_BATCH_SIZE ids. A job for one referral
   * has the referral id as job id; a job for several has a hash of its ids (plus `round`, which a
   * re-evaluation sets so that it is not swallowed by a finished job of the same ids). Never
   * throws: a failed enqueue is the sweeper's to repair.
   */
  async enqueue(referralIds: string[], round = ''): Promise<number> {
    if (referralIds.length === 0) return 0;
    const size = this.config.evaluation.batchSize;
    const jobs = [];
    for (let i = 0; i < referralIds.length; i += size) {
      const ids = referralIds.slice(i, i + size);
      const jobId = ids.length === 1 && round === '' ? ids[0] : `b-${createHash('sha256').update(`${round}|${ids.join(',')}`).digest('hex').slice(0, 40)}`;
      jobs.push({
        name: EVALUATE_REFERRALS_JOB,
        data: { referralIds: ids } satisfies EvaluateReferralsJob,
        opts: {
          jobId,
          attempts: 5,
          backoff: { type: 'exponential', delay: 1000 },
          // Removed when done either way: Postgres keeps the state, the sweeper retries.
          removeOnComplete: true,
          removeOnFail: true,
        },
      });
    }
    try {
      await this.queues.queue(QUEUE_NAMES.evaluateReferral).addBulk(jobs);
      return referralIds.length;
    } catch (e) {
      this.logger.warn({ msg: 'enqueue failed; the sweeper will retry', count: referralIds.length, error: (e as Error).message });
      return 0;
    }
  }

  /**
   * Sets evaluated referrals matching `where` back to pending (for `reason`) and enqueues them.
   * `where` is an SQL condition over the alias `r` with `$n` parameters starting at $2.
   * Returns how many were marked.
   */
  async requestReevaluation(reason: PendingReason, where: string, params: unknown[]): Promise<number> {
    // TypeORM answers an UPDATE … RETURNING with [rows, affected].
    const [rows]: [{ id: string }[], number] = await this.db.query(
      `UPDATE referral r SET status = 'pending', pending_reason = $1, status_changed_at = now()
        WHERE r.status = 'evaluated' AND (${where})
        RETURNING r.id`,
      [reason, ...params],
    );
    if (rows.length > 0) {
      this.logger.log({ msg: 're-evaluation requested', reason, count: rows.length });
      await this.enqueue(
        rows.map((r) => r.id),
        `${reason}:${Date.now()}`,
      );
    }
    return rows.length;
  }

  /** Re-enqueues referrals pending for longer than `delaySeconds`. Returns how many it found. */
  async sweep(delaySeconds: number, limit = 5000): Promise<number> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM referral
        WHERE status = 'pending' AND status_changed_at < now() - make_interval(secs => $1)
        ORDER BY status_changed_at LIMIT $2`,
      [delaySeconds, limit],
    );
    if (rows.length > 0) {
      this.logger.log({ msg: 'sweeper re-enqueues pending referrals', count: rows.length });
      await this.enqueue(
        rows.map((r) => r.id),
        'sweep',
      );
    }
    return rows.length;
  }
}
