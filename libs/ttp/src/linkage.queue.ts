/**
 * The `ttp-linkage` queue: linkage runs for the worker. An on-demand run is a job carrying the run
 * id only (LinkageService.requestOnDemand); the nightly run comes from a BullMQ job scheduler with
 * no data (TTP_LINKAGE_CRON, Europe/Amsterdam), which the worker puts in Redis at start and every
 * ten minutes, so a Redis flush loses at most one night. Consumed by
 * apps/worker/src/jobs/ttp-linkage.consumer.ts.
 */
import type { Queue } from 'bullmq';
import { defineQueue, QueueService } from '@app/platform';

export interface LinkageJob {
  /** The run to carry out; absent for the nightly run, which is requested when it starts. */
  runId?: string;
}

export const TTP_LINKAGE_QUEUE = defineQueue<LinkageJob>('ttp-linkage');
export const NIGHTLY_SCHEDULER_ID = 'ttp-linkage-nightly';
export const LINKAGE_TIME_ZONE = 'Europe/Amsterdam';

/** Queues the run (its id is the job id, so a second enqueue of one run is a no-op). Throws when Redis refuses. */
export async function enqueueLinkageRun(queues: QueueService, runId: string): Promise<void> {
  await queues.queue(TTP_LINKAGE_QUEUE).add('link', { runId }, { jobId: runId, removeOnComplete: 100, removeOnFail: 100 });
}

/** Puts the nightly scheduler in Redis for `cron`, or removes it when `cron` is empty (TTP_LINKAGE_CRON=off). */
export async function scheduleNightlyLinkage(queue: Queue<LinkageJob>, cron: string): Promise<void> {
  if (!cron) {
    await queue.removeJobScheduler(NIGHTLY_SCHEDULER_ID);
    return;
  }
  await queue.upsertJobScheduler(NIGHTLY_SCHEDULER_ID, { pattern: cron, tz: LINKAGE_TIME_ZONE }, { name: 'nightly', data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } });
}
