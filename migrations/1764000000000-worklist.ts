import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The mediation worklist: due dates, claims, contact attempts and outcomes on tasks; the
 * append-only history of every task event; and the log of who opened which task.
 */
export class Worklist1764000000000 implements MigrationInterface {
  name = 'Worklist1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "mediation_task" ADD "due_date" date`);
    // Tasks made before the worklist existed have no due date: they are due at once.
    await q.query(`UPDATE "mediation_task" SET "due_date" = ("created_at" AT TIME ZONE 'Europe/Amsterdam')::date`);
    await q.query(`ALTER TABLE "mediation_task" ALTER COLUMN "due_date" SET NOT NULL`);
    await q.query(`ALTER TABLE "mediation_task" ADD "claimed_at" TIMESTAMP WITH TIME ZONE`);
    await q.query(`ALTER TABLE "mediation_task" ADD "last_activity_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()`);
    await q.query(`ALTER TABLE "mediation_task" ADD "first_contact_at" TIMESTAMP WITH TIME ZONE`);
    await q.query(`ALTER TABLE "mediation_task" ADD "contact_attempts" integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "mediation_task" ADD "failed_contact_attempts" integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "mediation_task" ADD "outcome" character varying(32)`);
    await q.query(`ALTER TABLE "mediation_task" ADD "outcome_details" jsonb`);
    await q.query(`ALTER TABLE "mediation_task" ADD "closed_at" TIMESTAMP WITH TIME ZONE`);
    await q.query(
      `ALTER TABLE "mediation_task" ADD CONSTRAINT "ck_mediation_task_outcome" CHECK ("outcome" IN
        ('accepted-alternative', 'prefers-to-wait', 'already-in-care', 'unreachable', 'declined', 'no-longer-needed', 'consent-withdrawn'))`,
    );
    // Closed exactly when there is an outcome; an assignee exactly while someone works it.
    await q.query(`ALTER TABLE "mediation_task" ADD CONSTRAINT "ck_mediation_task_closed_outcome" CHECK (("status" = 'closed') = ("outcome" IS NOT NULL))`);
    await q.query(
      `ALTER TABLE "mediation_task" ADD CONSTRAINT "ck_mediation_task_assignee" CHECK (("status" IN ('in-progress', 'awaiting-patient')) = ("assignee" IS NOT NULL) OR "status" = 'closed')`,
    );

    // claim-next: the caller's insurer's open, unassigned tasks, most urgent first.
    await q.query(
      `CREATE INDEX "ix_mediation_task_claimable" ON "mediation_task" ("uzovi", "priority" DESC, "due_date", "created_at", "id") WHERE "status" = 'open' AND "assignee" IS NULL`,
    );
    await q.query(`CREATE INDEX "ix_mediation_task_assignee" ON "mediation_task" ("uzovi", "assignee", "status") WHERE "assignee" IS NOT NULL`);
    await q.query(`CREATE INDEX "ix_mediation_task_stale" ON "mediation_task" ("last_activity_at") WHERE "status" = 'in-progress'`);
    await q.query(`CREATE INDEX "ix_mediation_task_uzovi_due" ON "mediation_task" ("uzovi", "due_date", "id")`);
    await q.query(`CREATE INDEX "ix_mediation_task_uzovi_created" ON "mediation_task" ("uzovi", "created_at", "id")`);

    await q.query(`
      CREATE TABLE "task_event" (
        "id" bigint GENERATED ALWAYS AS IDENTITY,
        "task_id" uuid NOT NULL,
        "uzovi" character(4) NOT NULL,
        "type" character varying(32) NOT NULL,
        "actor" character varying(128) NOT NULL,
        "actor_role" character varying(32) NOT NULL,
        "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "details" jsonb NOT NULL DEFAULT '{}',
        CONSTRAINT "pk_task_event" PRIMARY KEY ("id"),
        CONSTRAINT "fk_task_event_task" FOREIGN KEY ("task_id") REFERENCES "mediation_task" ("id"),
        CONSTRAINT "ck_task_event_type" CHECK ("type" IN ('created', 'claimed', 'released', 'assigned', 'contact-attempt',
          'awaiting-patient', 'alternatives-refreshed', 'outcome', 'reopened', 'stale-released'))
      )`);
    await q.query(`CREATE INDEX "ix_task_event_task" ON "task_event" ("task_id", "id")`);
    // Append-only: history is never rewritten, whoever asks.
    await q.query(`
      CREATE FUNCTION "refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`CREATE TRIGGER "tr_task_event_append_only" BEFORE UPDATE OR DELETE ON "task_event" FOR EACH ROW EXECUTE FUNCTION "refuse_change"()`);
    // Events for the tasks that already exist.
    await q.query(`
      INSERT INTO "task_event" ("task_id", "uzovi", "type", "actor", "actor_role", "at", "details")
      SELECT "id", "uzovi", 'created', 'system', 'system', "created_at", jsonb_build_object('priority', "priority", 'dueDate', "due_date")
        FROM "mediation_task"`);

    // Who opened which task's detail, and whether the full BSN was shown.
    await q.query(`
      CREATE TABLE "task_access" (
        "id" bigint GENERATED ALWAYS AS IDENTITY,
        "task_id" uuid NOT NULL,
        "uzovi" character(4) NOT NULL,
        "subject" character varying(128) NOT NULL,
        "role" character varying(32) NOT NULL,
        "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "bsn_shown" boolean NOT NULL,
        CONSTRAINT "pk_task_access" PRIMARY KEY ("id"),
        CONSTRAINT "fk_task_access_task" FOREIGN KEY ("task_id") REFERENCES "mediation_task" ("id")
      )`);
    await q.query(`CREATE INDEX "ix_task_access_task" ON "task_access" ("task_id", "at")`);
    await q.query(`CREATE TRIGGER "tr_task_access_append_only" BEFORE UPDATE OR DELETE ON "task_access" FOR EACH ROW EXECUTE FUNCTION "refuse_change"()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "task_access"`);
    await q.query(`DROP TABLE "task_event"`);
    await q.query(`DROP FUNCTION "refuse_change"()`);
    await q.query(`DROP INDEX "ix_mediation_task_uzovi_created"`);
    await q.query(`DROP INDEX "ix_mediation_task_uzovi_due"`);
    await q.query(`DROP INDEX "ix_mediation_task_stale"`);
    await q.query(`DROP INDEX "ix_mediation_task_assignee"`);
    await q.query(`DROP INDEX "ix_mediation_task_claimable"`);
    await q.query(`ALTER TABLE "mediation_task" DROP CONSTRAINT "ck_mediation_task_assignee"`);
    await q.query(`ALTER TABLE "mediation_task" DROP CONSTRAINT "ck_mediation_task_closed_outcome"`);
    await q.query(`ALTER TABLE "mediation_task" DROP CONSTRAINT "ck_mediation_task_outcome"`);
    for (const c of ['closed_at', 'outcome_details', 'outcome', 'failed_contact_attempts', 'contact_attempts', 'first_contact_at', 'last_activity_at', 'claimed_at', 'due_date']) {
      await q.query(`ALTER TABLE "mediation_task" DROP COLUMN "${c}"`);
    }
  }
}
