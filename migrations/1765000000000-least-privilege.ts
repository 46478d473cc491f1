import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Least privilege (security review, item 2). The migrations run as the database's owner role; the
 * processes do not:
 * - `ggz_api` and `ggz_worker` (LOGIN, members of `ggz_app`) read and write the application's
 *   tables, but on the access log may only read, add entries and seal them (the guard trigger lets
 *   the three chain columns be set once); they own nothing, so they can neither drop a trigger nor
 *   change a grant;
 * - `ggz_retention` (LOGIN) may only call `access_log_purge`, the one path that removes entries:
 *   a SECURITY DEFINER function owned by the owner role. The guard lets a DELETE through only in
 *   the transaction the purge noted in `access_log_purging`, a table only the owner may write —
 *   no session setting a connection could change (the old `ggz.access_log_purge` setting was one
 *   any connection could set).
 * - `access_log_checkpoint` keeps signed checkpoints of the chain head (AuditService.checkpoint):
 *   append-only for everyone; the signing key is in the processes' configuration, never in the
 *   database, so an entry removed or a chain re-sealed is found by verify.
 *
 * Roles belong to the cluster (another database, a parallel test run, may have made them): they
 * are created if missing. Passwords are not set here: a deployment sets them (or uses another
 * authentication method) for the three LOGIN roles.
 */
export class LeastPrivilege1765000000000 implements MigrationInterface {
  name = 'LeastPrivilege1765000000000';

  async up(q: QueryRunner): Promise<void> {
    const createRole = (name: string, options: string) =>
      q.query(`DO $$ BEGIN CREATE ROLE "${name}" ${options}; EXCEPTION WHEN duplicate_object THEN NULL; WHEN unique_violation THEN NULL; END $$`);
    await createRole('ggz_app', 'NOLOGIN');
    await createRole('ggz_api', 'LOGIN');
    await createRole('ggz_worker', 'LOGIN');
    await createRole('ggz_retention', 'LOGIN');
    await q.query(`DO $$ BEGIN GRANT "ggz_app" TO "ggz_api", "ggz_worker"; EXCEPTION WHEN unique_violation THEN NULL; END $$`);

    // Every table and sequence there is, and every one later migrations make (as this owner).
    await q.query(`GRANT USAGE ON SCHEMA public, ttp TO "ggz_app"`);
    // Postgres before 15 let every role create tables in public.
    await q.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, ttp TO "ggz_app"`);
    await q.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public, ttp TO "ggz_app"`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public, ttp GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "ggz_app"`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public, ttp GRANT USAGE, SELECT ON SEQUENCES TO "ggz_app"`);
    // The migrations' own bookkeeping: readable (readiness compares it), never written by a process.
    await q.query(`REVOKE INSERT, UPDATE, DELETE ON "typeorm_migrations" FROM "ggz_app"`);
    // The access log: read, add, seal. The anchor only moves in access_log_purge.
    await q.query(`REVOKE ALL ON "access_log" FROM "ggz_app"`);
    await q.query(`GRANT SELECT, INSERT ON "access_log" TO "ggz_app"`);
    await q.query(`GRANT UPDATE ("seq", "prev_hash", "hash") ON "access_log" TO "ggz_app"`);
    await q.query(`REVOKE ALL ON "access_log_anchor" FROM "ggz_app"`);
    await q.query(`GRANT SELECT ON "access_log_anchor" TO "ggz_app"`);

