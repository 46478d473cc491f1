import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Decisions that stay right under concurrent change (see docs/ARCHITECTURE.md, "Decisions").
 *
 * `referral.generation` is the decision wanted: every change to a decision's inputs bumps it for
 * the referrals it concerns, whatever their state. `judged_generation` is the generation the
 * stored decision judged. The worker stores a decision together with the generation it read
 * (the referral row is locked from reading to storing), so a change that lands meanwhile leaves
 * generation > judged_generation, and the referral stays pending. `ck_referral_generation` makes
 * "pending" and "a newer generation than the one judged" one fact, so no writer can mark a
 * referral evaluated without judging its current generation.
 *
 * `referral_evaluation.generation`: which generation a decision judged (null before this
 * migration). Verdict `no-norm`: no norm set applies on the referral date (was recorded as
 * no-data); counted apart and, like no-data, not a judgement for the report.
 *
 * Phase-1 withdrawal of tasks: outcome `phase-withdrawn` (set by the evaluation only) when a
 * referral's decision no longer allows approaching it and nobody has contacted the person yet;
 * `no_new_contact_since` flags a task whose contact is under way when that happens. Events
 * `withdrawn`, `reinstated`, `no-new-contact` and `contact-allowed` tell the story; claim-next
 * skips flagged tasks (the claimable index says so).
 *
 * `evaluation_catch_up`: inputs changed by other writers than the API routes that bump in their
 * own transaction — the registry (providers, locations, contracts: `registry_version.structure_version`,
 * kept by statement triggers) and the TTP's measured waits (the newest linkage run). The worker
 * compares them with what it saw last and re-evaluates when they moved, so nothing depends on a
 * call after a commit that a crash could skip.
 */
export class DecisionGenerations1764800000000 implements MigrationInterface {
  name = 'DecisionGenerations1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "referral" ADD "generation" integer NOT NULL DEFAULT 1`);
    await q.query(`ALTER TABLE "referral" ADD "judged_generation" integer`);
    await q.query(`UPDATE "referral" SET "judged_generation" = 1 WHERE "status" <> 'pending'`);
    await q.query(
      `ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_generation" CHECK (
         "status" NOT IN ('pending', 'evaluated') OR ("status" = 'pending') = ("judged_generation" IS DISTINCT FROM "generation"))`,
    );
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_verdict"`);
    await q.query(`ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_verdict" CHECK ("verdict" IN ('above-norm', 'within-norm', 'no-data', 'no-norm'))`);
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_pending_reason"`);
    await q.query(
      `ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_pending_reason" CHECK ("pending_reason" IN
        ('intake', 'wait-times', 'norm-set', 'policy', 'registry', 'measured-waits', 'daily', 'manual'))`,
    );

    await q.query(`ALTER TABLE "referral_evaluation" ADD "generation" integer`);
    await q.query(`ALTER TABLE "referral_evaluation" DROP CONSTRAINT "ck_referral_evaluation_verdict"`);
    await q.query(`ALTER TABLE "referral_evaluation" ADD CONSTRAINT "ck_referral_evaluation_verdict" CHECK ("verdict" IN ('above-norm', 'within-norm', 'no-data', 'no-norm'))`);
    // Decisions made without a norm set were stored as no-data; they are no-norm.
    await q.query(
      `UPDATE "referral_evaluation" SET "verdict" = 'no-norm', "explanation" = jsonb_set("explanation", '{result,verdict}', '"no-norm"')
        WHERE "norm_set_id" IS NULL AND "verdict" = 'no-data'`,
    );
    await q.query(`
      UPDATE "referral" r SET "verdict" = 'no-norm'
        WHERE r."verdict" = 'no-data'
          AND (SELECT e."norm_set_id" IS NULL FROM "referral_evaluation" e WHERE e."referral_id" = r."id" ORDER BY e."evaluated_at" DESC, e."id" DESC LIMIT 1)`);
    // The report's first judgement skips no-norm as it skips no-data.
    await q.query(`
      CREATE OR REPLACE FUNCTION "referral_judgement_keep"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO "referral_judgement" ("referral_id", "evaluation_id", "evaluated_at", "uzovi", "received_at", "above_aanmelding", "above_behandeling", "above_totaal")
        SELECT DISTINCT ON (n."referral_id") n."referral_id", n."id", n."evaluated_at", r."uzovi", r."received_at",
               coalesce(n."explanation" -> 'result' -> 'aboveNormStages' ? 'aanmelding', false),
               coalesce(n."explanation" -> 'result' -> 'aboveNormStages' ? 'behandeling', false),
               coalesce(n."explanation" -> 'result' -> 'aboveNormStages' ? 'totaal', false)
          FROM new_rows n JOIN "referral" r ON r."id" = n."referral_id"
         WHERE n."verdict" NOT IN ('no-data', 'no-norm') AND NOT EXISTS (SELECT 1 FROM "referral_judgement" j WHERE j."referral_id" = n."referral_id")
         ORDER BY n."referral_id", n."evaluated_at", n."id"
        ON CONFLICT ("referral_id") DO NOTHING;
        RETURN NULL;
      END $$`);

