import { evaluateReferral } from '@app/core';
import { treeknormGgz } from '@app/core/test-fixtures';
import { explainEvaluation } from './explain';
import type { EvaluationExplanation } from './referral-evaluation.service';

function stored(over: Partial<EvaluationExplanation> = {}, aanmeld = 6): EvaluationExplanation {
  const norm = treeknormGgz();
  const waits = [{ locationId: 'loc-1', month: '2026-11', aanmeldWeeks: aanmeld, behandelWeeks: 5 }];
  return {
    referralDate: '2026-11-15',
    evaluationDate: '2026-11-22',
    diagnosisGroup: 'angst',
    agb: '73000001',
    normSet: { id: norm.id, name: norm.name, sector: 'ggz', validFrom: norm.validFrom, validUntil: null, maxWeeks: norm.maxWeeks },
    policy: { phase1From: '2026-01-01', phase2From: null, version: 1 },
    figuresFrom: '2026-09-01',
    waits,
    result: evaluateReferral({ referralDate: '2026-11-15', today: '2026-11-22', waits, norm }),
    mediation: 'task-created',
    alternatives: 2,
    ...over,
  };
}

describe('explainEvaluation', () => {
  it('names the norm, each stage against it and what was done', () => {
    expect(explainEvaluation(stored(), 'phase-1')).toEqual([
      'Above the norm "Treeknorm GGZ" (valid from 2000-01-01) on 2026-11-22, with 1 week already waited since the referral on 2026-11-15.',
      'aanmelding (to intake): expected 7 weeks against a norm of 4, 3 weeks over (shortest location loc-1).',
      'behandeling (intake to treatment): expected 5 weeks against a norm of 10 (shortest location loc-1).',
      'total: expected 12 weeks against a norm of 14 (shortest location loc-1).',
      'Under phase 1 (only patients above the norm may be approached): a mediation task was created with 2 alternatives.',
    ]);
  });

  it('says why nothing happened for a within-norm referral in phase 1', () => {
    const lines = explainEvaluation(stored({ mediation: 'not-offered', alternatives: 0 }, 2), 'phase-1');
    expect(lines[0]).toMatch(/^Within the norm/);
    expect(lines.at(-1)).toBe('Under phase 1 (only patients above the norm may be approached): no mediation is offered.');
  });

  it('explains no-data and a missing norm set', () => {
    const noData = stored({ waits: [], result: { verdict: 'no-data', accruedWeeks: 1, stages: [], aboveNormStages: [], maxExceedanceWeeks: 0 }, mediation: 'not-offered' });
    expect(explainEvaluation(noData, 'phase-1')[0]).toBe(
      'No current waiting-time figures (from 2026-09 on) of provider 73000001 for angst on 2026-11-22; the referral is evaluated again when figures arrive.',
    );
    expect(explainEvaluation({ ...noData, normSet: null }, 'phase-1')[0]).toBe(
      'No norm set applied on the referral date 2026-11-15, so the wait could not be judged (verdict no-norm; an admin adds or extends a norm set).',
    );
  });
});
