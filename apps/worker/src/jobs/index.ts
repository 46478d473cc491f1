/** Everything the worker runs: one consumer per declared queue, and the named schedules (see job.ts). */
import type { ConsumerClass, ScheduleClass } from './job';
import { EvaluateReferralConsumer } from './evaluate-referral.consumer';
import { TtpLinkageConsumer } from './ttp-linkage.consumer';
import {
  AccessLogSchedule,
  DailyReevaluationSchedule,
  EvaluationCatchUpSchedule,
  LinkageRecoverySchedule,
  NightlyLinkageSchedule,
  RetentionSchedule,
  StaleClaimsSchedule,
  SweepPendingSchedule,
} from './schedules';

export const CONSUMERS: ConsumerClass[] = [EvaluateReferralConsumer, TtpLinkageConsumer];

export const SCHEDULES: ScheduleClass[] = [
  SweepPendingSchedule,
  DailyReevaluationSchedule,
  RetentionSchedule,
  StaleClaimsSchedule,
  EvaluationCatchUpSchedule,
  AccessLogSchedule,
  NightlyLinkageSchedule,
  LinkageRecoverySchedule,
];