    await q.query(`ALTER TABLE "mediation_task" ADD "no_new_contact_since" TIMESTAMP WITH TIME ZONE`);
    await q.query(`ALTER TABLE "mediation_task" DROP CONSTRAINT "ck_mediation_task_outcome"`);
    await q.query(
      `ALTER TABLE "mediation_task" ADD CONSTRAINT "ck_mediation_task_outcome" CHECK ("outcome" IN
        ('accepted-alternative', 'prefers-to-wait', 'already-in-care', 'unreachable', 'declined', 'no-longer-needed', 'consent-withdrawn', 'phase-withdrawn'))`,
    );
    // Withdrawn by the phase rule only while nobody had made contact.
    await q.query(
      `ALTER TABLE "mediation_task" ADD CONSTRAINT "ck_mediation_task_phase_withdrawn" CHECK ("outcome" IS DISTINCT FROM 'phase-withdrawn' OR "first_contact_at" IS NULL)`,
    );
    await q.query(`ALTER TABLE "task_event" DROP CONSTRAINT "ck_task_event_type"`);
    await q.query(
      `ALTER TABLE "task_event" ADD CONSTRAINT "ck_task_event_type" CHECK ("type" IN ('created', 'claimed', 'released', 'assigned', 'contact-attempt',
        'awaiting-patient', 'alternatives-refreshed', 'outcome', 'reopened', 'stale-released', 'withdrawn', 'reinstated', 'no-new-contact', 'contact-allowed'))`,
    );
    await q.query(`DROP INDEX "ix_mediation_task_claimable"`);
    await q.query(
      `CREATE INDEX "ix_mediation_task_claimable" ON "mediation_task" ("uzovi", "priority" DESC, "due_date", "created_at", "id")
        WHERE "status" = 'open' AND "assignee" IS NULL AND "no_new_contact_since" IS NULL`,
    );