    // Deletes only inside access_log_purge: it notes its own transaction in a table nobody but the
    // owner may write (no session setting a connection could change), and the guard looks for it.
    // A DELETE by the owner outside the purge is refused too (the owner could drop the trigger, but
    // not by accident).
    await q.query(`CREATE TABLE "access_log_purging" ("txid" bigint NOT NULL, CONSTRAINT "pk_access_log_purging" PRIMARY KEY ("txid"))`);
    await q.query(`REVOKE ALL ON "access_log_purging" FROM "ggz_app"`);
    await q.query(`
      CREATE OR REPLACE FUNCTION "access_log_guard"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM "access_log_purging" WHERE "txid" = txid_current()) THEN
          RETURN OLD; -- access_log_purge: sealed entries past retention
        END IF;
        IF TG_OP = 'UPDATE' AND OLD."seq" IS NULL AND NEW."seq" IS NOT NULL
           AND (NEW."id", NEW."at", NEW."actor", NEW."actor_role", NEW."organisation", NEW."person_index", NEW."action", NEW."resource",
                NEW."purpose", NEW."outcome", NEW."details")
               IS NOT DISTINCT FROM
               (OLD."id", OLD."at", OLD."actor", OLD."actor_role", OLD."organisation", OLD."person_index", OLD."action", OLD."resource",
                OLD."purpose", OLD."outcome", OLD."details") THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION "access_log_purge"(keep_years integer) RETURNS bigint LANGUAGE plpgsql
      SECURITY DEFINER SET search_path = public, pg_temp AS $$
      DECLARE
        cutoff timestamptz := now() - make_interval(years => keep_years);
        last_seq bigint;
        last_hash character(64);
        removed bigint;
      BEGIN
        IF keep_years IS NULL OR keep_years < 5 THEN
          RAISE EXCEPTION 'the access log is kept at least five years' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        -- Only a prefix of the chain can go: sealed entries up to the first one still within retention.
        SELECT e."seq", e."hash" INTO last_seq, last_hash FROM "access_log" e
         WHERE e."seq" IS NOT NULL AND e."seq" < coalesce((SELECT min(k."seq") FROM "access_log" k WHERE k."seq" IS NOT NULL AND k."at" >= cutoff), 9223372036854775807)
         ORDER BY e."seq" DESC LIMIT 1;
        IF last_seq IS NULL THEN RETURN 0; END IF;
        INSERT INTO "access_log_purging" ("txid") VALUES (txid_current()) ON CONFLICT DO NOTHING;
        DELETE FROM "access_log" WHERE "seq" <= last_seq;
        GET DIAGNOSTICS removed = ROW_COUNT;
        DELETE FROM "access_log_purging" WHERE "txid" = txid_current();
        INSERT INTO "access_log_anchor" ("id", "seq", "hash", "purged_before") VALUES (1, last_seq, last_hash, cutoff)
          ON CONFLICT ("id") DO UPDATE SET "seq" = EXCLUDED."seq", "hash" = EXCLUDED."hash", "purged_before" = EXCLUDED."purged_before", "purged_at" = now();
        RETURN removed;
      END $$`);
    await q.query(`REVOKE EXECUTE ON FUNCTION "access_log_purge"(integer) FROM PUBLIC`);
    await q.query(`GRANT EXECUTE ON FUNCTION "access_log_purge"(integer) TO "ggz_retention"`);

