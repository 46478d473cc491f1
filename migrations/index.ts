/** Every migration, in order. Listed explicitly so builds and bundles never depend on globs. */
import { Referral1763800000000 } from './1763800000000-referral';

export const MIGRATIONS = [Referral1763800000000];
