/** Fixtures for the core's tests only (not exported from the lib): today's Treeknorm GGZ as data. */
import type { NormSet } from './waiting.types';

export function treeknormGgz(over: Partial<NormSet> = {}): NormSet {
  return {
    id: 'treeknorm-ggz',
    name: 'Treeknorm GGZ',
    sector: 'ggz',
    validFrom: '2000-01-01',
    validUntil: null,
    urgency: null,
    category: null,
    maxWeeks: { aanmelding: 4, behandeling: 10, totaal: 14 },
    ...over,
  };
}
