import { MigrationInterface, QueryRunner } from 'typeorm';

/** Consented referrals: encrypted BSN + blind index, idempotency per (uzovi, message_id). */
export class Referral1763800000000 implements MigrationInterface {
  name = 'Referral1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "referral" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "uzovi" character(4) NOT NULL,
        "message_id" character varying(128) NOT NULL,
        "content_fingerprint" character(64) NOT NULL,
        "bsn_ciphertext" bytea NOT NULL,
        "bsn_key_id" character varying(32) NOT NULL,
        "bsn_blind_index" character(64) NOT NULL,
        "verwijsdatum" date NOT NULL,
        "klachtenprofiel" character varying(64) NOT NULL,
        "dsm_code" character varying(16),
        "agb" character(8) NOT NULL,
        "consent_id" character varying(128) NOT NULL,
        "consent_given_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "consent_scope" character varying(32) NOT NULL,
        "consent_channel" character varying(64) NOT NULL,
        "sender" character varying(128) NOT NULL,
        "status" character varying(32) NOT NULL DEFAULT 'pending',
        "received_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "status_changed_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "pk_referral" PRIMARY KEY ("id"),
        CONSTRAINT "uq_referral_uzovi_message_id" UNIQUE ("uzovi", "message_id"),
        CONSTRAINT "ck_referral_status" CHECK ("status" IN ('pending', 'ready-for-evaluation')),
        CONSTRAINT "ck_referral_uzovi" CHECK ("uzovi" ~ '^[0-9]{4}$'),
        CONSTRAINT "ck_referral_agb" CHECK ("agb" ~ '^[0-9]{8}$'),
        CONSTRAINT "ck_referral_consent_scope" CHECK ("consent_scope" = 'zorgbemiddeling')
      )`);
    await q.query(`CREATE INDEX "ix_referral_bsn_blind_index" ON "referral" ("bsn_blind_index")`);
    // The sweeper's query: pending referrals older than a delay, oldest first.
    await q.query(`CREATE INDEX "ix_referral_pending_received_at" ON "referral" ("received_at") WHERE "status" = 'pending'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "referral"`);
  }
}
