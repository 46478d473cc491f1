/**
 * Ranks alternative locations for a patient above the norm: contracted by the insurer, treating
 * the same diagnosis group, with current figures, and either within the norm or at least two
 * weeks shorter than the referred provider. Same region first; each says why it was chosen.
 */
import { roundWeeks } from './norms';
import { regionName } from './regions';
import { AlternativesInput, CandidateLocation, GGZ_STAGES, LocationWait, NormSet, RankedAlternative } from './waiting.types';

/** An alternative must save at least this much to be offered when it is not within the norm. */
export const MIN_GAIN_WEEKS = 2;

function withinNorm(w: LocationWait, norm: NormSet): boolean {
  const total = roundWeeks(w.aanmeldWeeks + w.behandelWeeks);
  return w.aanmeldWeeks <= norm.maxWeeks.aanmelding! && w.behandelWeeks <= norm.maxWeeks.behandeling! && total <= norm.maxWeeks.totaal!;
}

// A fixed collation: the order must not depend on the server's locale.
const NAME_ORDER = new Intl.Collator('nl');

export function rankAlternatives(input: AlternativesInput): RankedAlternative[] {
  const { norm } = input;
  // A missing stage would make every "≤ undefined" false: no location would ever be within the norm.
  if (norm.sector !== 'ggz' || GGZ_STAGES.some((s) => typeof norm.maxWeeks[s] !== 'number')) {
    throw new Error(`rankAlternatives needs a ggz norm set with ${GGZ_STAGES.join(', ')}, got ${norm.id} (${norm.sector})`);
  }
  const limit = Math.max(0, Math.trunc(input.limit ?? 5)); // slice(0, -1) would return nearly all
  const regions = new Set(input.referralRegions);
  const scored = input.candidates
    .filter((c): c is CandidateLocation & { wait: LocationWait } => c.contracted && c.treats && c.wait !== null && c.agb !== input.referredAgb)
    .map((c) => {
      const totalWeeks = roundWeeks(c.wait.aanmeldWeeks + c.wait.behandelWeeks);
      return { c, totalWeeks, within: withinNorm(c.wait, norm), same: regions.has(c.region) };
    })
    .filter((s) => s.within || (input.referredTotalWeeks !== null && totalLeq(s.totalWeeks, input.referredTotalWeeks - MIN_GAIN_WEEKS)));

  scored.sort(
    (a, b) =>
      Number(b.same) - Number(a.same) ||
      Number(b.within) - Number(a.within) ||
      a.totalWeeks - b.totalWeeks ||
      NAME_ORDER.compare(a.c.providerName, b.c.providerName) ||
      (a.c.locationId < b.c.locationId ? -1 : a.c.locationId > b.c.locationId ? 1 : 0),
  );

  return scored.slice(0, limit).map((s, i) => ({
    rank: i + 1,
    locationId: s.c.locationId,
    agb: s.c.agb,
    providerName: s.c.providerName,
    locationName: s.c.locationName,
    region: s.c.region,
    municipality: s.c.municipality,
    aanmeldWeeks: s.c.wait.aanmeldWeeks,
    behandelWeeks: s.c.wait.behandelWeeks,
    totalWeeks: s.totalWeeks,
    month: s.c.wait.month,
    withinNorm: s.within,
    sameRegion: s.same,
    reason: reason(s.c.wait, s.totalWeeks, s.within, s.same, s.c.region, norm, input.referredTotalWeeks),
  }));
}

// Compared in tenths of a week so that 12 − 2 = 10 is not lost to floating point.
function totalLeq(a: number, b: number): boolean {
  return Math.round(a * 10) <= Math.round(b * 10);
}

function reason(w: LocationWait, total: number, within: boolean, same: boolean, region: string, norm: NormSet, referredTotal: number | null): string {
  const m = norm.maxWeeks;
  const why = within
    ? `within the Treeknorm (aanmelding ${w.aanmeldWeeks} wk ≤ ${m.aanmelding}, behandeling ${w.behandelWeeks} wk ≤ ${m.behandeling}, totaal ${total} wk ≤ ${m.totaal})`
    : `${roundWeeks(referredTotal! - total)} weeks shorter than the referred provider (total ${total} vs ${referredTotal} wk)`;
  return `${why}; ${same ? 'same' : 'other'} region (${regionName(region)})`;
}
