/**
 * The heart of the mediation decision: the expected wait at the referred provider (shortest
 * location per stage, so nobody is approached on a pessimistic guess) plus the wait already
 * accrued since the referral, compared per stage with the norm. Exactly at the norm is within.
 *
 * The comparison uses the unrounded weeks (3 days accrued are 0.43 weeks, not 0.4): rounding
 * to a tenth first turned 3.6 + 0.43 = 4.03 weeks into "4.0, within a norm of 4". Figures are
 * rounded only for display. A tolerance far below a day absorbs binary fractions (0.1 + 0.2).
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

const TOLERANCE_WEEKS = 1e-9;

/** The result when no norm set applies on the referral date: nothing to compare with. */
export function noNormEvaluation(referralDate: string, today: string): Evaluation {
  return { verdict: 'no-norm', accruedWeeks: roundWeeks(weeksBetween(referralDate, today)), stages: [], aboveNormStages: [], maxExceedanceWeeks: 0 };
}

export function evaluateReferral(input: EvaluationInput): Evaluation {
  const { norm } = input;
  if (norm.sector !== 'ggz') throw new Error(`evaluateReferral needs a ggz norm set, got ${norm.sector}`);
  for (const s of GGZ_STAGES) if (typeof norm.maxWeeks[s] !== 'number') throw new Error(`norm set ${norm.id} has no maximum for ${s}`);

  // Figures are non-negative by the database's check; NaN would silently read as "within".
  for (const w of input.waits) {
    if (![w.aanmeldWeeks, w.behandelWeeks].every((x) => Number.isFinite(x) && x >= 0)) throw new Error(`invalid wait figures for location ${w.locationId}`);
  }

  const accrued = weeksBetween(input.referralDate, input.today);
  const accruedWeeks = roundWeeks(accrued);
  if (input.waits.length === 0) return { verdict: 'no-data', accruedWeeks, stages: [], aboveNormStages: [], maxExceedanceWeeks: 0 };

  const exact = GGZ_STAGES.map((stage) => {
    let best = input.waits[0];
    let bestWeeks = expectedFor(stage, best, accrued);
    for (const w of input.waits.slice(1)) {
      const e = expectedFor(stage, w, accrued);
      if (e < bestWeeks) [best, bestWeeks] = [w, e];
    }
    const normWeeks = norm.maxWeeks[stage]!;
    return { stage, best, bestWeeks, normWeeks, above: bestWeeks > normWeeks + TOLERANCE_WEEKS };
  });
  const stages: StageResult[] = exact.map(({ stage, best, bestWeeks, normWeeks, above }) => ({
    stage,
    expectedWeeks: roundWeeks(bestWeeks),
    normWeeks,
    // An exceedance that rounds to 0 (4.03 against 4) is shown as 0.1, so that
    // "exceedsByWeeks > 0" and the verdict always agree.
    exceedsByWeeks: above ? Math.max(0.1, roundWeeks(bestWeeks - normWeeks)) : 0,
    locationId: best.locationId,
  }));
  const above = stages.filter((s) => s.exceedsByWeeks > 0);
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
