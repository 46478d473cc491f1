export * from './referral.entity';
export * from './referral-message.dto';
export * from './referral.view';
export * from './referral-intake.service';
export * from './referral-handoff.service';
export * from './referrals.module';
