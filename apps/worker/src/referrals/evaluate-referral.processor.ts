/**
 * Consumes `evaluate-referral` jobs (data: referral ids only) and evaluates those still pending,
 * and on timers sweeps pending referrals, releases stale task claims, starts the once-a-day
 * re-evaluation and retention run, seals the access log and catches up with registry changes and
 * linkage runs. They are
 * timers in this process rather than BullMQ schedulers on purpose: a scheduler lives in Redis and
 * would vanish with a Redis flush, which is exactly the failure the sweeper exists to repair; the
 * daily run claims its day in Postgres, so several workers run it once.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import type IORedis from 'ioredis';
import { APP_CONFIG, AppConfig, AuditService, createRedis, JobMetrics, QUEUE_NAMES } from '@app/platform';
import { BatchOutcome, ReevaluationService, ReferralEvaluationService, RetentionService, WorklistService } from '@app/mediation';
import { EvaluateReferralsJob, ReferralHandoffService } from '@app/referrals';

@Injectable()
export class EvaluateReferralProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(EvaluateReferralProcessor.name);
  private worker?: Worker<EvaluateReferralsJob>;
  private connection?: IORedis;
  private sweepTimer?: NodeJS.Timeout;
  private sealTimer?: NodeJS.Timeout;
  private catchUpTimer?: NodeJS.Timeout;
  private sealing?: Promise<unknown>;
  private lastCheckpoint = 0;
  private catchingUp?: Promise<unknown>;
  private sweeping?: Promise<unknown>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly handoff: ReferralHandoffService,
    private readonly evaluation: ReferralEvaluationService,
    private readonly reevaluation: ReevaluationService,
    private readonly worklist: WorklistService,
    private readonly retention: RetentionService,
    private readonly audit: AuditService,
    private readonly jobMetrics: JobMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.connection = createRedis(this.config.redisUrl, 'worker');
    this.connection.on('error', (e) => this.logger.warn({ msg: 'redis connection error', error: e.message }));
    this.worker = new Worker<EvaluateReferralsJob>(
      QUEUE_NAMES.evaluateReferral,
      this.jobMetrics.timed(QUEUE_NAMES.evaluateReferral, (job: Job<EvaluateReferralsJob>) => this.process(job)),
      {
        connection: this.connection,
        prefix: this.config.queuePrefix,
        concurrency: this.config.workerConcurrency,
      },
    );
    this.worker.on('failed', (job, e) => this.logger.warn({ msg: 'job failed', queue: QUEUE_NAMES.evaluateReferral, jobId: job?.id, error: e.message }));
    this.worker.on('error', (e) => this.logger.warn({ msg: 'worker error', error: e.message }));
    this.sweepTimer = setInterval(() => void this.sweepOnce(), this.config.sweeper.intervalSeconds * 1000);
    // New access-log entries are sealed into the hash chain about every second.
    this.sealTimer = setInterval(() => void this.sealAccessLog(), 1000);
    // Registry changes and new linkage runs re-evaluate open referrals within EVALUATION_CATCH_UP_SECONDS.
    if (this.config.evaluation.catchUpSeconds > 0) this.catchUpTimer = setInterval(() => void this.catchUpOnce(), this.config.evaluation.catchUpSeconds * 1000);
    this.logger.log({ msg: 'worker started', queue: QUEUE_NAMES.evaluateReferral, concurrency: this.config.workerConcurrency });
  }

  async process(job: Job<EvaluateReferralsJob>): Promise<BatchOutcome> {
    const ids = Array.isArray(job.data?.referralIds) ? job.data.referralIds : [];
    const outcome = await this.evaluation.evaluatePending(ids);
    this.logger.debug({ msg: 'evaluated', jobId: job.id, ...outcome });
    return outcome;
  }

  /**
   * One tick: the daily re-evaluation when it is due, stale claims back to the queue, then the
   * sweep. Overlapping ticks are skipped; errors are logged and the next tick tries again.
   */
  async sweepOnce(): Promise<number> {
    if (this.sweeping) return 0;
    const run = (async () => {
      await this.reevaluation.dailyIfDue();
      await this.retention.runIfDue();
      await this.worklist.releaseStale();
      return this.handoff.sweep(this.config.sweeper.delaySeconds);
    })().catch((e) => {
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

  /** Asks for new decisions when the registry or the newest linkage run moved (see ReevaluationService.catchUp). */
  async catchUpOnce(): Promise<void> {
    if (this.catchingUp) return;
    this.catchingUp = this.reevaluation.catchUp().catch((e) => this.logger.warn({ msg: 'catch-up failed (the next tick retries)', error: (e as Error).message }));
    try {
      await this.catchingUp;
    } finally {
      this.catchingUp = undefined;
    }
  }

  /**
   * Seals new access-log entries into the chain, and every AUDIT_CHECKPOINT_SECONDS signs the
   * chain head (AuditService.checkpoint). Each checkpoint is logged as well: a copy outside the
   * database that whoever can rewrite the table cannot take back.
   */
  async sealAccessLog(): Promise<void> {
    if (this.sealing) return;
    this.sealing = (async () => {
      await this.audit.seal();
      if (Date.now() - this.lastCheckpoint < this.config.audit.checkpointSeconds * 1000) return;
      const c = await this.audit.checkpoint(this.config.audit.checkpointKey);
      if (!c) return; // another worker holds the seal lock: the next second retries
      this.lastCheckpoint = Date.now();
      this.logger.log({ msg: 'access-log checkpoint', checkpoint: c.id, seq: c.seq, hash: c.hash, signature: c.signature });
    })().catch((e) => this.logger.warn({ msg: 'access log not sealed (next second retries)', error: (e as Error).message }));
    try {
      await this.sealing;
    } finally {
      this.sealing = undefined;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.sweepTimer);
    clearInterval(this.sealTimer);
    clearInterval(this.catchUpTimer);
    await this.catchingUp;
    await this.sweeping;
    await this.sealing;
    // close() waits for jobs in progress to finish before resolving.
    await this.worker?.close();
    this.connection?.disconnect();
  }
}
