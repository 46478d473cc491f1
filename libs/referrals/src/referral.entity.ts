/**
 * A consented referral as stored. The BSN exists only as AES-GCM ciphertext (with its key id)
 * and as a keyed blind index; the schema itself is written by hand in migrations/, and this
 * mapping must agree with it (a test compares them).
 */
import { Check, Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

export const REFERRAL_STATUSES = ['pending', 'ready-for-evaluation'] as const;
/**
 * pending: stored, not yet taken over by the worker (the sweeper re-enqueues these);
 * ready-for-evaluation: the worker has it; the evaluation starts from here.
 */
export type ReferralStatus = (typeof REFERRAL_STATUSES)[number];

@Entity({ name: 'referral' })
@Unique('uq_referral_uzovi_message_id', ['uzovi', 'messageId'])
@Check('ck_referral_status', `"status" IN ('pending', 'ready-for-evaluation')`)
@Check('ck_referral_uzovi', `"uzovi" ~ '^[0-9]{4}$'`)
@Check('ck_referral_agb', `"agb" ~ '^[0-9]{8}$'`)
@Check('ck_referral_consent_scope', `"consent_scope" = 'zorgbemiddeling'`)
@Index('ix_referral_pending_received_at', ['receivedAt'], { where: `"status" = 'pending'` })
export class ReferralEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'pk_referral' })
  id: string;

  @Column({ type: 'char', length: 4 })
  uzovi: string;

  @Column({ name: 'message_id', type: 'varchar', length: 128 })
  messageId: string;

  /** Keyed hash of the message's canonical content: same id + same content = re-delivery. */
  @Column({ name: 'content_fingerprint', type: 'char', length: 64 })
  contentFingerprint: string;

  @Column({ name: 'bsn_ciphertext', type: 'bytea' })
  bsnCiphertext: Buffer;

  @Column({ name: 'bsn_key_id', type: 'varchar', length: 32 })
  bsnKeyId: string;

  @Index('ix_referral_bsn_blind_index')
  @Column({ name: 'bsn_blind_index', type: 'char', length: 64 })
  bsnBlindIndex: string;

  @Column({ type: 'date' })
  verwijsdatum: string;

  @Column({ type: 'varchar', length: 64 })
  klachtenprofiel: string;

  @Column({ name: 'dsm_code', type: 'varchar', length: 16, nullable: true })
  dsmCode: string | null;

  @Column({ type: 'char', length: 8 })
  agb: string;

  @Column({ name: 'consent_id', type: 'varchar', length: 128 })
  consentId: string;

  @Column({ name: 'consent_given_at', type: 'timestamptz' })
  consentGivenAt: Date;

  @Column({ name: 'consent_scope', type: 'varchar', length: 32 })
  consentScope: string;

  @Column({ name: 'consent_channel', type: 'varchar', length: 64 })
  consentChannel: string;

  /** Subject of the token that delivered the message. */
  @Column({ type: 'varchar', length: 128 })
  sender: string;

  @Column({ type: 'varchar', length: 32, default: () => "'pending'" })
  status: ReferralStatus;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt: Date;

  @Column({ name: 'status_changed_at', type: 'timestamptz', default: () => 'now()' })
  statusChangedAt: Date;
}
