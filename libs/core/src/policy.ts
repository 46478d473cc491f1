/** The dated mediation policy: who may be approached, from when. Policy is data, not code. */
import { isIsoDate } from './dates';
import type { MediationPhase, MediationPolicy, Verdict } from './waiting.types';

export const DEFAULT_POLICY: MediationPolicy = { phase1From: '2026-01-01', phase2From: null };

export function phaseOn(policy: MediationPolicy, date: string): MediationPhase {
  if (date < policy.phase1From) return 'none';
  if (policy.phase2From !== null && date >= policy.phase2From) return 'phase-2';
  return 'phase-1';
}

/** Phase 1: only people above the norm. Phase 2: also within the norm. Never on no data. */
export function mayOfferMediation(phase: MediationPhase, verdict: Verdict): boolean {
  if (phase === 'phase-1') return verdict === 'above-norm';
  if (phase === 'phase-2') return verdict === 'above-norm' || verdict === 'within-norm';
  return false;
}

export function policyProblems(p: MediationPolicy): { field: string; reason: string }[] {
  const out: { field: string; reason: string }[] = [];
  if (!isIsoDate(p.phase1From)) out.push({ field: 'phase1From', reason: 'must be a real date YYYY-MM-DD' });
  if (p.phase2From !== null && (!isIsoDate(p.phase2From) || p.phase2From <= p.phase1From)) {
    out.push({ field: 'phase2From', reason: 'must be null or a real date after phase1From' });
  }
  return out;
}
