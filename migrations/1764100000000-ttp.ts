import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The TTP's own schema: waiting-list snapshots of providers, with every person as a stage-2
 * pseudonym (never a BSN), and which snapshot of each provider is in force. Only libs/ttp reads
 * or writes schema `ttp`.
 */
export class Ttp1764100000000 implements MigrationInterface {
  name = 'Ttp1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SCHEMA "ttp"`);
    await q.query(`
      CREATE TABLE "ttp"."snapshot" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "agb" character(8) NOT NULL,
        "key_version" smallint NOT NULL,
        "as_of" date NOT NULL,
        "uploaded_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "uploaded_by" character varying(128) NOT NULL,
        "format" character varying(8) NOT NULL,
        "entries" integer NOT NULL,
        CONSTRAINT "pk_ttp_snapshot" PRIMARY KEY ("id"),
        CONSTRAINT "ck_ttp_snapshot_agb" CHECK ("agb" ~ '^[0-9]{8}$'),
        CONSTRAINT "ck_ttp_snapshot_format" CHECK ("format" IN ('csv', 'ndjson', 'json'))
      )`);
    await q.query(`CREATE INDEX "ix_ttp_snapshot_agb" ON "ttp"."snapshot" ("agb", "uploaded_at")`);

    // One row per waiting-list entry. The person is only the pseudonym (64 hex, HMAC of the
    // pre-pseudonym under key_version of the snapshot); row_no is the entry's place in the upload.
    await q.query(`
      CREATE TABLE "ttp"."snapshot_entry" (
        "snapshot_id" uuid NOT NULL,
        "row_no" integer NOT NULL,
        "client_ref" character varying(64) NOT NULL,
        "pseudonym" character(64) NOT NULL,
        "location" character varying(40) NOT NULL,
        "diagnosis_group" character varying(64) NOT NULL,
        "registered_on" date NOT NULL,
        "intake_on" date,
        "stage" character varying(20) NOT NULL,
        "waits_for_this_provider" boolean NOT NULL,
        CONSTRAINT "pk_ttp_snapshot_entry" PRIMARY KEY ("snapshot_id", "row_no"),
        CONSTRAINT "ck_ttp_snapshot_entry_stage" CHECK ("stage" IN ('waiting-intake', 'waiting-treatment'))
      )`);
    // No foreign key to ttp.snapshot on purpose: a per-row trigger would cost more than the
    // COPY of a million entries itself. The upload writes both in one transaction and deletes
    // the entries of snapshots it replaces.
    // clientRef is unique per snapshot; the upload checks it after its COPY and names the rows,
    // which a unique index failing in the middle of a COPY could not.

    // The snapshot in force per provider: replacing it is one row update, so readers never see
    // a mix of two snapshots.
    await q.query(`
      CREATE TABLE "ttp"."current_snapshot" (
        "agb" character(8) NOT NULL,
        "snapshot_id" uuid NOT NULL,
        "since" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "pk_ttp_current_snapshot" PRIMARY KEY ("agb"),
        CONSTRAINT "uq_ttp_current_snapshot_snapshot" UNIQUE ("snapshot_id"),
        CONSTRAINT "fk_ttp_current_snapshot_snapshot" FOREIGN KEY ("snapshot_id") REFERENCES "ttp"."snapshot" ("id")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP SCHEMA "ttp" CASCADE`);
  }
}
