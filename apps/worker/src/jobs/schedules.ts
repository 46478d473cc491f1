/**
 * The worker's named recurring work (see job.ts). Each is small: the rule lives in the lib
 * service it calls.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig, AuditService, QueueService } from '@app/platform';
import { ReevaluationService, RetentionService, WorklistService } from '@app/mediation';
import { ReferralHandoffService } from '@app/referrals';
import { LinkageService, scheduleNightlyLinkage, TTP_LINKAGE_QUEUE } from '@app/ttp';
import type { Schedule } from './job';

const sweepInterval = (config: AppConfig) => config.sweeper.intervalSeconds * 1000;

/** Re-enqueues referrals still pending after SWEEPER_DELAY_SECONDS: a lost job, a Redis flush, a crash between commit and enqueue. */
@Injectable()
export class SweepPendingSchedule implements Schedule {
  readonly name = 'sweep-pending';
  constructor(
    private readonly handoff: ReferralHandoffService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}
  everyMs = sweepInterval;
  run() {
    return this.handoff.sweep(this.config.sweeper.delaySeconds);
  }
}

/** The once-a-day re-evaluation of open referrals (DAILY_REEVALUATION_HOUR; the day claimed in Postgres, so several workers run it once). */
@Injectable()
export class DailyReevaluationSchedule implements Schedule {
  readonly name = 'daily-reevaluation';
  constructor(private readonly reevaluation: ReevaluationService) {}
  everyMs = sweepInterval;
  run() {
    return this.reevaluation.dailyIfDue();
  }
}

/** The nightly retention run (RETENTION_HOUR; claimed in Postgres like the daily re-evaluation). */
@Injectable()
export class RetentionSchedule implements Schedule {
  readonly name = 'retention';
  constructor(private readonly retention: RetentionService) {}
  everyMs = sweepInterval;
  run() {
    return this.retention.runIfDue();
  }
}

/** Tasks in progress without activity for STALE_CLAIM_MINUTES go back to the queue. */
@Injectable()
export class StaleClaimsSchedule implements Schedule {
  readonly name = 'stale-claims';
  constructor(private readonly worklist: WorklistService) {}
  everyMs = sweepInterval;
  run() {
    return this.worklist.releaseStale();
  }
}

/** New decisions when the registry or the newest linkage run moved (EVALUATION_CATCH_UP_SECONDS; 0 = never). */
@Injectable()
export class EvaluationCatchUpSchedule implements Schedule {
  readonly name = 'evaluation-catch-up';
  constructor(private readonly reevaluation: ReevaluationService) {}
  everyMs(config: AppConfig): number {
    return config.evaluation.catchUpSeconds * 1000;
  }
  run() {
    return this.reevaluation.catchUp();
  }
}

/**
 * Seals new access-log entries into the chain about every second, and every
 * AUDIT_CHECKPOINT_SECONDS signs the chain head (AuditService.checkpoint). Each checkpoint is
 * logged as well: a copy outside the database that whoever can rewrite the table cannot take back.
 */
@Injectable()
export class AccessLogSchedule implements Schedule {
  readonly name = 'access-log-seal';
  private readonly logger = new Logger(AccessLogSchedule.name);
  private lastCheckpoint = 0;
  constructor(
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}
  everyMs(): number {
    return 1000;
  }
  async run(): Promise<void> {
    await this.audit.seal();
    if (Date.now() - this.lastCheckpoint < this.config.audit.checkpointSeconds * 1000) return;
    const c = await this.audit.checkpoint(this.config.audit.checkpointKey);
    if (!c) return; // another worker holds the seal lock: the next second retries
    this.lastCheckpoint = Date.now();
    this.logger.log({ msg: 'access-log checkpoint', checkpoint: c.id, seq: c.seq, hash: c.hash, signature: c.signature });
  }
}

/** Puts the nightly linkage scheduler (TTP_LINKAGE_CRON) into Redis at start and every ten minutes, so a Redis flush loses at most one night. */
@Injectable()
export class NightlyLinkageSchedule implements Schedule {
  readonly name = 'ttp-linkage-scheduler';
  readonly runAtStart = true;
  constructor(
    private readonly queues: QueueService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}
  everyMs(): number {
    return 10 * 60 * 1000;
  }
  async run(): Promise<void> {
    // At start the producer connection may still be connecting, and producers do not queue
    // commands offline: wait for it (at most 5 s) rather than leave the night unscheduled for ten minutes.
    const redis = this.queues.redis;
    if (redis.status !== 'ready') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5000);
        redis.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await scheduleNightlyLinkage(this.queues.queue(TTP_LINKAGE_QUEUE), this.config.ttp.linkageCron);
  }
}

/** Carries out runs whose job was lost (queued in Postgres for a minute, never delivered) and again those a dead process left running. */
@Injectable()
export class LinkageRecoverySchedule implements Schedule {
  readonly name = 'ttp-linkage-recovery';
  constructor(private readonly linkage: LinkageService) {}
  everyMs = sweepInterval;
  run() {
    return this.linkage.runQueued(60);
  }
}
