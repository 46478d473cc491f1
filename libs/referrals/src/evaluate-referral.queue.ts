/**
 * The `evaluate-referral` queue: referrals whose decision is wanted (see ReferralHandoffService).
 * Job data are referral ids only. Produced here — after intake, after every request for new
 * decisions, by the sweeper — and consumed by the worker (apps/worker/src/jobs/evaluate-referral.consumer.ts),
 * which evaluates only the referrals still pending, so a repeated job is a no-op.
 */
import { createHash } from 'node:crypto';
import { defineQueue, QueueService } from '@app/platform';

export interface EvaluateReferralsJob {
  referralIds: string[];
}

export const EVALUATE_REFERRAL_QUEUE = defineQueue<EvaluateReferralsJob>('evaluate-referral');
export const EVALUATE_REFERRALS_JOB = 'evaluate-referrals';

/**
 * Enqueues jobs of at most `batchSize` ids. A job for one referral has the referral id as job id;
 * a job for several has a hash of its ids (plus `round`, which a re-evaluation sets so that it is
 * not swallowed by a finished job of the same ids). Throws when Redis refuses; the caller decides
 * what a failed hand-over means (the handoff service leaves it to the sweeper).
 */
export async function enqueueEvaluations(queues: QueueService, referralIds: string[], batchSize: number, round = ''): Promise<void> {
  const jobs = [];
  for (let i = 0; i < referralIds.length; i += batchSize) {
    const ids = referralIds.slice(i, i + batchSize);
    const jobId =
      ids.length === 1 && round === ''
        ? ids[0]
        : `b-${createHash('sha256')
            .update(`${round}|${ids.join(',')}`)
            .digest('hex')
            .slice(0, 40)}`;
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
  await queues.queue(EVALUATE_REFERRAL_QUEUE).addBulk(jobs);
}
