import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Consent withdrawal: a withdrawn referral keeps only what anonymous counts need (insurer,
 * provider, diagnosis group, dates, verdict); its BSN ciphertext, key id, blind index, content
 * fingerprint (a keyed hash over the BSN) and DSM code are erased, in the same statement that
 * marks it withdrawn. The check makes "withdrawn" and "erased" the same fact.
 */
export class ConsentWithdrawal1764300000000 implements MigrationInterface {
  name = 'ConsentWithdrawal1764300000000';

  async up(q: QueryRunner): Promise<void> {
    for (const c of ['bsn_ciphertext', 'bsn_key_id', 'bsn_blind_index', 'content_fingerprint']) {
      await q.query(`ALTER TABLE "referral" ALTER COLUMN "${c}" DROP NOT NULL`);
    }
    await q.query(`ALTER TABLE "referral" ADD "withdrawn_at" TIMESTAMP WITH TIME ZONE`);
    await q.query(`ALTER TABLE "referral" ADD "withdrawn_by" character varying(128)`);
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_status"`);
    await q.query(`ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_status" CHECK ("status" IN ('pending', 'evaluated', 'withdrawn'))`);
    await q.query(
      `ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_withdrawn_erased" CHECK (
         CASE WHEN "status" = 'withdrawn'
              THEN "bsn_ciphertext" IS NULL AND "bsn_key_id" IS NULL AND "bsn_blind_index" IS NULL AND "content_fingerprint" IS NULL
                   AND "dsm_code" IS NULL AND "withdrawn_at" IS NOT NULL AND "withdrawn_by" IS NOT NULL
              ELSE "bsn_ciphertext" IS NOT NULL AND "bsn_key_id" IS NOT NULL AND "bsn_blind_index" IS NOT NULL AND "content_fingerprint" IS NOT NULL
                   AND "withdrawn_at" IS NULL AND "withdrawn_by" IS NULL END)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // Erased data cannot come back: withdrawn referrals are removed with their tasks' history.
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_withdrawn_erased"`);
    await q.query(`ALTER TABLE "task_event" DISABLE TRIGGER USER`);
    await q.query(`ALTER TABLE "task_access" DISABLE TRIGGER USER`);
    await q.query(
      `DELETE FROM "task_event" WHERE "task_id" IN (SELECT t."id" FROM "mediation_task" t JOIN "referral" r ON r."id" = t."referral_id" WHERE r."status" = 'withdrawn')`,
    );
    await q.query(
      `DELETE FROM "task_access" WHERE "task_id" IN (SELECT t."id" FROM "mediation_task" t JOIN "referral" r ON r."id" = t."referral_id" WHERE r."status" = 'withdrawn')`,
    );
    await q.query(`ALTER TABLE "task_event" ENABLE TRIGGER USER`);
    await q.query(`ALTER TABLE "task_access" ENABLE TRIGGER USER`);
    await q.query(`DELETE FROM "referral" WHERE "status" = 'withdrawn'`);
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_status"`);
    await q.query(`ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_status" CHECK ("status" IN ('pending', 'evaluated'))`);
    await q.query(`ALTER TABLE "referral" DROP COLUMN "withdrawn_by"`);
    await q.query(`ALTER TABLE "referral" DROP COLUMN "withdrawn_at"`);
    for (const c of ['bsn_ciphertext', 'bsn_key_id', 'bsn_blind_index', 'content_fingerprint']) {
      await q.query(`ALTER TABLE "referral" ALTER COLUMN "${c}" SET NOT NULL`);
    }
  }
}
