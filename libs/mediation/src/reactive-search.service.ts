/**
 * Purpose limitation: insurer staff reach people through mediation tasks. The one exception is a
 * reactive request — the patient asks the insurer for mediation themselves — where staff look the
 * patient up by BSN. That search requires a stated reason and is logged as such in the access log
 * (purpose `reactive-request`). It finds only the caller's own insurer's referrals whose consent
 * stands, and shows the BSN masked.
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { maskBsn, normaliseBsn } from '@app/core';
import { AuditService, BsnVault, Principal } from '@app/platform';
import { ReferralReadsService } from '@app/referrals';

export interface ReactiveSearchHit {
  referralId: string;
  uzovi: string;
  bsn: string;
  verwijsdatum: string;
  klachtenprofiel: string;
  agb: string;
  status: string;
  verdict: string | null;
  taskId: string | null;
  taskStatus: string | null;
}

@Injectable()
export class ReactiveSearchService {
  constructor(
    private readonly db: DataSource,
    private readonly vault: BsnVault,
    private readonly audit: AuditService,
    private readonly referrals: ReferralReadsService,
  ) {}

  async search(bsnInput: string, reason: string, caller: Principal): Promise<{ referrals: ReactiveSearchHit[] }> {
    const bsn = normaliseBsn(bsnInput);
    const found = await this.referrals.byBlindIndex(this.vault.blindIndex(bsn), caller.uzovis);
    // A referral has at most one task (uq_mediation_task_referral).
    const tasks: { id: string; status: string; referral_id: string }[] =
      found.length === 0 ? [] : await this.db.query(`SELECT id, status, referral_id FROM mediation_task WHERE referral_id = ANY($1::uuid[])`, [found.map((r) => r.id)]);
    const taskOf = new Map(tasks.map((t) => [t.referral_id, t]));
    await this.audit.record([
      {
        actor: caller,
        personIndex: this.vault.auditIndex(bsn),
        action: 'search',
        resource: 'referral/by-bsn',
        purpose: 'reactive-request',
        outcome: 'allowed',
        details: { reason, found: found.length },
      },
    ]);
    return {
      referrals: found.map((r) => ({
        referralId: r.id,
        uzovi: r.uzovi,
        bsn: maskBsn(bsn),
        verwijsdatum: r.verwijsdatum,
        klachtenprofiel: r.klachtenprofiel,
        agb: r.agb,
        status: r.status,
        verdict: r.verdict,
        taskId: taskOf.get(r.id)?.id ?? null,
        taskStatus: taskOf.get(r.id)?.status ?? null,
      })),
    };
  }
}
