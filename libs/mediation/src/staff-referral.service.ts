/**
 * Purpose limitation for staff reads of a referral (phase 1): insurer staff reach a person only
 * through a mediation task, and only while the consent stands. Another insurer's referral, one
 * without a task (in phase 1: everyone within the norm), one whose task the phase rule withdrew
 * and one whose consent was withdrawn are indistinguishable from a missing one — a 404, logged as
 * a refused read. The task is this lib's; the referral is read, and its reading logged, by its
 * owner (ReferralIntakeService.viewForStaff).
 */
import { Injectable, NotFoundException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService, Principal } from '@app/platform';
import { ReferralIntakeService, ReferralViewDto } from '@app/referrals';

@Injectable()
export class StaffReferralService {
  constructor(
    private readonly db: DataSource,
    private readonly intake: ReferralIntakeService,
    private readonly audit: AuditService,
  ) {}

  async read(id: string, caller: Principal): Promise<ReferralViewDto> {
    const [task] = await this.db.query(`SELECT 1 FROM mediation_task WHERE referral_id = $1 AND uzovi = ANY($2::text[]) AND outcome IS DISTINCT FROM 'phase-withdrawn' LIMIT 1`, [
      id,
      caller.uzovis,
    ]);
    const view = task ? await this.intake.viewForStaff(id, caller) : null;
    if (!view) {
      await this.audit.record([{ actor: caller, personIndex: null, action: 'read', resource: `referral/${id}`, purpose: 'zorgbemiddeling', outcome: 'refused' }]);
      throw new NotFoundException('No referral with this id and a mediation task for your organisation');
    }
    return view;
  }
}
