/**
 * The front door for consented referral messages. Validated messages are sealed (BSN encrypted,
 * blind-indexed, content fingerprinted) and stored in one statement that is idempotent per
 * (uzovi, messageId): a re-delivery with the same content returns the stored referral, one with
 * different content is a conflict. The single and the batch route share this one path.
 */
import { ForbiddenException, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { maskBsn, normaliseBsn } from '@app/core';
import { AuditService, BsnVault, validatePlain } from '@app/platform';
import type { Principal, FieldErrorDto } from '@app/platform';
import { ReferralMessageDto } from './referral-message.dto';
import { ReferralHandoffService } from './referral-handoff.service';
import type { ReferralStatus } from './referral.entity';
import type { ReferralViewDto } from './referral.view';

export type IntakeResult =
  | { outcome: 'created' | 'duplicate'; referral: ReferralViewDto }
  | { outcome: 'conflict'; messageId: string; withdrawn?: true }
  | { outcome: 'invalid'; errors: FieldErrorDto[] }
  | { outcome: 'forbidden'; errors: FieldErrorDto[] };

interface Sealed {
  msg: ReferralMessageDto;
  bsn: string;
  fingerprint: string;
  ciphertext: Buffer;
  keyId: string;
  blindIndex: string;
  /** The person as the access log knows them. */
  auditIndex: string;
  givenAt: string;
}

interface StoredRow {
  id: string;
  uzovi: string;
  message_id: string;
  content_fingerprint: string;
  status: ReferralStatus;
  verdict: string | null;
  received_at: Date;
  status_changed_at: Date;
}

const RETURNING = 'id, uzovi, message_id, content_fingerprint, status, verdict, received_at, status_changed_at';

/** Columns of the referral table by the message field they hold, for naming a refused value. */
const FIELD_BY_COLUMN: Record<string, string> = {
  uzovi: 'uzovi',
  message_id: 'messageId',
  verwijsdatum: 'verwijsdatum',
  klachtenprofiel: 'klachtenprofiel',
  dsm_code: 'dsmCode',
  agb: 'agb',
  consent_id: 'consent.id',
  consent_given_at: 'consent.givenAt',
  consent_scope: 'consent.scope',
  consent_channel: 'consent.channel',
};
const FIELD_BY_CONSTRAINT: Record<string, string> = { ck_referral_uzovi: 'uzovi', ck_referral_agb: 'agb', ck_referral_consent_scope: 'consent.scope' };

/**
 * When the database refused a message's values (SQLSTATE class 22, data exception, or 23, an
 * integrity constraint other than the idempotency key handled by ON CONFLICT): the field, as far
 * as the error names it, and a reason that never quotes the value. Null for any other error.
 */
export function storageRefusal(e: unknown): FieldErrorDto | null {
  const err = e as { code?: unknown; constraint?: unknown; column?: unknown };
  if (typeof err?.code !== 'string' || !/^2[23]/.test(err.code) || err.code === '23505') return null;
  const field =
    (typeof err.constraint === 'string' && (FIELD_BY_CONSTRAINT[err.constraint] ?? constraintField(err.constraint))) ||
    (typeof err.column === 'string' && FIELD_BY_COLUMN[err.column]) ||
    '(message)';
  return { field, reason: `could not be stored: the database refused the value (SQLSTATE ${err.code}); the other messages are not affected` };
}

/** A check constraint named ck_referral_<column>… names its column's field. */
function constraintField(constraint: string): string | undefined {
  const m = /^ck_referral_(.+)$/.exec(constraint);
  if (!m) return undefined;
  const column = Object.keys(FIELD_BY_COLUMN)
    .sort((a, b) => b.length - a.length)
    .find((c) => m[1] === c || m[1].startsWith(`${c}_`));
  return column && FIELD_BY_COLUMN[column];
}

@Injectable()
export class ReferralIntakeService {
  constructor(
    private readonly db: DataSource,
    private readonly vault: BsnVault,
    private readonly handoff: ReferralHandoffService,
    private readonly audit: AuditService,
  ) {}

  /** Validates one raw message without storing anything. */
  validate(plain: unknown, caller: Principal): { msg: ReferralMessageDto } | Extract<IntakeResult, { outcome: 'invalid' | 'forbidden' }> {
    const res = validatePlain(ReferralMessageDto, plain);
    if ('errors' in res) return { outcome: 'invalid', errors: res.errors };
    if (!caller.uzovis.includes(res.value.uzovi)) {
      return { outcome: 'forbidden', errors: [{ field: 'uzovi', reason: 'is not an insurer this caller may send referrals for' }] };
    }
    return { msg: res.value };
  }

  /** Throws 403 when the caller may not send for the message's insurer. */
  assertTenant(msg: ReferralMessageDto, caller: Principal): void {
    if (!caller.uzovis.includes(msg.uzovi)) {
      throw new ForbiddenException({
        message: 'The caller may not send referrals for this insurer',
        details: [{ field: 'uzovi', reason: 'is not an insurer this caller may send referrals for' }],
      });
    }
  }

  /** Stores already-validated messages; returns one result per message, in order. */
  async store(messages: ReferralMessageDto[], caller: Principal): Promise<IntakeResult[]> {
    const sealed = messages.map((m) => this.seal(m));
    const results: IntakeResult[] = new Array(sealed.length);
    if (sealed.length === 0) return results;

    // The referrals and their access-log entries ("create", one per row inserted) are one
    // statement, so one transaction: a connection lost in between (Postgres restarting, a
    // terminated backend) must not keep a referral whose intake was never logged — a re-delivery
    // would find it stored and log nothing either. One statement rather than BEGIN … COMMIT: two
    // round trips fewer for every referral delivered on its own.
    let inserted: StoredRow[];
    try {
      inserted = await this.insert(sealed, caller);
    } catch (e) {
      // A message the database refuses although it passed validation (a value out of a column's
      // range, a constraint the DTO does not know) fails the whole statement. It must not fail the
      // batch: the halves are stored on their own, down to the one message, which is answered
      // `invalid` naming the field. Anything else (the database unreachable, a bug) is thrown.
      const refusal = storageRefusal(e);
      if (!refusal) throw e;
      if (messages.length === 1) {
        results[0] = { outcome: 'invalid', errors: [refusal] };
        return results;
      }
      const half = Math.ceil(messages.length / 2);
      return [...(await this.store(messages.slice(0, half), caller)), ...(await this.store(messages.slice(half), caller))];
    }
    return this.settle(sealed, inserted, results);
  }

  /** Inserts the sealed messages and their access-log entries in one statement; returns the rows inserted. */
  private async insert(sealed: Sealed[], caller: Principal): Promise<StoredRow[]> {
    const col = <T>(f: (s: Sealed) => T) => sealed.map(f);
    const who = this.audit.actorColumns(caller);
    return this.db.query(
      `WITH ins AS (INSERT INTO referral (uzovi, message_id, content_fingerprint, bsn_ciphertext, bsn_key_id, bsn_blind_index,
                             verwijsdatum, klachtenprofiel, dsm_code, agb, consent_id, consent_given_at,
                             consent_scope, consent_channel, sender, audit_index)
       SELECT u.uzovi, u.message_id, u.fp, decode(u.ct, 'hex'), u.key_id, u.bidx, u.vd, u.kp, u.dsm, u.agb,
              u.cid, u.cat, u.cscope, u.cch, $15, u.aidx
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::date[], $8::text[],
                     $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::text[], $14::text[], $16::text[])
              AS u(uzovi, message_id, fp, ct, key_id, bidx, vd, kp, dsm, agb, cid, cat, cscope, cch, aidx)
       ON CONFLICT ON CONSTRAINT uq_referral_uzovi_message_id DO NOTHING
       RETURNING ${RETURNING}, audit_index),
       logged AS (SELECT access_log_append(jsonb_agg(jsonb_build_object('actor', $17::text, 'actorRole', $18::text, 'organisation', ins.uzovi,
                           'personIndex', ins.audit_index, 'action', 'create', 'resource', 'referral/' || ins.id, 'purpose', 'zorgbemiddeling',
                           'outcome', 'allowed'))) AS written FROM ins)
       SELECT ${RETURNING} FROM ins CROSS JOIN logged`,
      [
        col((s) => s.msg.uzovi),
        col((s) => s.msg.messageId),
        col((s) => s.fingerprint),
        col((s) => s.ciphertext.toString('hex')),
        col((s) => s.keyId),
        col((s) => s.blindIndex),
        col((s) => s.msg.verwijsdatum),
        col((s) => s.msg.klachtenprofiel),
        col((s) => s.msg.dsmCode ?? null),
        col((s) => s.msg.agb),
        col((s) => s.msg.consent.id),
        col((s) => s.givenAt),
        col((s) => s.msg.consent.scope),
        col((s) => s.msg.consent.channel),
        caller.subject,
        col((s) => s.auditIndex),
        who.actor,
        who.actorRole,
      ],
    );
  }

  /** Results for the rows inserted, then for the messages already stored (duplicates, conflicts); enqueues new work. */
  private async settle(sealed: Sealed[], inserted: StoredRow[], results: IntakeResult[]): Promise<IntakeResult[]> {
    const key = (uzovi: string, messageId: string) => `${uzovi}\u0000${messageId}`;
    const created = new Map(inserted.map((r) => [key(r.uzovi, r.message_id), r]));
    // A message id repeated within one batch is inserted once; the first occurrence is "created".
    const claimed = new Set<string>();
    const others: number[] = [];
    sealed.forEach((s, i) => {
      const k = key(s.msg.uzovi, s.msg.messageId);
      const row = created.get(k);
      if (row && !claimed.has(k) && row.content_fingerprint === s.fingerprint) {
        claimed.add(k);
        results[i] = { outcome: 'created', referral: this.view(s, row) };
      } else others.push(i);
    });

    if (others.length > 0) {
      const existing: StoredRow[] = await this.db.query(
        `SELECT ${RETURNING} FROM referral
          WHERE (uzovi, message_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
        [others.map((i) => sealed[i].msg.uzovi), others.map((i) => sealed[i].msg.messageId)],
      );
      const byKey = new Map(existing.map((r) => [key(r.uzovi, r.message_id), r]));
      for (const i of others) {
        const s = sealed[i];
        const row = byKey.get(key(s.msg.uzovi, s.msg.messageId));
        if (row && row.content_fingerprint === s.fingerprint) results[i] = { outcome: 'duplicate', referral: this.view(s, row) };
        // A message whose consent was withdrawn is not stored again, whatever it holds.
        else if (row?.status === 'withdrawn' || row?.status === 'erased') results[i] = { outcome: 'conflict', messageId: s.msg.messageId, withdrawn: true };
        else results[i] = { outcome: 'conflict', messageId: s.msg.messageId };
      }
    }

    // After commit: hand new work to the worker.
    // Re-deliveries of a still-pending referral are re-enqueued too; the job id makes it a no-op
    // when the job is already queued.
    const toEnqueue = results.flatMap((r) => ('referral' in r && r.referral.status === 'pending' ? [r.referral.id] : []));
    await this.handoff.enqueue([...new Set(toEnqueue)]);
    return results;
  }

  /**
   * The referral as insurer staff see it (BSN masked), logged as a read of the person; null when
   * it is not the caller's insurer's, or its consent was withdrawn, or retention erased it. The
   * purpose wall — staff read a referral only through its mediation task — is the caller's
   * (mediation's StaffReferralService), which also logs a refusal.
   */
  async viewForStaff(id: string, caller: Principal): Promise<ReferralViewDto | null> {
    const rows: Array<Record<string, any>> = await this.db.query(
      `SELECT id, uzovi, message_id, bsn_ciphertext, bsn_key_id, audit_index, to_char(verwijsdatum, 'YYYY-MM-DD') AS verwijsdatum,
              klachtenprofiel, dsm_code, agb, consent_id, consent_given_at, consent_scope, consent_channel,
              status, verdict, received_at, status_changed_at
         FROM referral
        WHERE id = $1 AND uzovi = ANY($2::text[]) AND status NOT IN ('withdrawn', 'erased')`,
      [id, caller.uzovis],
    );
    if (rows.length === 0) return null;
    const r = rows[0];
    const bsn = this.vault.open({ keyId: r.bsn_key_id, ciphertext: r.bsn_ciphertext });
    await this.audit.record([
      { actor: caller, organisation: r.uzovi, personIndex: r.audit_index, action: 'read', resource: `referral/${id}`, purpose: 'zorgbemiddeling', outcome: 'allowed' },
    ]);
    return {
      id: r.id,
      messageId: r.message_id,
      uzovi: r.uzovi,
      bsn: maskBsn(bsn),
      verwijsdatum: r.verwijsdatum,
      klachtenprofiel: r.klachtenprofiel,
      dsmCode: r.dsm_code,
      agb: r.agb,
      consent: { id: r.consent_id, givenAt: r.consent_given_at.toISOString(), scope: r.consent_scope, channel: r.consent_channel },
      status: r.status,
      verdict: r.verdict,
      receivedAt: r.received_at.toISOString(),
      statusChangedAt: r.status_changed_at.toISOString(),
    };
  }

  private seal(msg: ReferralMessageDto): Sealed {
    const bsn = normaliseBsn(msg.bsn);
    const givenAt = new Date(msg.consent.givenAt).toISOString();
    // Canonical content: normalised values in a fixed order, so formatting differences in a
    // re-delivery (key order, 8- vs 9-digit BSN, time-zone notation) are not conflicts.
    const canonical = JSON.stringify([
      msg.uzovi,
      msg.messageId,
      bsn,
      msg.verwijsdatum,
      msg.klachtenprofiel,
      msg.dsmCode ?? null,
      msg.agb,
      msg.consent.id,
      givenAt,
      msg.consent.scope,
      msg.consent.channel,
    ]);
    const { keyId, ciphertext } = this.vault.seal(bsn);
    return { msg, bsn, fingerprint: this.vault.fingerprint(canonical), ciphertext, keyId, blindIndex: this.vault.blindIndex(bsn), auditIndex: this.vault.auditIndex(bsn), givenAt };
  }

  private view(s: Sealed, row: StoredRow): ReferralViewDto {
    return {
      id: row.id,
      messageId: s.msg.messageId,
      uzovi: s.msg.uzovi,
      bsn: maskBsn(s.bsn),
      verwijsdatum: s.msg.verwijsdatum,
      klachtenprofiel: s.msg.klachtenprofiel,
      dsmCode: s.msg.dsmCode ?? null,
      agb: s.msg.agb,
      consent: { id: s.msg.consent.id, givenAt: s.givenAt, scope: s.msg.consent.scope, channel: s.msg.consent.channel },
      status: row.status,
      verdict: row.verdict ?? null,
      receivedAt: row.received_at.toISOString(),
      statusChangedAt: row.status_changed_at.toISOString(),
    };
  }
}
