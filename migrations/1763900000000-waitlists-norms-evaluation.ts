import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Provider registry (providers, locations, regions, diagnosis groups treated, insurer
 * contracts), published waiting times, dated norm sets and mediation policy, referral
 * evaluations and mediation tasks.
 */
export class WaitlistsNormsEvaluation1763900000000 implements MigrationInterface {
  name = 'WaitlistsNormsEvaluation1763900000000';

  async up(q: QueryRunner): Promise<void> {
    // Needed for the exclusion constraint that refuses overlapping norm sets (trusted extension).
    await q.query(`CREATE EXTENSION IF NOT EXISTS btree_gist`);

    await q.query(`
      CREATE TABLE "waiting_list_region" (
        "code" character varying(48) NOT NULL,
        "name" character varying(100) NOT NULL,
        CONSTRAINT "pk_waiting_list_region" PRIMARY KEY ("code")
      )`);
    // The 31 zorgkantoorregio's, frozen here as they were when this migration was written.
    await q.query(`
      INSERT INTO "waiting_list_region" ("code", "name") VALUES
        ('groningen', 'Groningen'),
        ('friesland', 'Friesland'),
        ('drenthe', 'Drenthe'),
        ('zwolle', 'Zwolle'),
        ('twente', 'Twente'),
        ('apeldoorn-zutphen', 'Apeldoorn Zutphen e.o.'),
        ('arnhem', 'Arnhem'),
        ('nijmegen', 'Nijmegen'),
        ('midden-ijssel', 'Midden-IJssel'),
        ('flevoland', 'Flevoland'),
        ('utrecht', 'Utrecht'),
        ('t-gooi', '''t Gooi'),
        ('noord-holland-noord', 'Noord-Holland Noord'),
        ('kennemerland', 'Kennemerland'),
        ('zaanstreek-waterland', 'Zaanstreek/Waterland'),
        ('amsterdam', 'Amsterdam'),
        ('amstelland-meerlanden', 'Amstelland en de Meerlanden'),
        ('zuid-holland-noord', 'Zuid-Holland Noord'),
        ('haaglanden', 'Haaglanden'),
        ('delft-westland-oostland', 'Delft Westland Oostland'),
        ('midden-holland', 'Midden-Holland'),
        ('rotterdam', 'Rotterdam'),
        ('waardenland', 'Waardenland'),
        ('zuid-hollandse-eilanden', 'Zuid-Hollandse Eilanden'),
        ('zeeland', 'Zeeland'),
        ('west-brabant', 'West-Brabant'),
        ('midden-brabant', 'Midden-Brabant'),
        ('noordoost-brabant', 'Noordoost-Brabant'),
        ('zuidoost-brabant', 'Zuidoost-Brabant'),
        ('noord-midden-limburg', 'Noord- en Midden-Limburg'),
        ('zuid-limburg', 'Zuid-Limburg')`);

    await q.query(`
      CREATE TABLE "provider" (
        "agb" character(8) NOT NULL,
        "name" character varying(200) NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "pk_provider" PRIMARY KEY ("agb"),
        CONSTRAINT "ck_provider_agb" CHECK ("agb" ~ '^[0-9]{8}$')
      )`);

    await q.query(`
      CREATE TABLE "provider_location" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "agb" character(8) NOT NULL,
        "code" character varying(40) NOT NULL,
        "name" character varying(200) NOT NULL,
        "postcode" character(6) NOT NULL,
        "municipality" character varying(100) NOT NULL,
        "region" character varying(48) NOT NULL,
        "diagnosis_groups" character varying(64) array NOT NULL DEFAULT '{}',
        CONSTRAINT "pk_provider_location" PRIMARY KEY ("id"),
        CONSTRAINT "uq_provider_location_agb_code" UNIQUE ("agb", "code"),
        CONSTRAINT "fk_provider_location_provider" FOREIGN KEY ("agb") REFERENCES "provider" ("agb") ON DELETE CASCADE,
        CONSTRAINT "fk_provider_location_region" FOREIGN KEY ("region") REFERENCES "waiting_list_region" ("code"),
        CONSTRAINT "ck_provider_location_postcode" CHECK ("postcode" ~ '^[1-9][0-9]{3}[A-Z]{2}$')
      )`);
    await q.query(`CREATE INDEX "ix_provider_location_diagnosis_groups" ON "provider_location" USING gin ("diagnosis_groups")`);

    await q.query(`
      CREATE TABLE "insurer_contract" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "uzovi" character(4) NOT NULL,
        "agb" character(8) NOT NULL,
        "valid_from" date NOT NULL,
        "valid_until" date,
        CONSTRAINT "pk_insurer_contract" PRIMARY KEY ("id"),
        CONSTRAINT "fk_insurer_contract_provider" FOREIGN KEY ("agb") REFERENCES "provider" ("agb") ON DELETE CASCADE,
        CONSTRAINT "ck_insurer_contract_uzovi" CHECK ("uzovi" ~ '^[0-9]{4}$'),
        CONSTRAINT "ck_insurer_contract_period" CHECK ("valid_until" IS NULL OR "valid_until" > "valid_from"),
        CONSTRAINT "ex_insurer_contract_overlap" EXCLUDE USING gist ("uzovi" WITH =, "agb" WITH =, daterange("valid_from", "valid_until") WITH &&)
      )`);

    // Every submission is kept; the current figure is the latest month, latest submission.
    await q.query(`
      CREATE TABLE "wait_time" (
        "id" bigint GENERATED ALWAYS AS IDENTITY,
        "location_id" uuid NOT NULL,
        "diagnosis_group" character varying(64) NOT NULL,
        "month" date NOT NULL,
        "aanmeld_weeks" numeric(5,1) NOT NULL,
        "behandel_weeks" numeric(5,1) NOT NULL,
        "submitted_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "submitted_by" character varying(128) NOT NULL,
        CONSTRAINT "pk_wait_time" PRIMARY KEY ("id"),
        CONSTRAINT "fk_wait_time_location" FOREIGN KEY ("location_id") REFERENCES "provider_location" ("id") ON DELETE CASCADE,
        CONSTRAINT "ck_wait_time_month" CHECK (date_trunc('month', "month") = "month"),
        CONSTRAINT "ck_wait_time_weeks" CHECK ("aanmeld_weeks" >= 0 AND "behandel_weeks" >= 0)
      )`);
    await q.query(`CREATE INDEX "ix_wait_time_location_group_month" ON "wait_time" ("location_id", "diagnosis_group", "month" DESC, "id" DESC)`);

    // The latest figure per location and diagnosis group (latest month; of that month the latest
    // submission), kept by a trigger so that every writer keeps it right. The evaluation reads
    // only this table: one index lookup per location instead of a search through the history.
    await q.query(`
      CREATE TABLE "wait_time_current" (
        "location_id" uuid NOT NULL,
        "diagnosis_group" character varying(64) NOT NULL,
        "month" date NOT NULL,
        "aanmeld_weeks" numeric(5,1) NOT NULL,
        "behandel_weeks" numeric(5,1) NOT NULL,
        "wait_time_id" bigint NOT NULL,
        "submitted_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "pk_wait_time_current" PRIMARY KEY ("location_id", "diagnosis_group"),
        CONSTRAINT "fk_wait_time_current_location" FOREIGN KEY ("location_id") REFERENCES "provider_location" ("id") ON DELETE CASCADE
      )`);
    await q.query(`
      CREATE FUNCTION "wait_time_keep_current"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO "wait_time_current" AS c ("location_id", "diagnosis_group", "month", "aanmeld_weeks", "behandel_weeks", "wait_time_id", "submitted_at")
        VALUES (NEW."location_id", NEW."diagnosis_group", NEW."month", NEW."aanmeld_weeks", NEW."behandel_weeks", NEW."id", NEW."submitted_at")
        ON CONFLICT ("location_id", "diagnosis_group") DO UPDATE
          SET "month" = EXCLUDED."month", "aanmeld_weeks" = EXCLUDED."aanmeld_weeks", "behandel_weeks" = EXCLUDED."behandel_weeks",
              "wait_time_id" = EXCLUDED."wait_time_id", "submitted_at" = EXCLUDED."submitted_at"
          WHERE (EXCLUDED."month", EXCLUDED."wait_time_id") > (c."month", c."wait_time_id");
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "tr_wait_time_keep_current" AFTER INSERT ON "wait_time" FOR EACH ROW EXECUTE FUNCTION "wait_time_keep_current"()`);

    // A counter that moves with every change to the registry or the figures. The worker caches
    // what it reads from them (alternatives, current figures) under this version; a change makes
    // the next batch read afresh. Statement-level triggers: one bump per statement, in its
    // transaction, so a reader never sees a new version before the data behind it.
    await q.query(`
      CREATE TABLE "registry_version" (
        "id" smallint NOT NULL DEFAULT 1,
        "version" bigint NOT NULL DEFAULT 1,
        "changed_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "pk_registry_version" PRIMARY KEY ("id"),
        CONSTRAINT "ck_registry_version_single_row" CHECK ("id" = 1)
      )`);
    await q.query(`INSERT INTO "registry_version" DEFAULT VALUES`);
    await q.query(`
      CREATE FUNCTION "registry_version_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE "registry_version" SET "version" = "version" + 1, "changed_at" = now() WHERE "id" = 1;
        RETURN NULL;
      END $$`);
    for (const table of ['provider', 'provider_location', 'insurer_contract', 'wait_time']) {
      await q.query(`CREATE TRIGGER "tr_${table}_registry_version" AFTER INSERT OR UPDATE OR DELETE ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION "registry_version_bump"()`);
    }

    await q.query(`
      CREATE TABLE "norm_set" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "name" character varying(100) NOT NULL,
        "sector" character varying(8) NOT NULL,
        "valid_from" date NOT NULL,
        "valid_until" date,
        "urgency" character varying(16),
        "category" character varying(16),
        "max_weeks" jsonb NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "created_by" character varying(128) NOT NULL,
        CONSTRAINT "pk_norm_set" PRIMARY KEY ("id"),
        CONSTRAINT "ck_norm_set_sector" CHECK ("sector" IN ('ggz', 'msz')),
        CONSTRAINT "ck_norm_set_period" CHECK ("valid_until" IS NULL OR "valid_until" > "valid_from"),
        CONSTRAINT "ex_norm_set_overlap" EXCLUDE USING gist (
          "sector" WITH =, (coalesce("urgency", '*')) WITH =, (coalesce("category", '*')) WITH =,
          daterange("valid_from", "valid_until") WITH &&)
      )`);
    await q.query(`
      INSERT INTO "norm_set" ("name", "sector", "valid_from", "valid_until", "max_weeks", "created_by") VALUES
        ('Treeknorm GGZ', 'ggz', '2000-01-01', NULL, '{"aanmelding": 4, "behandeling": 10, "totaal": 14}', 'migration'),
        ('Treeknorm MSZ', 'msz', '2000-01-01', NULL, '{"polikliniek": 4, "diagnostiek": 4, "behandeling": 6}', 'migration')`);

    // History of the policy; the newest row is in force.
    await q.query(`
      CREATE TABLE "mediation_policy" (
        "id" integer GENERATED ALWAYS AS IDENTITY,
        "phase1_from" date NOT NULL,
        "phase2_from" date,
        "changed_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "changed_by" character varying(128) NOT NULL,
        CONSTRAINT "pk_mediation_policy" PRIMARY KEY ("id"),
        CONSTRAINT "ck_mediation_policy_order" CHECK ("phase2_from" IS NULL OR "phase2_from" > "phase1_from")
      )`);
    await q.query(`INSERT INTO "mediation_policy" ("phase1_from", "phase2_from", "changed_by") VALUES ('2026-01-01', NULL, 'migration')`);

    // Referrals: pending → evaluated (the worker's evaluation), with the latest verdict.
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_status"`);
    await q.query(`UPDATE "referral" SET "status" = 'pending' WHERE "status" = 'ready-for-evaluation'`);
    await q.query(`ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_status" CHECK ("status" IN ('pending', 'evaluated'))`);
    await q.query(`ALTER TABLE "referral" ADD "verdict" character varying(16)`);
    await q.query(`ALTER TABLE "referral" ADD "evaluated_at" TIMESTAMP WITH TIME ZONE`);
    await q.query(`ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_verdict" CHECK ("verdict" IN ('above-norm', 'within-norm', 'no-data'))`);
    await q.query(`CREATE INDEX "ix_referral_agb_klachtenprofiel" ON "referral" ("agb", "klachtenprofiel")`);
    // Why a referral is pending: its first evaluation, or a re-evaluation someone asked for.
    await q.query(`ALTER TABLE "referral" ADD "pending_reason" character varying(16) NOT NULL DEFAULT 'intake'`);
    await q.query(
      `ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_pending_reason" CHECK ("pending_reason" IN ('intake', 'wait-times', 'norm-set', 'policy', 'daily', 'manual'))`,
    );
    // Re-evaluation sets a referral back to pending, so the sweeper measures from the status change.
    await q.query(`DROP INDEX "ix_referral_pending_received_at"`);
    await q.query(`CREATE INDEX "ix_referral_pending_since" ON "referral" ("status_changed_at") WHERE "status" = 'pending'`);

    await q.query(`
      CREATE TABLE "referral_evaluation" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "referral_id" uuid NOT NULL,
        "evaluated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "evaluation_date" date NOT NULL,
        "trigger" character varying(24) NOT NULL,
        "verdict" character varying(16) NOT NULL,
        "phase" character varying(8) NOT NULL,
        "norm_set_id" uuid,
        "explanation" jsonb NOT NULL,
        "task_id" uuid,
        CONSTRAINT "pk_referral_evaluation" PRIMARY KEY ("id"),
        CONSTRAINT "fk_referral_evaluation_referral" FOREIGN KEY ("referral_id") REFERENCES "referral" ("id") ON DELETE CASCADE,
        CONSTRAINT "fk_referral_evaluation_norm_set" FOREIGN KEY ("norm_set_id") REFERENCES "norm_set" ("id"),
        CONSTRAINT "ck_referral_evaluation_verdict" CHECK ("verdict" IN ('above-norm', 'within-norm', 'no-data')),
        CONSTRAINT "ck_referral_evaluation_phase" CHECK ("phase" IN ('none', 'phase-1', 'phase-2'))
      )`);
    await q.query(`CREATE INDEX "ix_referral_evaluation_referral" ON "referral_evaluation" ("referral_id", "evaluated_at")`);

    // One task per referral, ever: the unique constraint is what makes re-evaluation safe.
    await q.query(`
      CREATE TABLE "mediation_task" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "referral_id" uuid NOT NULL,
        "uzovi" character(4) NOT NULL,
        "status" character varying(20) NOT NULL DEFAULT 'open',
        "priority" smallint NOT NULL,
        "alternatives" jsonb NOT NULL,
        "alternatives_updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "created_by_evaluation_id" uuid NOT NULL,
        "assignee" character varying(128),
        "version" integer NOT NULL DEFAULT 1,
        CONSTRAINT "pk_mediation_task" PRIMARY KEY ("id"),
        CONSTRAINT "uq_mediation_task_referral" UNIQUE ("referral_id"),
        CONSTRAINT "fk_mediation_task_referral" FOREIGN KEY ("referral_id") REFERENCES "referral" ("id") ON DELETE CASCADE,
        CONSTRAINT "ck_mediation_task_status" CHECK ("status" IN ('open', 'in-progress', 'awaiting-patient', 'closed')),
        CONSTRAINT "ck_mediation_task_priority" CHECK ("priority" BETWEEN 1 AND 5)
      )`);
    await q.query(`CREATE INDEX "ix_mediation_task_uzovi_status" ON "mediation_task" ("uzovi", "status", "priority" DESC, "created_at")`);

    // Once-a-day jobs claim their day here, so that several workers run them once, and a Redis
    // flush cannot lose them.
    await q.query(`
      CREATE TABLE "daily_run" (
        "kind" character varying(32) NOT NULL,
        "day" date NOT NULL,
        "started_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "affected" integer,
        CONSTRAINT "pk_daily_run" PRIMARY KEY ("kind", "day")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "daily_run"`);
    await q.query(`DROP TABLE "mediation_task"`);
    await q.query(`DROP TABLE "referral_evaluation"`);
    await q.query(`DROP INDEX "ix_referral_pending_since"`);
    await q.query(`CREATE INDEX "ix_referral_pending_received_at" ON "referral" ("received_at") WHERE "status" = 'pending'`);
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_pending_reason"`);
    await q.query(`ALTER TABLE "referral" DROP COLUMN "pending_reason"`);
    await q.query(`DROP INDEX "ix_referral_agb_klachtenprofiel"`);
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_verdict"`);
    await q.query(`ALTER TABLE "referral" DROP COLUMN "verdict"`);
    await q.query(`ALTER TABLE "referral" DROP COLUMN "evaluated_at"`);
    await q.query(`ALTER TABLE "referral" DROP CONSTRAINT "ck_referral_status"`);
    await q.query(`UPDATE "referral" SET "status" = 'ready-for-evaluation' WHERE "status" = 'evaluated'`);
    await q.query(`ALTER TABLE "referral" ADD CONSTRAINT "ck_referral_status" CHECK ("status" IN ('pending', 'ready-for-evaluation'))`);
    for (const table of ['provider', 'provider_location', 'insurer_contract', 'wait_time']) {
      await q.query(`DROP TRIGGER "tr_${table}_registry_version" ON "${table}"`);
    }
    await q.query(`DROP FUNCTION "registry_version_bump"()`);
    await q.query(`DROP TABLE "registry_version"`);
    await q.query(`DROP TABLE "mediation_policy"`);
    await q.query(`DROP TABLE "norm_set"`);
    await q.query(`DROP TRIGGER "tr_wait_time_keep_current" ON "wait_time"`);
    await q.query(`DROP FUNCTION "wait_time_keep_current"()`);
    await q.query(`DROP TABLE "wait_time_current"`);
    await q.query(`DROP TABLE "wait_time"`);
    await q.query(`DROP TABLE "insurer_contract"`);
    await q.query(`DROP TABLE "provider_location"`);
    await q.query(`DROP TABLE "provider"`);
    await q.query(`DROP TABLE "waiting_list_region"`);
  }
}
