import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Linkage runs count their attempts. A run whose worker died mid-run (SIGKILL, out of memory, a
 * lost node) left nothing behind — its outputs are written in one transaction — and is now queued
 * again instead of marked failed, up to three attempts: a run that keeps killing its worker is
 * then failed rather than retried for ever.
 */
export class TtpRunAttempts1764600000000 implements MigrationInterface {
  name = 'TtpRunAttempts1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "ttp"."run" ADD "attempts" smallint NOT NULL DEFAULT 0`);
    // Runs finished before this migration took one attempt each.
    await q.query(`UPDATE "ttp"."run" SET "attempts" = 1 WHERE "started_at" IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "ttp"."run" DROP COLUMN "attempts"`);
  }
}
