/** Every migration, in order. Listed explicitly so builds and bundles never depend on globs. */
import { Referral1763800000000 } from './1763800000000-referral';
import { WaitlistsNormsEvaluation1763900000000 } from './1763900000000-waitlists-norms-evaluation';
import { Worklist1764000000000 } from './1764000000000-worklist';
import { Ttp1764100000000 } from './1764100000000-ttp';
import { TtpLinkage1764200000000 } from './1764200000000-ttp-linkage';
import { ConsentWithdrawal1764300000000 } from './1764300000000-consent-withdrawal';
import { AccessLog1764400000000 } from './1764400000000-access-log';
import { Retention1764500000000 } from './1764500000000-retention';
import { TtpRunAttempts1764600000000 } from './1764600000000-ttp-run-attempts';
import { MediationReport1764700000000 } from './1764700000000-mediation-report';
import { DecisionGenerations1764800000000 } from './1764800000000-decision-generations';
import { TtpDisclosure1764910000000 } from './1764910000000-ttp-disclosure';
import { LeastPrivilege1765000000000 } from './1765000000000-least-privilege';
import { AccessLogAppend1765100000000 } from './1765100000000-access-log-append';

export const MIGRATIONS = [
  Referral1763800000000,
  WaitlistsNormsEvaluation1763900000000,
  Worklist1764000000000,
  Ttp1764100000000,
  TtpLinkage1764200000000,
  ConsentWithdrawal1764300000000,
  AccessLog1764400000000,
  Retention1764500000000,
  TtpRunAttempts1764600000000,
  MediationReport1764700000000,
  DecisionGenerations1764800000000,
  TtpDisclosure1764910000000,
  LeastPrivilege1765000000000,
  AccessLogAppend1765100000000,
];
