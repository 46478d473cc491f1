import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention: a referral's personal data is erased a set time after its task closed, or once it can
 * no longer lead to mediation. An erased referral keeps, like a withdrawn one, only what
 * anonymous counts need; the check now covers both. The nightly run records what it erased in
 * daily_run.details.
 */
export class Retention1764500000000 implements MigrationInterface {
  name = 'Retention1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "referral" ADD "erased_at" TIMESTAMP WITH TIME ZONE`);
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_status"`);
    await q.query(`ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_status" CHECK ("status" IN ('pending', 'evaluated', 'withdrawn', 'erased'))`);
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_withdrawn_erased"`);
    await q.query(
      `ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_personal_data" CHECK (
         CASE WHEN "status" IN ('withdrawn', 'erased')
              THEN "bsn_ciphertext" IS NULL AND "bsn_key_id" IS NULL AND "bsn_blind_index" IS NULL AND "content_fingerprint" IS NULL AND "dsm_code" IS NULL
                   AND "audit_index" IS NULL AND ("status" = 'erased') = ("erased_at" IS NOT NULL) AND ("status" = 'withdrawn') = ("withdrawn_at" IS NOT NULL AND "withdrawn_by" IS NOT NULL)
              ELSE "bsn_ciphertext" IS NOT NULL AND "bsn_key_id" IS NOT NULL AND "bsn_blind_index" IS NOT NULL AND "content_fingerprint" IS NOT NULL
                   AND "withdrawn_at" IS NULL AND "withdrawn_by" IS NULL AND "erased_at" IS NULL END)`,
    );
    // The retention run's candidates: closed tasks by closing time.
    await q.query(`CREATE INDEX "ix_mediation_task_closed_at" ON "mediation_task" ("closed_at") WHERE "status" = 'closed'`);
    await q.query(`ALTER TABLE "daily_run" ADD "details" jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "daily_run" DROP COLUMN "details"`);
    await q.query(`DROP INDEX "ix_mediation_task_closed_at"`);
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_personal_data"`);
    // Erased data cannot come back: erased referrals go, with their tasks' history.
    await q.query(`ALTER TABLE "task_event" DISABLE TRIGGER USER`);
    await q.query(`ALTER TABLE "task_access" DISABLE TRIGGER USER`);
    await q.query(`DELETE FROM "task_event" WHERE "task_id" IN (SELECT t."id" FROM "mediation_task" t JOIN "referral" r ON r."id" = t."referral_id" WHERE r."status" = 'erased')`);
    await q.query(`DELETE FROM "task_access" WHERE "task_id" IN (SELECT t."id" FROM "mediation_task" t JOIN "referral" r ON r."id" = t."referral_id" WHERE r."status" = 'erased')`);
    await q.query(`ALTER TABLE "task_event" ENABLE TRIGGER USER`);
    await q.query(`ALTER TABLE "task_access" ENABLE TRIGGER USER`);
    await q.query(`DELETE FROM "referral" WHERE "status" = 'erased'`);
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_status"`);
    await q.query(`ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_status" CHECK ("status" IN ('pending', 'evaluated', 'withdrawn'))`);
    await q.query(`ALTER TABLE "referral" DROP COLUMN "erased_at"`);
    await q.query(
      `ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_withdrawn_erased" CHECK (
         CASE WHEN "status" = 'withdrawn'
              THEN "bsn_ciphertext" IS NULL AND "bsn_key_id" IS NULL AND "bsn_blind_index" IS NULL AND "content_fingerprint" IS NULL
                   AND "dsm_code" IS NULL AND "withdrawn_at" IS NOT NULL AND "withdrawn_by" IS NOT NULL
              ELSE "bsn_ciphertext" IS NOT NULL AND "bsn_key_id" IS NOT NULL AND "bsn_blind_index" IS NOT NULL AND "content_fingerprint" IS NOT NULL
                   AND "withdrawn_at" IS NULL AND "withdrawn_by" IS NULL END)`,
    );
  }
}