    await q.query(`ALTER TABLE "registry_version" ADD "structure_version" bigint NOT NULL DEFAULT 1`);
    await q.query(`
      CREATE FUNCTION "registry_structure_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE "registry_version" SET "structure_version" = "structure_version" + 1 WHERE "id" = 1;
        RETURN NULL;
      END $$`);
    for (const table of ['provider', 'provider_location', 'insurer_contract']) {
      await q.query(
        `CREATE TRIGGER "tr_${table}_registry_structure" AFTER INSERT OR UPDATE OR DELETE ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION "registry_structure_bump"()`,
      );
    }
    await q.query(`
      CREATE TABLE "evaluation_catch_up" (
        "kind" character varying(16) NOT NULL,
        "seen" text NOT NULL,
        "changed_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "pk_evaluation_catch_up" PRIMARY KEY ("kind"),
        CONSTRAINT "ck_evaluation_catch_up_kind" CHECK ("kind" IN ('registry', 'measured-waits'))
      )`);
    // The registry as it stands counts as seen: the decisions stored so far were made on it.
    await q.query(`INSERT INTO "evaluation_catch_up" ("kind", "seen") SELECT 'registry', "structure_version"::text FROM "registry_version" WHERE "id" = 1`);
    // The newest linkage run is read through the TTP's public outputs by the worker, which
    // re-evaluates once when it first sees one.
    await q.query(`INSERT INTO "evaluation_catch_up" ("kind", "seen") VALUES ('measured-waits', '')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "evaluation_catch_up"`);
    for (const table of ['provider', 'provider_location', 'insurer_contract']) await q.query(`DROP TRIGGER "tr_${table}_registry_structure" ON "${table}"`);
    await q.query(`DROP FUNCTION "registry_structure_bump"()`);
    await q.query(`ALTER TABLE "registry_version" DROP COLUMN "structure_version"`);
    await q.query(`DROP INDEX "ix_mediation_task_claimable"`);
    await q.query(
      `CREATE INDEX "ix_mediation_task_claimable" ON "mediation_task" ("uzovi", "priority" DESC, "due_date", "created_at", "id") WHERE "status" = 'open' AND "assignee" IS NULL`,
    );
    // History is append-only, and withdrawn tasks keep their outcome: the old lists return as
    // NOT VALID checks, binding new rows only.
    await q.query(`ALTER TABLE "task_event" DROP CONSTRAINT "ck_task_event_type"`);
    await q.query(
      `ALTER TABLE "task_event" ADD CONSTRAINT "ck_task_event_type" CHECK ("type" IN ('created', 'claimed', 'released', 'assigned', 'contact-attempt',
        'awaiting-patient', 'alternatives-refreshed', 'outcome', 'reopened', 'stale-released')) NOT VALID`,
    );
    await q.query(`ALTER TABLE "mediation_task" DROP CONSTRAINT "ck_mediation_task_phase_withdrawn"`);
    await q.query(`ALTER TABLE "mediation_task" DROP CONSTRAINT "ck_mediation_task_outcome"`);
    await q.query(
      `ALTER TABLE "mediation_task" ADD CONSTRAINT "ck_mediation_task_outcome" CHECK ("outcome" IN
        ('accepted-alternative', 'prefers-to-wait', 'already-in-care', 'unreachable', 'declined', 'no-longer-needed', 'consent-withdrawn')) NOT VALID`,
    );
    await q.query(`ALTER TABLE "mediation_task" DROP COLUMN "no_new_contact_since"`);
    await q.query(`
      CREATE OR REPLACE FUNCTION "referral_judgement_keep"() RETURNS trigger LANGUAGE plpgsql AS $$
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
    // no-norm goes back to no-data (what it was recorded as before).
    await q.query(`ALTER TABLE "referral_evaluation" DROP CONSTRAINT "ck_referral_evaluation_verdict"`);
    await q.query(`UPDATE "referral_evaluation" SET "verdict" = 'no-data', "explanation" = jsonb_set("explanation", '{result,verdict}', '"no-data"') WHERE "verdict" = 'no-norm'`);
    await q.query(`ALTER TABLE "referral_evaluation" ADD CONSTRAINT "ck_referral_evaluation_verdict" CHECK ("verdict" IN ('above-norm', 'within-norm', 'no-data'))`);
    await q.query(`ALTER TABLE "referral_evaluation" DROP COLUMN "generation"`);
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_pending_reason"`);
    await q.query(`UPDATE "referral" SET "pending_reason" = 'manual' WHERE "pending_reason" IN ('registry', 'measured-waits')`);
    await q.query(
      `ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_pending_reason" CHECK ("pending_reason" IN ('intake', 'wait-times', 'norm-set', 'policy', 'daily', 'manual'))`,
    );
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_verdict"`);
    await q.query(`UPDATE "referral" SET "verdict" = 'no-data' WHERE "verdict" = 'no-norm'`);
    await q.query(`ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_verdict" CHECK ("verdict" IN ('above-norm', 'within-norm', 'no-data'))`);
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_generation"`);
    await q.query(`ALTER TABLE "referral" DROP COLUMN "judged_generation"`);
    await q.query(`ALTER TABLE "referral" DROP COLUMN "generation"`);
  }
}
