/**
 * Consent withdrawal: the patient takes back the consent a referral was forwarded under — through
 * the referral service, or through the insurer on the patient's request. In one transaction the
 * referral becomes `withdrawn` and its BSN ciphertext, key id, blind index, content fingerprint
 * (a keyed hash over the BSN) and DSM code are erased (a check constraint makes withdrawn and
 * erased one fact); its open mediation task is closed with outcome `consent-withdrawn`, with an
 * event in the task's history. What remains — insurer, provider, diagnosis group, dates, verdicts —
 * serves anonymous counts only. Queued evaluation jobs find the referral no longer pending and do
 * nothing; re-evaluations only ever pick evaluated referrals. Idempotent: a repeat answers with
 * the same withdrawal.
 */
import { Injectable, Logger, NotFoundException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService, Principal } from '@app/platform';
import { eraseAsWithdrawn, lockReferralToWithdraw } from '@app/referrals';

export interface WithdrawalRequest {
  referralId?: string;
  messageId?: string;
  /** Needed with messageId when the caller acts for more than one insurer. */
  uzovi?: string;
}

export interface WithdrawalReceipt {
  referralId: string;
  messageId: string;
  uzovi: string;
  /** erased: the retention run had already erased the personal data; nothing was left to withdraw. */
  status: 'withdrawn' | 'erased';
  withdrawnAt: string | null;
  /** Tasks this withdrawal closed (0 on a repeat, or when there was no open task). */
  tasksClosed: number;
  /** The consent had been withdrawn before: nothing changed. */
  alreadyWithdrawn: boolean;
}

@Injectable()
export class ConsentWithdrawalService {
  private readonly logger = new Logger(ConsentWithdrawalService.name);

  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  async withdraw(request: WithdrawalRequest, caller: Principal): Promise<WithdrawalReceipt> {
    return this.db.transaction(async (tx) => {
      const byId = request.referralId !== undefined;
      const referral = await lockReferralToWithdraw(
        tx,
        caller.uzovis,
        request.referralId !== undefined ? { referralId: request.referralId } : { messageId: request.messageId ?? '', uzovi: request.uzovi },
      );
      // Another insurer's referral is indistinguishable from a missing one.
      if (!referral) {
        await this.audit.record([
          {
            actor: caller,
            personIndex: null,
            action: 'withdraw',
            resource: byId ? `referral/${request.referralId}` : 'referral/by-message-id',
            purpose: 'consent-withdrawal',
            outcome: 'refused',
          },
        ]);
        throw new NotFoundException({
          message: 'No referral with this id for your organisation',
          details: [{ field: byId ? 'referralId' : 'messageId', reason: 'no referral of your organisation has it' }],
        });
      }
      const receipt = (withdrawnAt: Date | null, tasksClosed: number, alreadyWithdrawn: boolean): WithdrawalReceipt => ({
        referralId: referral.id,
        messageId: referral.messageId,
        uzovi: referral.uzovi,
        status: referral.status === 'erased' ? 'erased' : 'withdrawn',
        withdrawnAt: withdrawnAt?.toISOString() ?? null,
        tasksClosed,
        alreadyWithdrawn,
      });
      if (referral.status === 'withdrawn' || referral.status === 'erased') return receipt(referral.withdrawnAt, 0, true);

      // The person as the access log knows them, taken before it is erased.
      const personIndex = referral.auditIndex;
      const withdrawnAt = await eraseAsWithdrawn(tx, referral.id, caller.subject);
      // The statement is an INSERT (TypeORM answers it with the rows alone).
      const closed: { task_id: string }[] = await tx.query(
        `WITH closed AS (
           UPDATE mediation_task SET status = 'closed', outcome = 'consent-withdrawn', outcome_details = NULL, closed_at = now(),
                  assignee = NULL, last_activity_at = now(), version = version + 1
            WHERE referral_id = $1 AND status <> 'closed'
            RETURNING id, uzovi
         )
         INSERT INTO task_event (task_id, uzovi, type, actor, actor_role, details)
         SELECT id, uzovi, 'outcome', $2, $3, '{"outcome": "consent-withdrawn"}'::jsonb FROM closed
         RETURNING task_id`,
        [referral.id, caller.subject, caller.role],
      );
      await this.audit.record(
        [
          {
            actor: caller,
            organisation: referral.uzovi,
            personIndex,
            action: 'withdraw',
            resource: `referral/${referral.id}`,
            purpose: 'consent-withdrawal',
            outcome: 'allowed',
            details: { tasksClosed: closed.length },
          },
        ],
        tx,
      );
      this.logger.log({ msg: 'consent withdrawn', referralId: referral.id, uzovi: referral.uzovi, by: caller.role, tasksClosed: closed.length });
      return receipt(withdrawnAt, closed.length, false);
    });
  }
}
