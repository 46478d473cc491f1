/**
 * Linkage runs in the worker: on-demand runs arrive as `ttp-linkage` jobs carrying the run id;
 * the nightly run comes from a BullMQ job scheduler (TTP_LINKAGE_CRON, Europe/Amsterdam time).
 * The scheduler is upserted at start and again every ten minutes, so that a Redis flush loses at
 * most one night; a timer also carries out runs whose job was lost (queued in Postgres, never
 * delivered) and runs again those a process that died left running (failed after 3 attempts).
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import type IORedis from 'ioredis';
import { APP_CONFIG, AppConfig, createRedis, JobMetrics, QUEUE_NAMES, QueueService } from '@app/platform';
import { LinkageRun, LinkageService } from '@app/ttp';

export const NIGHTLY_SCHEDULER_ID = 'ttp-linkage-nightly';
export const LINKAGE_TIME_ZONE = 'Europe/Amsterdam';
const RESCHEDULE_MS = 10 * 60 * 1000;
/** A queued run whose job has not started it within this time is started by the timer. */
const LOST_JOB_SECONDS = 60;

@Injectable()
export class LinkageProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LinkageProcessor.name);
  private worker?: Worker<{ runId?: string }>;
  private connection?: IORedis;
  private timers: NodeJS.Timeout[] = [];
  private ticking?: Promise<unknown>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly linkage: LinkageService,
    private readonly queues: QueueService,
    private readonly jobMetrics: JobMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.connection = createRedis(this.config.redisUrl, 'worker');
    this.connection.on('error', (e) => this.logger.warn({ msg: 'redis connection error', error: e.message }));
    this.worker = new Worker<{ runId?: string }>(
      QUEUE_NAMES.ttpLinkage,
      this.jobMetrics.timed(QUEUE_NAMES.ttpLinkage, (job: Job<{ runId?: string }>) => this.process(job)),
      {
        connection: this.connection,
        prefix: this.config.queuePrefix,
        concurrency: 1,
        // A run over a million entries takes seconds; the lock must outlast it comfortably.
        lockDuration: 5 * 60 * 1000,
      },
    );
    this.worker.on('failed', (job, e) => this.logger.warn({ msg: 'job failed', queue: QUEUE_NAMES.ttpLinkage, jobId: job?.id, error: e.message }));
    this.worker.on('error', (e) => this.logger.warn({ msg: 'worker error', error: e.message }));
    void this.schedule();
    this.timers.push(setInterval(() => void this.schedule(), RESCHEDULE_MS));
    this.timers.push(setInterval(() => void this.tick(), this.config.sweeper.intervalSeconds * 1000));
  }

  async process(job: Job<{ runId?: string }>): Promise<Pick<LinkageRun, 'id' | 'status' | 'sameAs'>> {
    const run = job.data?.runId ? await this.linkage.execute(job.data.runId) : await this.linkage.runNow('nightly', 'scheduler');
    return { id: run.id, status: run.status, sameAs: run.sameAs };
  }

  /** Puts the nightly scheduler in Redis (or removes it when TTP_LINKAGE_CRON=off). */
  async schedule(): Promise<void> {
    const queue = this.queues.queue(QUEUE_NAMES.ttpLinkage);
    try {
      if (!this.config.ttp.linkageCron) {
        await queue.removeJobScheduler(NIGHTLY_SCHEDULER_ID);
        return;
      }
      await queue.upsertJobScheduler(
        NIGHTLY_SCHEDULER_ID,
        { pattern: this.config.ttp.linkageCron, tz: LINKAGE_TIME_ZONE },
        { name: 'nightly', data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
      );
    } catch (e) {
      this.logger.warn({ msg: 'nightly linkage not scheduled (will retry)', error: (e as Error).message });
    }
  }

  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = this.linkage.runQueued(LOST_JOB_SECONDS).catch((e) => this.logger.warn({ msg: 'linkage housekeeping failed', error: (e as Error).message }));
    try {
      await this.ticking;
    } finally {
      this.ticking = undefined;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.ticking;
    await this.worker?.close();
    this.connection?.disconnect();
  }
}
