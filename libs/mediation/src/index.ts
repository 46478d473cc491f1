export * from './norm-sets.service';
export * from './mediation-policy.service';
export * from './referral-evaluation.service';
export * from './reevaluation.service';
export * from './evaluation-history.service';
export * from './explain';
export * from './mediation.module';
