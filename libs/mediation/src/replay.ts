/**
 * Replay of a stored decision: recompute it from the inputs it stored (referral date, evaluation
 * date, figures, norm set, policy) with today's code, and name every part that comes out
 * different. Pure: the caller reads the stored decisions. What is not replayed: the ranking of
 * alternatives (the candidate locations are not stored with the decision; the ranked list is on
 * the task and in its events) and the measured figures (shown, not decided on).
 */
import { evaluateReferral, Evaluation, mayOfferMediation, NormSet, noNormEvaluation, phaseOn } from '@app/core';
import type { EvaluationExplanation } from './referral-evaluation.service';

export interface StoredDecision {
  id: string;
  referralId: string;
  verdict: string;
  phase: string;
  normSetId: string | null;
  explanation: EvaluationExplanation;
}

export interface ReplayDifference {
  evaluationId: string;
  referralId: string;
  field: string;
  stored: unknown;
  recomputed: unknown;
}

const OFFERED: EvaluationExplanation['mediation'][] = ['task-created', 'task-updated', 'task-reinstated'];
const NOT_OFFERED: EvaluationExplanation['mediation'][] = ['task-withdrawn', 'task-flagged', 'not-offered'];

/** JSON with object keys sorted (jsonb stores keys in an order of its own). */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

export function replayDecision(d: StoredDecision): ReplayDifference[] {
  const out: ReplayDifference[] = [];
  const differ = (field: string, stored: unknown, recomputed: unknown) => {
    if (canonical(stored) !== canonical(recomputed)) out.push({ evaluationId: d.id, referralId: d.referralId, field, stored, recomputed });
  };
  const e = d.explanation;
  const norm: NormSet | null = e.normSet ? { urgency: null, category: null, ...e.normSet } : null;
  let result: Evaluation;
  try {
    result = norm ? evaluateReferral({ referralDate: e.referralDate, today: e.evaluationDate, waits: e.waits, norm }) : noNormEvaluation(e.referralDate, e.evaluationDate);
  } catch (err) {
    return [{ evaluationId: d.id, referralId: d.referralId, field: 'result', stored: e.result, recomputed: `error: ${(err as Error).message}` }];
  }
  differ('normSetId', d.normSetId, norm?.id ?? null);
  differ('verdict', d.verdict, result.verdict);
  for (const k of ['verdict', 'accruedWeeks', 'stages', 'aboveNormStages', 'maxExceedanceWeeks'] as const) differ(`result.${k}`, e.result[k], result[k]);
  const phase = phaseOn({ phase1From: e.policy.phase1From, phase2From: e.policy.phase2From }, e.evaluationDate);
  differ('phase', d.phase, phase);
  const offer = norm !== null && mayOfferMediation(phase, result.verdict);
  if (e.offered !== undefined) differ('offered', e.offered, offer);
  if ((offer && NOT_OFFERED.includes(e.mediation)) || (!offer && OFFERED.includes(e.mediation))) {
    out.push({ evaluationId: d.id, referralId: d.referralId, field: 'mediation', stored: e.mediation, recomputed: offer ? 'mediation offered' : 'mediation not offered' });
  }
  return out;
}
