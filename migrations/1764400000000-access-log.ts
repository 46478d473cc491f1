import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The access log in the NEN 7513 manner: who (subject, role, organisation), when, which person
 * (by an index of its own, never the BSN), what action on which resource, for what purpose, and
 * whether it was allowed. Append-only three ways: a trigger refuses DELETE, TRUNCATE and any
 * UPDATE but the one-time sealing (for everyone, the owner included); the application role
 * `ggz_app` may only SELECT and INSERT; and each sealed entry carries the SHA-256 of the previous
 * entry's hash and its own content, so a changed or removed entry breaks the chain
 * (`npm run audit:verify`). Writers insert without waiting for each other — a chain computed at
 * insert time serialises every audited transaction until its commit (claims fell from ~3,000/s
 * to ~700/s) — and the worker seals new entries about every second.
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
        "seq" bigint,
        "prev_hash" character(64),
        "hash" character(64),
        CONSTRAINT "pk_access_log" PRIMARY KEY ("id"),
        CONSTRAINT "uq_access_log_seq" UNIQUE ("seq"),
        CONSTRAINT "ck_access_log_outcome" CHECK ("outcome" IN ('allowed', 'refused')),
        CONSTRAINT "ck_access_log_sealed" CHECK (("seq" IS NULL) = ("hash" IS NULL) AND ("hash" IS NULL) = ("prev_hash" IS NULL))
      )`);
    await q.query(`CREATE INDEX "ix_access_log_person" ON "access_log" ("person_index", "at") WHERE "person_index" IS NOT NULL`);
    await q.query(`CREATE INDEX "ix_access_log_actor" ON "access_log" ("actor", "at")`);
    await q.query(`CREATE INDEX "ix_access_log_at" ON "access_log" ("at")`);
    await q.query(`CREATE INDEX "ix_access_log_unsealed" ON "access_log" ("id") WHERE "seq" IS NULL`);

    // The chain: an entry is sealed after it is written — given the next position (seq) and
    // hash = sha256(prev_hash | canonical content) — by one sealer at a time (AuditService.seal).
    // Writers never wait for each other; the chain follows the order of sealing.
    await q.query(`
      CREATE FUNCTION "access_log_canonical"(e "access_log") RETURNS text LANGUAGE sql STABLE AS $$
        SELECT concat_ws('|', e.id::text, to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), e.actor, e.actor_role, e.organisation,
                         coalesce(e.person_index, '-'), e.action, e.resource, e.purpose, e.outcome, e.details::text)
      $$`);
    // Append-only: no delete, no truncate, and no update — except sealing an unsealed entry
    // (setting seq and the hashes once, nothing else).
    await q.query(`
      CREATE FUNCTION "access_log_guard"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('ggz.access_log_purge', true) = 'on' THEN
          RETURN OLD; -- only access_log_purge sets this, for sealed entries past retention
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
    await q.query(`CREATE TRIGGER "tr_access_log_append_only" BEFORE UPDATE OR DELETE ON "access_log" FOR EACH ROW EXECUTE FUNCTION "access_log_guard"()`);
    await q.query(`CREATE TRIGGER "tr_access_log_no_truncate" BEFORE TRUNCATE ON "access_log" FOR EACH STATEMENT EXECUTE FUNCTION "refuse_change"()`);

    // Retention: entries are kept at least five years (AUDIT_RETENTION_YEARS). Purging the oldest
    // sealed ones leaves an anchor — the position and hash of the last entry removed — from which
    // verification starts, so the rest still proves itself.
    await q.query(`
      CREATE TABLE "access_log_anchor" (
        "id" smallint NOT NULL DEFAULT 1,
        "seq" bigint NOT NULL,
        "hash" character(64) NOT NULL,
        "purged_before" TIMESTAMP WITH TIME ZONE NOT NULL,
        "purged_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "pk_access_log_anchor" PRIMARY KEY ("id"),
        CONSTRAINT "ck_access_log_anchor_single_row" CHECK ("id" = 1)
      )`);
    await q.query(`
      CREATE FUNCTION "access_log_purge"(keep_years integer) RETURNS bigint LANGUAGE plpgsql AS $$
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
        PERFORM set_config('ggz.access_log_purge', 'on', true);
        DELETE FROM "access_log" WHERE "seq" <= last_seq;
        GET DIAGNOSTICS removed = ROW_COUNT;
        PERFORM set_config('ggz.access_log_purge', 'off', true);
        INSERT INTO "access_log_anchor" ("id", "seq", "hash", "purged_before") VALUES (1, last_seq, last_hash, cutoff)
          ON CONFLICT ("id") DO UPDATE SET "seq" = EXCLUDED."seq", "hash" = EXCLUDED."hash", "purged_before" = EXCLUDED."purged_before", "purged_at" = now();
        RETURN removed;
      END $$`);

    // The person as the access log knows them (a keyed index of its own, see BsnVault.auditIndex),
    // kept with the referral so that statements can log without decrypting; erased with the rest.
    await q.query(`ALTER TABLE "referral" ADD "audit_index" character(64)`);

    // The application's own database role: it may read and add entries, never change them.
    // (Roles belong to the cluster; another database may have made it already.)
    await q.query(`DO $$ BEGIN CREATE ROLE "ggz_app" NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    // Sealing needs the three chain columns, and the guard lets them be set once only.
    await q.query(`GRANT SELECT, INSERT ON "access_log" TO "ggz_app"`);
    await q.query(`GRANT UPDATE ("seq", "prev_hash", "hash") ON "access_log" TO "ggz_app"`);
    await q.query(`GRANT USAGE ON SEQUENCE "access_log_id_seq" TO "ggz_app"`);
    await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON "access_log" FROM "ggz_app"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`REVOKE ALL ON "access_log" FROM "ggz_app"`);
    await q.query(`REVOKE ALL ON SEQUENCE "access_log_id_seq" FROM "ggz_app"`);
    await q.query(`ALTER TABLE "referral" DROP COLUMN "audit_index"`);
    await q.query(`DROP FUNCTION "access_log_purge"(integer)`);
    await q.query(`DROP TABLE "access_log_anchor"`);
    await q.query(`DROP FUNCTION "access_log_canonical"("access_log")`);
    await q.query(`DROP TABLE "access_log"`);
    await q.query(`DROP FUNCTION "access_log_guard"()`);
  }
}
