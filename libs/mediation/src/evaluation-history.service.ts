/**
 * The decision history of one referral, in plain terms. Insurer staff see it only for referrals
 * with a mediation task (the purpose wall of phase 1); an auditor of the insurer and an admin see
 * every referral's history, which holds no personal data beyond ids and dates.
 */
import { Injectable, NotFoundException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService, type Principal } from '@app/platform';
import { ReferralReadsService } from '@app/referrals';
import { explainEvaluation } from './explain';

@Injectable()
export class EvaluationHistoryService {
  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly referrals: ReferralReadsService,
  ) {}

  async forReferral(referralId: string, caller: Principal) {
    const staff = caller.role === 'mediator' || caller.role === 'mediation-lead';
    // After a consent withdrawal nobody sees the referral's history any more.
    const referral = await this.referrals.visible(referralId, { all: caller.role === 'admin', uzovis: caller.uzovis });
    const [task] = referral
      ? await this.db.query(`SELECT id FROM mediation_task WHERE referral_id = $1 AND outcome IS DISTINCT FROM 'phase-withdrawn' ORDER BY created_at DESC LIMIT 1`, [referralId])
      : [];
    const resource = `referral/${referralId}/evaluations`;
    const purpose = caller.role === 'auditor' || caller.role === 'admin' ? 'audit' : 'zorgbemiddeling';
    if (!referral || (staff && !task)) {
      await this.audit.record([{ actor: caller, personIndex: null, action: 'read', resource, purpose, outcome: 'refused' }]);
      throw new NotFoundException('No referral with this id whose evaluations you may see');
    }
    await this.audit.record([
      {
        actor: caller,
        organisation: referral.uzovi,
        personIndex: referral.auditIndex,
        action: caller.role === 'auditor' ? 'audit-read' : 'read',
        resource,
        purpose,
        outcome: 'allowed',
      },
    ]);
    const evaluations: any[] = await this.db.query(
      `SELECT e.id, e.evaluated_at, to_char(e.evaluation_date, 'YYYY-MM-DD') AS evaluation_date, e.trigger, e.verdict, e.phase,
              e.norm_set_id, e.task_id, e.explanation
         FROM referral_evaluation e WHERE e.referral_id = $1 ORDER BY e.evaluated_at DESC, e.id`,
      [referralId],
    );
    return {
      referralId,
      status: referral.status,
      verdict: referral.verdict,
      taskId: (task?.id as string | undefined) ?? null,
      evaluations: evaluations.map((e) => ({
        id: e.id,
        evaluatedAt: e.evaluated_at.toISOString(),
        evaluationDate: e.evaluation_date,
        trigger: e.trigger,
        verdict: e.verdict,
        phase: e.phase,
        normSetId: e.norm_set_id,
        taskId: e.task_id,
        summary: explainEvaluation(e.explanation, e.phase),
        explanation: e.explanation,
      })),
    };
  }

  /** Counts per verdict of the caller's insurers (all insurers for an admin): no-data is visible. */
  async verdictCounts(caller: Principal): Promise<{ uzovi: string; status: string; verdict: string | null; referrals: number }[]> {
    return this.referrals.counts({ all: caller.role === 'admin', uzovis: caller.uzovis });
  }
}
