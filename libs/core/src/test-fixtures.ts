/** Fixtures for the core's tests only (not exported from the lib). */
import { TREEKNORM_GGZ_2025 } from './norms';
import type { NormSet } from './waiting.types';

/** Today's Treeknorm GGZ (the seed set), with overrides. */
export function treeknormGgz(over: Partial<NormSet> = {}): NormSet {
  return { ...TREEKNORM_GGZ_2025, maxWeeks: { ...TREEKNORM_GGZ_2025.maxWeeks }, ...over };
}
