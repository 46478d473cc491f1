import { Module } from '@nestjs/common';
import { ReferralHandoffService } from './referral-handoff.service';
import { ReferralIntakeService } from './referral-intake.service';
import { ReferralReadsService } from './referral-reads.service';

@Module({
  providers: [ReferralIntakeService, ReferralHandoffService, ReferralReadsService],
  exports: [ReferralIntakeService, ReferralHandoffService, ReferralReadsService],
})
export class ReferralsModule {}
