/**
 * Hands stored referrals to the worker. Postgres is the source of truth: a referral stays
 * `pending` until the worker takes it over, the job id is the referral id (so a second enqueue
 * is a no-op), and the sweeper re-enqueues anything still pending after a delay — which covers
 * a Redis restart or flush, or a crash between commit and enqueue. Job data is the id only.
 */
import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { QUEUE_NAMES, QueueService } from '@app/platform/queue/queue.service';

export const EVALUATE_REFERRAL_JOB = 'evaluate-referral';

export interface EvaluateReferralJob {
  referralId: string;
}

@Injectable()
export class ReferralHandoffService {
  private readonly logger = new Logger(ReferralHandoffService.name);

  constructor(
    private readonly db: DataSource,
    private readonly queues: QueueService,
  ) {}

  /** Enqueues after commit. Never throws: a failed enqueue is the sweeper's to repair. */
  async enqueue(referralIds: string[]): Promise<number> {
    if (referralIds.length === 0) return 0;
    try {
      await this.queues.queue(QUEUE_NAMES.evaluateReferral).addBulk(
        referralIds.map((referralId) => ({
          name: EVALUATE_REFERRAL_JOB,
          data: { referralId } satisfies EvaluateReferralJob,
          opts: {
            jobId: referralId,
            attempts: 5,
            backoff: { type: 'exponential', delay: 1000 },
            // Removed when done either way: Postgres keeps the state, the sweeper retries.
            removeOnComplete: true,
            removeOnFail: true,
          },
        })),
      );
      return referralIds.length;
    } catch (e) {
      this.logger.warn({ msg: 'enqueue failed; the sweeper will retry', count: referralIds.length, error: (e as Error).message });
      return 0;
    }
  }

  /**
   * The worker's first step: moves a pending referral to `ready-for-evaluation`. Idempotent:
   * returns false when the referral was already taken over (or no longer exists).
   */
  async takeOver(referralId: string): Promise<boolean> {
    const [, affected] = await this.db.query(
      `UPDATE referral SET status = 'ready-for-evaluation', status_changed_at = now()
        WHERE id = $1 AND status = 'pending'`,
      [referralId],
    );
    return affected === 1;
  }

  /** Re-enqueues referrals pending for longer than `delaySeconds`. Returns how many it found. */
  async sweep(delaySeconds: number, limit = 5000): Promise<number> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM referral
        WHERE status = 'pending' AND received_at < now() - make_interval(secs => $1)
        ORDER BY received_at LIMIT $2`,
      [delaySeconds, limit],
    );
    if (rows.length > 0) {
      this.logger.log({ msg: 'sweeper re-enqueues pending referrals', count: rows.length });
      await this.enqueue(rows.map((r) => r.id));
    }
    return rows.length;
  }
}
