import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The TTP is not an oracle (security review, items 9 and 11).
 *
 * `ttp.list_presence`: since when each person (stage-2 pseudonym) has been on a provider's list
 * without a break — the first snapshot that had them, and the newest. A snapshot that no longer
 * has a person removes their row, so a person who comes back starts again. Feedback names a
 * person to the provider only once they were on its list in two snapshots at least
 * TTP_FEEDBACK_MIN_DAYS apart (outputs.service.ts).
 *
 * `ttp.snapshot_accepted`: one row per snapshot taken into force, kept for a few days, so that
 * replacements per provider can be counted across API instances (TTP_SNAPSHOTS_PER_DAY).
 *
 * `run_feedback.person_ref`: a pseudonymous reference per disclosed person for the access log
 * (letters only, keyed; the TTP can recompute it for a person, nobody else can). Cleaned waiting
 * times carry how each count is suppressed, decided jointly with the insurer report: null shown,
 * 'primary' ("<5"), 'secondary' ("x"), 'withheld' (null). Rows of earlier runs get the
 * per-cell rule they were published under.
 */
export class TtpDisclosure1764910000000 implements MigrationInterface {
  name = 'TtpDisclosure1764910000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "ttp"."list_presence" (
        "agb" character(8) NOT NULL,
        "key_version" smallint NOT NULL,
        "pseudonym" character(64) NOT NULL,
        "first_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "last_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "pk_ttp_list_presence" PRIMARY KEY ("agb", "key_version", "pseudonym")
      )`);
    // The snapshots in force now count as the first sighting of their people.
    await q.query(`
      INSERT INTO "ttp"."list_presence" (agb, key_version, pseudonym, first_seen_at, last_seen_at)
      SELECT s.agb, s.key_version, e.pseudonym, s.uploaded_at, s.uploaded_at
        FROM "ttp"."current_snapshot" c JOIN "ttp"."snapshot" s ON s.id = c.snapshot_id JOIN "ttp"."snapshot_entry" e ON e.snapshot_id = s.id
      ON CONFLICT DO NOTHING`);
    await q.query(`
      CREATE TABLE "ttp"."snapshot_accepted" (
        "agb" character(8) NOT NULL,
        "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "snapshot_id" uuid NOT NULL,
        CONSTRAINT "pk_ttp_snapshot_accepted" PRIMARY KEY ("agb", "at", "snapshot_id")
      )`);
    await q.query(`ALTER TABLE "ttp"."run_feedback" ADD "person_ref" character varying(32)`);
    for (const stage of ['intake', 'treatment']) {
      const column = stage === 'intake' ? 'waiting_intake' : 'waiting_treatment';
      await q.query(`ALTER TABLE "ttp"."run_cleaned_wait" ADD "${stage}_suppressed" character varying(9)`);
      await q.query(
        `ALTER TABLE "ttp"."run_cleaned_wait" ADD CONSTRAINT "ck_ttp_run_cleaned_wait_${stage}_suppressed" CHECK ("${stage}_suppressed" IN ('primary', 'secondary', 'withheld'))`,
      );
      await q.query(`UPDATE "ttp"."run_cleaned_wait" SET "${stage}_suppressed" = 'primary' WHERE "${column}" BETWEEN 1 AND 4`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const stage of ['intake', 'treatment']) await q.query(`ALTER TABLE "ttp"."run_cleaned_wait" DROP COLUMN "${stage}_suppressed"`);
    await q.query(`ALTER TABLE "ttp"."run_feedback" DROP COLUMN "person_ref"`);
    await q.query(`DROP TABLE "ttp"."snapshot_accepted"`);
    await q.query(`DROP TABLE "ttp"."list_presence"`);
  }
}
