/**
 * A consented referral as stored. The BSN exists only as AES-GCM ciphertext (with its key id)
 * and as a keyed blind index; the schema itself is written by hand in migrations/, and this
 * mapping must agree with it (a test compares them).
 */
import { Check, Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

export const REFERRAL_STATUSES = ['pending', 'evaluated', 'withdrawn', 'erased'] as const;
/**
 * pending: waiting for an evaluation — its first (after intake) or a re-evaluation (new figures,
 * a new norm set, a policy change, the daily sweep); the sweeper re-enqueues these.
 * evaluated: the latest evaluation is stored; `verdict` holds its outcome.
 * withdrawn: consent was withdrawn; the BSN and everything derived from it are erased, and only
 * what anonymous counts need remains.
 * erased: the same erasure by the retention run, once the data served its purpose.
 */
export type ReferralStatus = (typeof REFERRAL_STATUSES)[number];
export const PENDING_REASONS = ['intake', 'wait-times', 'norm-set', 'policy', 'registry', 'measured-waits', 'daily', 'manual'] as const;
export type PendingReason = (typeof PENDING_REASONS)[number];

@Entity({ name: 'referral' })
@Unique('uq_referral_uzovi_message_id', ['uzovi', 'messageId'])
@Check('ck_referral_status', `"status" IN ('pending', 'evaluated', 'withdrawn', 'erased')`)
@Check(
  'ck_referral_personal_data',
  `CASE WHEN "status" IN ('withdrawn', 'erased')
              THEN "bsn_ciphertext" IS NULL AND "bsn_key_id" IS NULL AND "bsn_blind_index" IS NULL AND "content_fingerprint" IS NULL AND "dsm_code" IS NULL
                   AND "audit_index" IS NULL AND ("status" = 'erased') = ("erased_at" IS NOT NULL) AND ("status" = 'withdrawn') = ("withdrawn_at" IS NOT NULL AND "withdrawn_by" IS NOT NULL)
              ELSE "bsn_ciphertext" IS NOT NULL AND "bsn_key_id" IS NOT NULL AND "bsn_blind_index" IS NOT NULL AND "content_fingerprint" IS NOT NULL
                   AND "withdrawn_at" IS NULL AND "withdrawn_by" IS NULL AND "erased_at" IS NULL END`,
)
@Check('ck_referral_verdict', `"verdict" IN ('above-norm', 'within-norm', 'no-data', 'no-norm')`)
@Check('ck_referral_pending_reason', `"pending_reason" IN ('intake', 'wait-times', 'norm-set', 'policy', 'registry', 'measured-waits', 'daily', 'manual')`)
// Pending exactly while a newer decision is wanted than the one judged (migration 1764800000000).
@Check('ck_referral_generation', `"status" NOT IN ('pending', 'evaluated') OR ("status" = 'pending') = ("judged_generation" IS DISTINCT FROM "generation")`)
@Check('ck_referral_uzovi', `"uzovi" ~ '^[0-9]{4}$'`)
@Check('ck_referral_agb', `"agb" ~ '^[0-9]{8}$'`)
@Check('ck_referral_consent_scope', `"consent_scope" = 'zorgbemiddeling'`)
@Index('ix_referral_pending_since', ['statusChangedAt'], { where: `"status" = 'pending'` })
@Index('ix_referral_agb_klachtenprofiel', ['agb', 'klachtenprofiel'])
// The mediation report: an insurer's referrals by month of arrival, read from the index alone (migration 1764700000000).
@Index('ix_referral_uzovi_received_at', ['uzovi', 'receivedAt', 'agb', 'klachtenprofiel', 'id'])
export class ReferralEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'pk_referral' })
  id: string;

  @Column({ type: 'char', length: 4 })
  uzovi: string;

  @Column({ name: 'message_id', type: 'varchar', length: 128 })
  messageId: string;

  /** Keyed hash of the message's canonical content: same id + same content = re-delivery. Erased on withdrawal. */
  @Column({ name: 'content_fingerprint', type: 'char', length: 64, nullable: true })
  contentFingerprint: string | null;

  /** Erased (null) when consent is withdrawn, as are the key id and the blind index. */
  @Column({ name: 'bsn_ciphertext', type: 'bytea', nullable: true })
  bsnCiphertext: Buffer | null;

  @Column({ name: 'bsn_key_id', type: 'varchar', length: 32, nullable: true })
  bsnKeyId: string | null;

  /** The person as the access log knows them (BsnVault.auditIndex); erased with the BSN. */
  @Column({ name: 'audit_index', type: 'char', length: 64, nullable: true })
  auditIndex: string | null;

  @Index('ix_referral_bsn_blind_index')
  @Column({ name: 'bsn_blind_index', type: 'char', length: 64, nullable: true })
  bsnBlindIndex: string | null;

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

  @Column({ name: 'pending_reason', type: 'varchar', length: 16, default: () => "'intake'" })
  pendingReason: PendingReason;

  /** Outcome of the latest evaluation; the history is in referral_evaluation. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  verdict: 'above-norm' | 'within-norm' | 'no-data' | 'no-norm' | null;

  /** The decision wanted: bumped by every change to the inputs of this referral's decision. */
  @Column({ type: 'integer', default: 1 })
  generation: number;

  /** The generation the stored decision judged (null before the first). */
  @Column({ name: 'judged_generation', type: 'integer', nullable: true })
  judgedGeneration: number | null;

  @Column({ name: 'evaluated_at', type: 'timestamptz', nullable: true })
  evaluatedAt: Date | null;

  @Column({ name: 'withdrawn_at', type: 'timestamptz', nullable: true })
  withdrawnAt: Date | null;

  /** Subject of the token that withdrew the consent. */
  @Column({ name: 'withdrawn_by', type: 'varchar', length: 128, nullable: true })
  withdrawnBy: string | null;

  /** When the retention run erased the personal data. */
  @Column({ name: 'erased_at', type: 'timestamptz', nullable: true })
  erasedAt: Date | null;
}
