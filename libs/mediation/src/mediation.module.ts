import { Module } from '@nestjs/common';
import { ReferralsModule } from '@app/referrals';
import { TtpModule } from '@app/ttp';
import { WaitlistsModule } from '@app/waitlists';
import { ConsentWithdrawalService } from './consent-withdrawal.service';
import { ReactiveSearchService } from './reactive-search.service';
import { StaffReferralService } from './staff-referral.service';
import { RetentionService } from './retention.service';
import { EvaluationHistoryService } from './evaluation-history.service';
import { MediationPolicyService } from './mediation-policy.service';
import { NormSetsService } from './norm-sets.service';
import { ReevaluationService } from './reevaluation.service';
import { DecisionInputsService } from './decision-inputs.service';
import { AuditSearchService } from './audit-search.service';
import { EvaluationReplayService } from './evaluation-replay.service';
import { ReferralEvaluationService } from './referral-evaluation.service';
import { WorklistService } from './worklist.service';
import { MediationReportService } from './reports/mediation-report.service';

/** The services of this module, all of them exported. */
const SERVICES = [
  ConsentWithdrawalService,
  ReactiveSearchService,
  StaffReferralService,
  RetentionService,
  NormSetsService,
  MediationPolicyService,
  ReferralEvaluationService,
  ReevaluationService,
  EvaluationHistoryService,
  WorklistService,
  MediationReportService,
  DecisionInputsService,
  EvaluationReplayService,
  AuditSearchService,
];

/** Norm sets, the mediation policy, the evaluation of referrals and the tasks it creates. */
@Module({
  imports: [ReferralsModule, WaitlistsModule, TtpModule],
  providers: SERVICES,
  exports: SERVICES,
})
export class MediationModule {}
