import { Module } from '@nestjs/common';
import { ReferralsModule } from '@app/referrals';
import { WaitlistsModule } from '@app/waitlists';
import { EvaluationHistoryService } from './evaluation-history.service';
import { MediationPolicyService } from './mediation-policy.service';
import { NormSetsService } from './norm-sets.service';
import { ReevaluationService } from './reevaluation.service';
import { ReferralEvaluationService } from './referral-evaluation.service';

/** Norm sets, the mediation policy, the evaluation of referrals and the tasks it creates. */
@Module({
  imports: [ReferralsModule, WaitlistsModule],
  providers: [NormSetsService, MediationPolicyService, ReferralEvaluationService, ReevaluationService, EvaluationHistoryService],
  exports: [NormSetsService, MediationPolicyService, ReferralEvaluationService, ReevaluationService, EvaluationHistoryService],
})
export class MediationModule {}
