/** Turns a stored evaluation into the plain sentences a mediator or auditor reads. */
import type { EvaluationExplanation } from './referral-evaluation.service';

const STAGE_NAMES: Record<string, string> = { aanmelding: 'aanmelding (to intake)', behandeling: 'behandeling (intake to treatment)', totaal: 'total' };

const weeks = (n: number) => `${n} week${n === 1 ? '' : 's'}`;

export function explainEvaluation(e: EvaluationExplanation, phase: string): string[] {
  const out: string[] = [];
  const accrued = `${weeks(e.result.accruedWeeks)} already waited since the referral on ${e.referralDate}`;
  if (!e.normSet) {
    out.push(`No norm set applied on the referral date ${e.referralDate}, so the wait could not be judged (verdict no-norm; an admin adds or extends a norm set).`);
  } else if (e.result.verdict === 'no-data') {
    out.push(
      `No current waiting-time figures (from ${e.figuresFrom.slice(0, 7)} on) of provider ${e.agb} for ${e.diagnosisGroup} on ${e.evaluationDate}; ` +
        `the referral is evaluated again when figures arrive.`,
    );
  } else {
    const verdict = e.result.verdict === 'above-norm' ? 'Above' : 'Within';
    out.push(`${verdict} the norm "${e.normSet.name}" (valid from ${e.normSet.validFrom}) on ${e.evaluationDate}, with ${accrued}.`);
    for (const s of e.result.stages) {
      const over = s.exceedsByWeeks > 0 ? `, ${weeks(s.exceedsByWeeks)} over` : '';
      out.push(`${STAGE_NAMES[s.stage] ?? s.stage}: expected ${weeks(s.expectedWeeks)} against a norm of ${s.normWeeks}${over} (shortest location ${s.locationId}).`);
    }
  }
  if (e.measured && e.measured.locations.length > 0) {
    const cells = e.measured.locations.map((m) => {
      const med = (v: number | null) => (v === null ? 'n/a' : weeks(v));
      const flag = m.flagged ? `; declared figure more than ${weeks(e.measured!.flagWeeks)} off` : '';
      return `${m.location}: ${m.waitingIntake} waiting for intake (median so far ${med(m.intakeMedianWeeks)}), ${m.waitingTreatment} for treatment (${med(m.treatmentMedianWeeks)})${flag}`;
    });
    out.push(`Measured by the TTP on ${e.measured.asOf ?? 'its last run'}, duplicates counted once — ${cells.join('; ')}.`);
  }
  const p =
    phase === 'phase-2'
      ? 'phase 2 (within-norm patients may also be offered mediation)'
      : phase === 'phase-1'
        ? 'phase 1 (only patients above the norm may be approached)'
        : 'no mediation phase';
  const what = {
    'task-created': `a mediation task was created with ${e.alternatives} alternative${e.alternatives === 1 ? '' : 's'}`,
    'task-updated': `the open mediation task got ${e.alternatives} refreshed alternative${e.alternatives === 1 ? '' : 's'}`,
    'task-reinstated': `the mediation task withdrawn earlier came back with ${e.alternatives} alternative${e.alternatives === 1 ? '' : 's'}`,
    'task-withdrawn': 'the mediation task nobody had acted on yet was withdrawn: this person may not be approached now',
    'task-flagged': 'the mediation task stays with its assignee, flagged: contact is under way, start no new contact',
    'task-kept': 'the existing mediation task was left as it is',
    'not-offered': 'no mediation is offered',
  }[e.mediation];
  out.push(`Under ${p}: ${what}.`);
  return out;
}
