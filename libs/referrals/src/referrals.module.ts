import { Module } from '@nestjs/common';
import { ReferralHandoffService } from './referral-handoff.service';
import { ReferralIntakeService } from './referral-intake.service';

@Module({
  providers: [ReferralIntakeService, ReferralHandoffService],
  exports: [ReferralIntakeService, ReferralHandoffService],
})
export class ReferralsModule {}
