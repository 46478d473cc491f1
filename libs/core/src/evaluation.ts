/**
 * The heart of the mediation decision: the expected wait at the referred provider (shortest
 * location per stage, so nobody is approached on a pessimistic guess) plus the wait already
 * accrued since the referral, compared per stage with the norm. Exactly at the norm is within.
 */
import { roundWeeks, weeksBetween } from './norms';
import { Evaluation, EvaluationInput, GGZ_STAGES, GgzStage, LocationWait, StageResult } from './waiting.types';

function expectedFor(stage: GgzStage, w: LocationWait, accrued: number): number {
  switch (stage) {
    case 'aanmelding':
      return accrued + w.aanmeldWeeks;
    case 'behandeling':
      return w.behandelWeeks;
    case 'totaal':
      return accrued + w.aanmeldWeeks + w.behandelWeeks;
  }
}

export function evaluateReferral(input: EvaluationInput): Evaluation {
  const { norm } = input;
  if (norm.sector !== 'ggz') throw new Error(`evaluateReferral needs a ggz norm set, got ${norm.sector}`);
  for (const s of GGZ_STAGES) if (typeof norm.maxWeeks[s] !== 'number') throw new Error(`norm set ${norm.id} has no maximum for ${s}`);

  // Figures are non-negative by the database's check; NaN would silently read as "within".
  for (const w of input.waits) {
    if (![w.aanmeldWeeks, w.behandelWeeks].every((x) => Number.isFinite(x) && x >= 0)) throw new Error(`invalid wait figures for location ${w.locationId}`);
  }

  const accruedWeeks = roundWeeks(weeksBetween(input.referralDate, input.today));
  if (input.waits.length === 0) return { verdict: 'no-data', accruedWeeks, stages: [], aboveNormStages: [], maxExceedanceWeeks: 0 };

  const stages: StageResult[] = GGZ_STAGES.map((stage) => {
    let best = input.waits[0];
    let bestWeeks = expectedFor(stage, best, accruedWeeks);
    for (const w of input.waits.slice(1)) {
      const e = expectedFor(stage, w, accruedWeeks);
      if (e < bestWeeks) [best, bestWeeks] = [w, e];
    }
    const expectedWeeks = roundWeeks(bestWeeks);
    const normWeeks = norm.maxWeeks[stage]!;
    // A norm off the tenth-week grid (e.g. 4.25) can leave a real exceedance that rounds to 0;
    // report at least 0.1 so that "exceedsByWeeks > 0" and the verdict always agree.
    const exceedsByWeeks = expectedWeeks > normWeeks ? Math.max(0.1, roundWeeks(expectedWeeks - normWeeks)) : 0;
    return { stage, expectedWeeks, normWeeks, exceedsByWeeks, locationId: best.locationId };
  });
  const above = stages.filter((s) => s.expectedWeeks > s.normWeeks);
  return {
    verdict: above.length > 0 ? 'above-norm' : 'within-norm',
    accruedWeeks,
    stages,
    aboveNormStages: above.map((s) => s.stage),
    maxExceedanceWeeks: Math.max(0, ...above.map((s) => s.exceedsByWeeks)),
  };
}

/** 1 (just over) … 5 (more than 8 weeks over); 0 when not above the norm. Higher is more urgent. */
export function taskPriority(e: Evaluation): number {
  if (e.verdict !== 'above-norm') return 0;
  const w = e.maxExceedanceWeeks;
  return w <= 1 ? 1 : w <= 2 ? 2 : w <= 4 ? 3 : w <= 8 ? 4 : 5;
}
