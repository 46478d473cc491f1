import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * For the mediation report (GET /v1/reports/mediation), which counts per month the referrals
 * received and, among those judged, the share above the norm per stage.
 *
 * `referral_judgement` holds each referral's first judged evaluation (a verdict other than
 * no-data): which stages it found above the norm, with the referral's insurer and arrival time
 * (both fixed at intake) so that the report counts it without touching the referral. Looking the
 * first judgement up per referral in `referral_evaluation` (where the daily re-evaluation adds a
 * row per open referral per day, each with its explanation) took seconds for a year of national
 * referrals. A statement-level trigger keeps it — one INSERT per evaluation batch, the first
 * judgement wins (evaluations are stored in the order they are made) — so every writer keeps it right.
 *
 * `mediation_task.referred_weeks`: the referred provider's expected wait (shortest location,
 * aanmeld + behandel weeks) the task's alternatives were ranked against, set by the evaluation
 * that creates or refreshes them; weeks saved by an accepted alternative start from it. Filled
 * here for existing tasks from the newest evaluation that made or refreshed them.
 *
 * `ix_referral_uzovi_received_at`: an insurer's referrals by the time they arrived, with the
 * provider, diagnosis group and id in the index too, so that the report reads the index alone
 * (a quarter of the table's size) instead of the wide referral rows.
 */
export class MediationReport1764700000000 implements MigrationInterface {
  name = 'MediationReport1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "referral_judgement" (
        "referral_id" uuid NOT NULL,
        "evaluation_id" uuid NOT NULL,
        "evaluated_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "uzovi" character(4) NOT NULL,
        "received_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "above_aanmelding" boolean NOT NULL,
        "above_behandeling" boolean NOT NULL,
        "above_totaal" boolean NOT NULL,
        CONSTRAINT "pk_referral_judgement" PRIMARY KEY ("referral_id"),
        CONSTRAINT "fk_referral_judgement_referral" FOREIGN KEY ("referral_id") REFERENCES "referral" ("id") ON DELETE CASCADE
      )`);
    await q.query(`
      CREATE FUNCTION "referral_judgement_keep"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO "referral_judgement" ("referral_id", "evaluation_id", "evaluated_at", "uzovi", "received_at", "above_aanmelding", "above_behandeling", "above_totaal")
        SELECT DISTINCT ON (n."referral_id") n."referral_id", n."id", n."evaluated_at", r."uzovi", r."received_at",
               coalesce(n."explanation" -> 'result' -> 'aboveNormStages' ? 'aanmelding', false),
               coalesce(n."explanation" -> 'result' -> 'aboveNormStages' ? 'behandeling', false),
               coalesce(n."explanation" -> 'result' -> 'aboveNormStages' ? 'totaal', false)
          FROM new_rows n JOIN "referral" r ON r."id" = n."referral_id"
         WHERE n."verdict" <> 'no-data' AND NOT EXISTS (SELECT 1 FROM "referral_judgement" j WHERE j."referral_id" = n."referral_id")
         ORDER BY n."referral_id", n."evaluated_at", n."id"
        ON CONFLICT ("referral_id") DO NOTHING;
        RETURN NULL;
      END $$`);
    await q.query(
      `CREATE TRIGGER "tr_referral_evaluation_judgement" AFTER INSERT ON "referral_evaluation" REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION "referral_judgement_keep"()`,
    );
    // The evaluations made before this migration.
    await q.query(`
      INSERT INTO "referral_judgement" ("referral_id", "evaluation_id", "evaluated_at", "uzovi", "received_at", "above_aanmelding", "above_behandeling", "above_totaal")
      SELECT DISTINCT ON (e."referral_id") e."referral_id", e."id", e."evaluated_at", r."uzovi", r."received_at",
             coalesce(e."explanation" -> 'result' -> 'aboveNormStages' ? 'aanmelding', false),
             coalesce(e."explanation" -> 'result' -> 'aboveNormStages' ? 'behandeling', false),
             coalesce(e."explanation" -> 'result' -> 'aboveNormStages' ? 'totaal', false)
        FROM "referral_evaluation" e JOIN "referral" r ON r."id" = e."referral_id"
       WHERE e."verdict" <> 'no-data'
       ORDER BY e."referral_id", e."evaluated_at", e."id"`);
    await q.query(`CREATE INDEX "ix_referral_uzovi_received_at" ON "referral" ("uzovi", "received_at", "agb", "klachtenprofiel", "id")`);

    await q.query(`ALTER TABLE "mediation_task" ADD "referred_weeks" numeric(5,1)`);
    await q.query(`
      UPDATE "mediation_task" t SET "referred_weeks" = x."weeks"
        FROM (SELECT DISTINCT ON (e."task_id") e."task_id",
                     (SELECT round(min((w ->> 'aanmeldWeeks')::numeric + (w ->> 'behandelWeeks')::numeric), 1)
                        FROM jsonb_array_elements(e."explanation" -> 'waits') w) AS "weeks"
                FROM "referral_evaluation" e
               WHERE e."task_id" IS NOT NULL AND e."explanation" ->> 'mediation' IN ('task-created', 'task-updated')
               ORDER BY e."task_id", e."evaluated_at" DESC, e."id" DESC) x
       WHERE x."task_id" = t."id"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "mediation_task" DROP COLUMN "referred_weeks"`);
    await q.query(`DROP INDEX "ix_referral_uzovi_received_at"`);
    await q.query(`DROP TRIGGER "tr_referral_evaluation_judgement" ON "referral_evaluation"`);
    await q.query(`DROP FUNCTION "referral_judgement_keep"()`);
    await q.query(`DROP TABLE "referral_judgement"`);
  }
}
