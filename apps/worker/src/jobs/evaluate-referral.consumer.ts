/** Takes `evaluate-referral` jobs (referral ids only) and evaluates those still pending. */
import { Injectable, Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { AppConfig } from '@app/platform';
import { BatchOutcome, ReferralEvaluationService } from '@app/mediation';
import { EVALUATE_REFERRAL_QUEUE, EvaluateReferralsJob } from '@app/referrals';
import type { Consumer } from './job';

@Injectable()
export class EvaluateReferralConsumer implements Consumer<EvaluateReferralsJob> {
  private readonly logger = new Logger(EvaluateReferralConsumer.name);
  readonly queue = EVALUATE_REFERRAL_QUEUE;

  constructor(private readonly evaluation: ReferralEvaluationService) {}

  concurrency(config: AppConfig): number {
    return config.workerConcurrency;
  }

  async handle(job: Job<EvaluateReferralsJob>): Promise<BatchOutcome> {
    const ids = Array.isArray(job.data?.referralIds) ? job.data.referralIds : [];
    const outcome = await this.evaluation.evaluatePending(ids);
    this.logger.debug({ msg: 'evaluated', jobId: job.id, ...outcome });
    return outcome;
  }
}
