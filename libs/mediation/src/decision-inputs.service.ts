/**
 * Every change an API caller makes to the inputs of mediation decisions — a provider's figures, a
 * norm set, its succession, the policy — together with the request for the new decisions it
 * calls for, in one transaction (ReevaluationService.change). The routes call these, so no caller
 * can change an input and skip the re-evaluation. Receipts say how many referrals will be judged
 * again (`reevaluating`).
 */
import { Injectable } from '@nestjs/common';
import { StoredReport, WaitTimeReportDto, WaitTimesService } from '@app/waitlists';
import { amsterdamDate } from '@app/core';
import { MediationPolicyService, PolicyVersion } from './mediation-policy.service';
import { NormSetsService, StoredNormSet } from './norm-sets.service';
import { ReevaluationService } from './reevaluation.service';

@Injectable()
export class DecisionInputsService {
  constructor(
    private readonly reevaluation: ReevaluationService,
    private readonly waits: WaitTimesService,
    private readonly normSets: NormSetsService,
    private readonly policy: MediationPolicyService,
  ) {}

  /** A provider's month of figures: its open referrals for the groups reported. */
  submitFigures(agb: string, report: WaitTimeReportDto, submittedBy: string): Promise<StoredReport & { reevaluating: number }> {
    return this.reevaluation.change(
      'wait-times',
      (tx) => this.waits.submit(agb, report, submittedBy, amsterdamDate(new Date()), tx),
      (stored) => ({ agb, diagnosisGroups: stored.diagnosisGroups }),
    );
  }

  /** The norm-set and policy changes concern every open referral. */
  createNormSet(plain: unknown, createdBy: string): Promise<StoredNormSet & { reevaluating: number }> {
    return this.reevaluation.change('norm-set', (tx) => this.normSets.create(plain, createdBy, tx));
  }

  endNormSet(id: string, validUntil: unknown): Promise<StoredNormSet & { reevaluating: number }> {
    return this.reevaluation.change('norm-set', (tx) => this.normSets.end(id, validUntil, tx));
  }

  succeedNormSet(id: string, plain: unknown, createdBy: string): Promise<{ ended: StoredNormSet; started: StoredNormSet; reevaluating: number }> {
    return this.reevaluation.change('norm-set', (tx) => this.normSets.succeed(id, plain, createdBy, tx));
  }

  changePolicy(plain: unknown, changedBy: string): Promise<PolicyVersion & { reevaluating: number }> {
    return this.reevaluation.change('policy', (tx) => this.policy.change(plain, changedBy, tx));
  }
}
