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
  ) {}

  async search(bsnInput: string, reason: string, caller: Principal): Promise<{ referrals: ReactiveSearchHit[] }> {
    const bsn = normaliseBsn(bsnInput);
    const rows: any[] = await this.db.query(
      `SELECT r.id, r.uzovi, to_char(r.verwijsdatum, 'YYYY-MM-DD') AS verwijsdatum, r.klachtenprofiel, r.agb, r.status, r.verdict,
              t.id AS task_id, t.status AS task_status
         FROM referral r LEFT JOIN mediation_task t ON t.referral_id = r.id
        WHERE r.bsn_blind_index = $1 AND r.uzovi = ANY($2::bpchar[]) AND r.status NOT IN ('withdrawn', 'erased')
        ORDER BY r.verwijsdatum DESC, r.id`,
      [this.vault.blindIndex(bsn), caller.uzovis],
    );
    await this.audit.record([
      {
        actor: caller,
        personIndex: this.vault.auditIndex(bsn),
        action: 'search',
        resource: 'referral/by-bsn',
        purpose: 'reactive-request',
        outcome: 'allowed',
        details: { reason, found: rows.length },
      },
    ]);
    return {
      referrals: rows.map((r) => ({
        referralId: r.id,
        uzovi: r.uzovi,
        bsn: maskBsn(bsn),
        verwijsdatum: r.verwijsdatum,
        klachtenprofiel: r.klachtenprofiel,
        agb: r.agb,
        status: r.status,
        verdict: r.verdict,
        taskId: r.task_id,
        taskStatus: r.task_status,
      })),
    };
  }
}
