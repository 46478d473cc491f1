import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `access_log_append(entries jsonb)`: the access log's owner (libs/platform) exports one way to
 * write entries, for the statements that must write them together with their own rows (intake,
 * claim-next, the evaluation) — they call the function instead of naming the table and its
 * columns. Each entry is an object with actor, actorRole, organisation, personIndex, action,
 * resource, purpose, outcome and details; an entry whose details hold a run of eight or more digits
 * (it could be a BSN) is refused, as AuditService.record refuses it. Returns the entries written.
 * SECURITY INVOKER: the caller needs INSERT on access_log (ggz_app has it).
 */
export class AccessLogAppend1765100000000 implements MigrationInterface {
  name = 'AccessLogAppend1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION "access_log_append"(entries jsonb) RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        written integer;
      BEGIN
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(entries, '[]')) e WHERE coalesce(e->'details', '{}')::text ~ '[0-9]{8,}') THEN
          RAISE EXCEPTION 'an access-log entry may not hold a long number (it could be a BSN)' USING ERRCODE = 'check_violation';
        END IF;
        INSERT INTO "access_log" ("actor", "actor_role", "organisation", "person_index", "action", "resource", "purpose", "outcome", "details")
        SELECT e->>'actor', e->>'actorRole', e->>'organisation', e->>'personIndex', e->>'action', e->>'resource', e->>'purpose', e->>'outcome',
               coalesce(e->'details', '{}')
          FROM jsonb_array_elements(coalesce(entries, '[]')) e;
        GET DIAGNOSTICS written = ROW_COUNT;
        RETURN written;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION "access_log_append"(jsonb)`);
  }
}
