import { evaluateReferral, TREEKNORM_GGZ_2025 } from '@app/core';
import type { EvaluationExplanation } from './referral-evaluation.service';
import { replayDecision, StoredDecision } from './replay';

const waits = [{ locationId: 'loc-a', month: '2026-11', aanmeldWeeks: 3.6, behandelWeeks: 5 }];
const norm = { ...TREEKNORM_GGZ_2025, id: 'norm-1' };

/** A decision as the worker stores it, made by the core itself. */
function stored(over: Partial<EvaluationExplanation> = {}, row: Partial<StoredDecision> = {}): StoredDecision {
  const result = evaluateReferral({ referralDate: '2026-11-19', today: '2026-11-22', waits, norm });
  const explanation: EvaluationExplanation = {
    referralDate: '2026-11-19',
    evaluationDate: '2026-11-22',
    diagnosisGroup: 'angst',
    agb: '73000001',
    generation: 1,
    normSet: { id: norm.id, name: norm.name, sector: norm.sector, validFrom: norm.validFrom, validUntil: norm.validUntil, urgency: null, category: null, maxWeeks: norm.maxWeeks },
    policy: { phase1From: '2026-01-01', phase2From: null, version: 1 },
    figuresFrom: '2026-09-01',
    waits,
    measured: null,
    result,
    offered: true,
    mediation: 'task-created',
    alternatives: 0,
    ...over,
  };
  return { id: 'e1', referralId: 'r1', verdict: result.verdict, phase: 'phase-1', normSetId: norm.id, explanation, ...row };
}

describe('replayDecision', () => {
  it('finds nothing to report for a decision today’s code made', () => {
    expect(stored().explanation.result.verdict).toBe('above-norm');
    expect(replayDecision(stored())).toEqual([]);
  });

  it('ignores the key order jsonb stores objects in', () => {
    const s = stored();
    const reordered = JSON.parse(JSON.stringify(s.explanation.result.stages.map((st) => Object.fromEntries(Object.entries(st).reverse()))));
    expect(replayDecision({ ...s, explanation: { ...s.explanation, result: { ...s.explanation.result, stages: reordered } } })).toEqual([]);
  });

  it('names each part that comes out different', () => {
    const s = stored();
    const fields = (d: StoredDecision) => replayDecision(d).map((x) => x.field);
    expect(fields({ ...s, verdict: 'within-norm' })).toEqual(['verdict']);
    expect(fields({ ...s, phase: 'phase-2' })).toEqual(['phase']);
    expect(fields({ ...s, normSetId: 'norm-2' })).toEqual(['normSetId']);
    expect(fields(stored({ offered: false }))).toEqual(['offered']);
    expect(fields(stored({ mediation: 'task-withdrawn' }))).toEqual(['mediation']);
  });

  it('shows what the rounded comparison got wrong: 3 days + 3.6 weeks was stored as within a norm of 4', () => {
    // As the code before 2026-12 decided it: accrued 0.4 (rounded) + 3.6 = 4.0, within.
    const old = stored({ offered: undefined, mediation: 'not-offered' });
    old.explanation.result = {
      verdict: 'within-norm',
      accruedWeeks: 0.4,
      stages: old.explanation.result.stages.map((st) => ({ ...st, exceedsByWeeks: 0 })),
      aboveNormStages: [],
      maxExceedanceWeeks: 0,
    };
    old.verdict = 'within-norm';
    const diffs = replayDecision(old);
    expect(diffs.find((d) => d.field === 'verdict')).toMatchObject({ stored: 'within-norm', recomputed: 'above-norm' });
    expect(diffs.map((d) => d.field)).toEqual(expect.arrayContaining(['verdict', 'result.verdict', 'result.aboveNormStages', 'mediation']));
  });
});
