export * from './referral.entity';
export * from './referral-message.dto';
export * from './referral.view';
export * from './referral-intake.service';
export * from './referral-handoff.service';
export * from './evaluate-referral.queue';
export * from './referrals.module';
export * from './fhir/referral-bundle';
export type * as FhirR4 from './fhir/fhir-r4.types';
