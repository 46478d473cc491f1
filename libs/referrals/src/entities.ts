import { ReferralEntity } from './referral.entity';

export const REFERRAL_ENTITIES = [ReferralEntity];