    // Signed checkpoints of the chain head: each signs (seq, hash, at) and the checkpoint before.
    await q.query(`
      CREATE TABLE "access_log_checkpoint" (
        "id" bigint GENERATED ALWAYS AS IDENTITY,
        "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(),
        "seq" bigint NOT NULL,
        "hash" character(64) NOT NULL,
        "prev_signature" character(64) NOT NULL,
        "signature" character(64) NOT NULL,
        CONSTRAINT "pk_access_log_checkpoint" PRIMARY KEY ("id"),
        CONSTRAINT "uq_access_log_checkpoint_signature" UNIQUE ("signature")
      )`);
    await q.query(`CREATE TRIGGER "tr_access_log_checkpoint_append_only" BEFORE UPDATE OR DELETE ON "access_log_checkpoint" FOR EACH ROW EXECUTE FUNCTION "refuse_change"()`);
    await q.query(`CREATE TRIGGER "tr_access_log_checkpoint_no_truncate" BEFORE TRUNCATE ON "access_log_checkpoint" FOR EACH STATEMENT EXECUTE FUNCTION "refuse_change"()`);
    await q.query(`REVOKE ALL ON "access_log_checkpoint" FROM "ggz_app"`);
    await q.query(`GRANT SELECT, INSERT ON "access_log_checkpoint" TO "ggz_app"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "access_log_checkpoint"`);
    await q.query(`REVOKE EXECUTE ON FUNCTION "access_log_purge"(integer) FROM "ggz_retention"`);
    await q.query(`GRANT EXECUTE ON FUNCTION "access_log_purge"(integer) TO PUBLIC`);
    await q.query(`ALTER FUNCTION "access_log_purge"(integer) SECURITY INVOKER`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public, ttp REVOKE ALL ON TABLES FROM "ggz_app"`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public, ttp REVOKE ALL ON SEQUENCES FROM "ggz_app"`);
    await q.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public, ttp FROM "ggz_app"`);
    await q.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public, ttp FROM "ggz_app"`);
    await q.query(`REVOKE USAGE ON SCHEMA ttp FROM "ggz_app"`);
    await q.query(`GRANT SELECT, INSERT ON "access_log" TO "ggz_app"`);
    await q.query(`GRANT UPDATE ("seq", "prev_hash", "hash") ON "access_log" TO "ggz_app"`);
    await q.query(`GRANT USAGE ON SEQUENCE "access_log_id_seq" TO "ggz_app"`);
    // The guard of before, with its session setting, and the purge that set it (AccessLog1764400000000).
    await q.query(`
      CREATE OR REPLACE FUNCTION "access_log_guard"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('ggz.access_log_purge', true) = 'on' THEN RETURN OLD; END IF;
        IF TG_OP = 'UPDATE' AND OLD."seq" IS NULL AND NEW."seq" IS NOT NULL
           AND (NEW."id", NEW."at", NEW."actor", NEW."actor_role", NEW."organisation", NEW."person_index", NEW."action", NEW."resource",
                NEW."purpose", NEW."outcome", NEW."details")
               IS NOT DISTINCT FROM
               (OLD."id", OLD."at", OLD."actor", OLD."actor_role", OLD."organisation", OLD."person_index", OLD."action", OLD."resource",
                OLD."purpose", OLD."outcome", OLD."details") THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION "access_log_purge"(keep_years integer) RETURNS bigint LANGUAGE plpgsql AS $$
      DECLARE
        cutoff timestamptz := now() - make_interval(years => keep_years);
        last_seq bigint;
        last_hash character(64);
        removed bigint;
      BEGIN
        IF keep_years IS NULL OR keep_years < 5 THEN
          RAISE EXCEPTION 'the access log is kept at least five years' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT e."seq", e."hash" INTO last_seq, last_hash FROM "access_log" e
         WHERE e."seq" IS NOT NULL AND e."seq" < coalesce((SELECT min(k."seq") FROM "access_log" k WHERE k."seq" IS NOT NULL AND k."at" >= cutoff), 9223372036854775807)
         ORDER BY e."seq" DESC LIMIT 1;
        IF last_seq IS NULL THEN RETURN 0; END IF;
        PERFORM set_config('ggz.access_log_purge', 'on', true);
        DELETE FROM "access_log" WHERE "seq" <= last_seq;
        GET DIAGNOSTICS removed = ROW_COUNT;
        PERFORM set_config('ggz.access_log_purge', 'off', true);
        INSERT INTO "access_log_anchor" ("id", "seq", "hash", "purged_before") VALUES (1, last_seq, last_hash, cutoff)
          ON CONFLICT ("id") DO UPDATE SET "seq" = EXCLUDED."seq", "hash" = EXCLUDED."hash", "purged_before" = EXCLUDED."purged_before", "purged_at" = now();
        RETURN removed;
      END $$`);
    await q.query(`DROP TABLE "access_log_purging"`);
  }
}
