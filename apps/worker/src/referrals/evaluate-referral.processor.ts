/**
 * Consumes `evaluate-referral` jobs (data: the referral id only) and runs the pending-referral
 * sweeper on a timer. The sweeper is a timer in this process rather than a BullMQ scheduler on
 * purpose: a scheduler lives in Redis and would vanish with a Redis flush, which is exactly the
 * failure the sweeper exists to repair.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import type IORedis from 'ioredis';
import { APP_CONFIG, AppConfig, createRedis, QUEUE_NAMES } from '@app/platform';
import { EvaluateReferralJob, ReferralHandoffService } from '@app/referrals';

@Injectable()
export class EvaluateReferralProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(EvaluateReferralProcessor.name);
  private worker?: Worker<EvaluateReferralJob>;
  private connection?: IORedis;
  private sweepTimer?: NodeJS.Timeout;
  private sweeping?: Promise<unknown>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly handoff: ReferralHandoffService,
  ) {}

  onApplicationBootstrap(): void {
    this.connection = createRedis(this.config.redisUrl, 'worker');
    this.connection.on('error', (e) => this.logger.warn({ msg: 'redis connection error', error: e.message }));
    this.worker = new Worker<EvaluateReferralJob>(QUEUE_NAMES.evaluateReferral, (job) => this.process(job), {
      connection: this.connection,
      prefix: this.config.queuePrefix,
      concurrency: this.config.workerConcurrency,
    });
    this.worker.on('failed', (job, e) => this.logger.warn({ msg: 'job failed', queue: QUEUE_NAMES.evaluateReferral, jobId: job?.id, error: e.message }));
    this.worker.on('error', (e) => this.logger.warn({ msg: 'worker error', error: e.message }));
    this.sweepTimer = setInterval(() => void this.sweepOnce(), this.config.sweeper.intervalSeconds * 1000);
    this.logger.log({ msg: 'worker started', queue: QUEUE_NAMES.evaluateReferral, concurrency: this.config.workerConcurrency });
  }

  async process(job: Job<EvaluateReferralJob>): Promise<{ takenOver: boolean }> {
    const takenOver = await this.handoff.takeOver(job.data.referralId);
    if (!takenOver) this.logger.debug({ msg: 'referral already taken over or gone', referralId: job.data.referralId });
    return { takenOver };
  }

  /** One sweep; overlapping ticks are skipped. Errors are logged: the next tick tries again. */
  async sweepOnce(): Promise<number> {
    if (this.sweeping) return 0;
    const run = this.handoff.sweep(this.config.sweeper.delaySeconds).catch((e) => {
      this.logger.warn({ msg: 'sweep failed', error: (e as Error).message });
      return 0;
    });
    this.sweeping = run;
    try {
      return await run;
    } finally {
      this.sweeping = undefined;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.sweeping;
    // close() waits for jobs in progress to finish before resolving.
    await this.worker?.close();
    this.connection?.disconnect();
  }
}
