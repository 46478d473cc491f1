/**
 * The referral's owner erases personal data, in the caller's transaction (issue 16: others call
 * the owner; the withdrawal and retention also close tasks and write the access log, so the
 * transaction is theirs). Erasing clears the BSN ciphertext, key id, blind index, content
 * fingerprint, DSM code and access-log index in one statement; `ck_referral_*` make "withdrawn" or
 * "erased" and "no personal data" one fact.
 */
import type { EntityManager } from 'typeorm';

type Tx = Pick<EntityManager, 'query'>;

const ERASE = `bsn_ciphertext = NULL, bsn_key_id = NULL, bsn_blind_index = NULL, content_fingerprint = NULL, dsm_code = NULL, audit_index = NULL`;

export interface ReferralToWithdraw {
  id: string;
  messageId: string;
  uzovi: string;
  status: string;
  withdrawnAt: Date | null;
  /** The person's index in the access log, taken before it is erased. */
  auditIndex: string | null;
}

/**
 * Locks the referral a withdrawal names — by id, or by message id (and insurer when the caller
 * acts for several) — among the caller's insurers; null when there is none (another insurer's is
 * indistinguishable from a missing one). Locked first, before its task: the order every command
 * on the task follows too.
 */
export async function lockReferralToWithdraw(tx: Tx, uzovis: string[], by: { referralId: string } | { messageId: string; uzovi?: string }): Promise<ReferralToWithdraw | null> {
  const byId = 'referralId' in by;
  const [row] = await tx.query(
    `SELECT id, message_id AS "messageId", uzovi, status, withdrawn_at AS "withdrawnAt", audit_index AS "auditIndex" FROM referral
      WHERE uzovi = ANY($1::bpchar[]) AND ${byId ? 'id = $2::uuid' : 'message_id = $2 AND ($3::bpchar IS NULL OR uzovi = $3::bpchar)'}
      FOR UPDATE`,
    byId ? [uzovis, by.referralId] : [uzovis, by.messageId, by.uzovi ?? null],
  );
  return row ?? null;
}

/** Marks a locked referral withdrawn by `by` and erases its personal data; returns when. */
export async function eraseAsWithdrawn(tx: Tx, id: string, by: string): Promise<Date> {
  const [[erased]] = await tx.query(
    `UPDATE referral SET status = 'withdrawn', withdrawn_at = now(), withdrawn_by = $2, status_changed_at = now(), ${ERASE}
      WHERE id = $1 RETURNING withdrawn_at`,
    [id, by],
  );
  return erased.withdrawn_at;
}

/**
 * Retention, first step: of these referrals, locks those still pending or evaluated that no one
 * else holds (SKIP LOCKED: one being evaluated, or whose task a command is changing, waits for the
 * next night). The caller checks, under the lock, that they are still due, then erases them.
 */
export async function lockForRetention(tx: Tx, ids: string[]): Promise<{ id: string; uzovi: string; status: 'pending' | 'evaluated'; auditIndex: string | null }[]> {
  if (ids.length === 0) return [];
  return tx.query(
    `SELECT id, uzovi, status, audit_index AS "auditIndex" FROM referral WHERE id = ANY($1::uuid[]) AND status IN ('pending', 'evaluated') ORDER BY id FOR UPDATE SKIP LOCKED`,
    [ids],
  );
}

/** Retention, second step: marks these locked referrals erased at `now` and erases their personal data. */
export async function eraseForRetention(tx: Tx, ids: string[], now: Date): Promise<void> {
  if (ids.length === 0) return;
  await tx.query(`UPDATE referral SET status = 'erased', erased_at = $2, status_changed_at = $2, ${ERASE} WHERE id = ANY($1::uuid[])`, [ids, now]);
}
