import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The access log in the NEN 7513 manner: who (subject, role, organisation), when, which person
 * (by blind index, never the BSN), what action on which resource, for what purpose, and whether
 * it was allowed. Append-only three ways: a trigger refuses UPDATE, DELETE and TRUNCATE (for
 * everyone, the owner included); the application role `ggz_app` may only SELECT and INSERT; and
 * each entry carries the SHA-256 of the previous entry's hash and its own content, so a changed
 * or removed entry breaks the chain (`npm run audit:verify`).
 * Entries are chained in id order under a transaction-level advisory lock taken by the insert
 * trigger: inserts are serialised, which the log's volume allows (one statement per request or
 * per batch), so the chain never forks.
 */
export class AccessLog1764400000000 implements MigrationInterface {
  name = 'AccessLog1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "access_log" (
        "id" bigint GENERATED ALWAYS AS IDENTITY,
        "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(),
        "actor" character varying(128) NOT NULL,
        "actor_role" character varying(32) NOT NULL,
        "organisation" character varying(16) NOT NULL,
        "person_index" character(64),
        "action" character varying(32) NOT NULL,
        "resource" character varying(200) NOT NULL,
        "purpose" character varying(32) NOT NULL,
        "outcome" character varying(8) NOT NULL,
        "details" jsonb NOT NULL DEFAULT '{}',
        "prev_hash" character(64) NOT NULL,
        "hash" character(64) NOT NULL,
        CONSTRAINT "pk_access_log" PRIMARY KEY ("id"),
        CONSTRAINT "ck_access_log_outcome" CHECK ("outcome" IN ('allowed', 'refused'))
      )`);
    await q.query(`CREATE INDEX "ix_access_log_person" ON "access_log" ("person_index", "at") WHERE "person_index" IS NOT NULL`);
    await q.query(`CREATE INDEX "ix_access_log_actor" ON "access_log" ("actor", "at")`);
    await q.query(`CREATE INDEX "ix_access_log_at" ON "access_log" ("at")`);

    // The chain: hash = sha256(prev_hash | canonical content). The canonical text is built the
    // same way by the verifier (AuditService.verify).
    await q.query(`
      CREATE FUNCTION "access_log_canonical"(e "access_log") RETURNS text LANGUAGE sql STABLE AS $$
        SELECT concat_ws('|', e.id::text, to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), e.actor, e.actor_role, e.organisation,
                         coalesce(e.person_index, '-'), e.action, e.resource, e.purpose, e.outcome, e.details::text)
      $$`);
    await q.query(`
      CREATE FUNCTION "access_log_chain"() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        previous character(64);
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('access_log_chain'));
        SELECT "hash" INTO previous FROM "access_log" ORDER BY "id" DESC LIMIT 1;
        NEW."prev_hash" := coalesce(previous, repeat('0', 64));
        NEW."hash" := encode(sha256(convert_to(NEW."prev_hash" || '|' || "access_log_canonical"(NEW), 'UTF8')), 'hex');
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER "tr_access_log_chain" BEFORE INSERT ON "access_log" FOR EACH ROW EXECUTE FUNCTION "access_log_chain"()`);
    await q.query(`CREATE TRIGGER "tr_access_log_append_only" BEFORE UPDATE OR DELETE ON "access_log" FOR EACH ROW EXECUTE FUNCTION "refuse_change"()`);
    await q.query(`CREATE TRIGGER "tr_access_log_no_truncate" BEFORE TRUNCATE ON "access_log" FOR EACH STATEMENT EXECUTE FUNCTION "refuse_change"()`);

    // The application's own database role: it may read and add entries, never change them.
    // (Roles belong to the cluster; another database may have made it already.)
    await q.query(`DO $$ BEGIN CREATE ROLE "ggz_app" NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    await q.query(`GRANT SELECT, INSERT ON "access_log" TO "ggz_app"`);
    await q.query(`GRANT USAGE ON SEQUENCE "access_log_id_seq" TO "ggz_app"`);
    await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON "access_log" FROM "ggz_app"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`REVOKE ALL ON "access_log" FROM "ggz_app"`);
    await q.query(`REVOKE ALL ON SEQUENCE "access_log_id_seq" FROM "ggz_app"`);
    await q.query(`DROP FUNCTION "access_log_canonical"("access_log")`);
    await q.query(`DROP TABLE "access_log"`);
    await q.query(`DROP FUNCTION "access_log_chain"()`);
  }
}
