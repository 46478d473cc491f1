import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Linkage runs of the TTP and what they produce: the run itself (inputs, timings, counts and the
 * insurer report, already suppressed), each provider's feedback (its own client references whose
 * person also waits elsewhere) and the cleaned waiting times per location and diagnosis group.
 * Schema `ttp`, read and written only by libs/ttp.
 */
export class TtpLinkage1764200000000 implements MigrationInterface {
  name = 'TtpLinkage1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "ttp"."run" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "trigger" character varying(16) NOT NULL,
        "requested_by" character varying(128) NOT NULL,
        "status" character varying(16) NOT NULL DEFAULT 'queued',
        "requested_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "started_at" TIMESTAMP WITH TIME ZONE,
        "finished_at" TIMESTAMP WITH TIME ZONE,
        "key_version" smallint,
        "as_of" date,
        "inputs_key" character(64),
        "inputs" jsonb,
        "awaiting_resend" jsonb,
        "counts" jsonb,
        "timings" jsonb,
        "report" jsonb,
        "same_as" uuid,
        "error" character varying(500),
        CONSTRAINT "pk_ttp_run" PRIMARY KEY ("id"),
        CONSTRAINT "ck_ttp_run_trigger" CHECK ("trigger" IN ('nightly', 'on-demand')),
        CONSTRAINT "ck_ttp_run_status" CHECK ("status" IN ('queued', 'running', 'done', 'failed')),
        CONSTRAINT "ck_ttp_run_done" CHECK ("status" <> 'done' OR ("inputs_key" IS NOT NULL AND "finished_at" IS NOT NULL))
      )`);
    // A run over the inputs of the newest computed run points at it (same_as) instead of computing.
    await q.query(`CREATE INDEX "ix_ttp_run_inputs" ON "ttp"."run" ("inputs_key") WHERE "status" = 'done' AND "same_as" IS NULL`);
    await q.query(`CREATE INDEX "ix_ttp_run_requested" ON "ttp"."run" ("requested_at" DESC)`);

    await q.query(`
      CREATE TABLE "ttp"."run_feedback" (
        "run_id" uuid NOT NULL,
        "agb" character(8) NOT NULL,
        "client_ref" character varying(64) NOT NULL,
        "other_lists" smallint NOT NULL,
        "other_stages" character varying(20)[] NOT NULL,
        CONSTRAINT "pk_ttp_run_feedback" PRIMARY KEY ("run_id", "agb", "client_ref"),
        CONSTRAINT "fk_ttp_run_feedback_run" FOREIGN KEY ("run_id") REFERENCES "ttp"."run" ("id") ON DELETE CASCADE
      )`);

    await q.query(`
      CREATE TABLE "ttp"."run_cleaned_wait" (
        "run_id" uuid NOT NULL,
        "agb" character(8) NOT NULL,
        "location" character varying(40) NOT NULL,
        "diagnosis_group" character varying(64) NOT NULL,
        "entries" integer NOT NULL,
        "waiting_intake" integer NOT NULL,
        "waiting_treatment" integer NOT NULL,
        "left_out" integer NOT NULL,
        "intake_median_weeks" numeric(5,1),
        "intake_p80_weeks" numeric(5,1),
        "treatment_median_weeks" numeric(5,1),
        "treatment_p80_weeks" numeric(5,1),
        "declared_month" date,
        "declared_aanmeld_weeks" numeric(5,1),
        "declared_behandel_weeks" numeric(5,1),
        "flagged" boolean NOT NULL,
        CONSTRAINT "pk_ttp_run_cleaned_wait" PRIMARY KEY ("run_id", "agb", "location", "diagnosis_group"),
        CONSTRAINT "fk_ttp_run_cleaned_wait_run" FOREIGN KEY ("run_id") REFERENCES "ttp"."run" ("id") ON DELETE CASCADE
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "ttp"."run_cleaned_wait"`);
    await q.query(`DROP TABLE "ttp"."run_feedback"`);
    await q.query(`DROP TABLE "ttp"."run"`);
  }
}
