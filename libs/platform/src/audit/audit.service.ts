/**
 * The access log (NEN 7513): every read or change of a person's data — by a person or by the
 * system — is one entry: who (subject, role, organisation), when, which person (blind index,
 * never the BSN), what action on which resource, for what purpose, allowed or refused. Entries
 * are written without waiting for each other and sealed into a hash chain shortly after
 * (`seal`, run by the worker about every second); `verify` recomputes the chain.
 *
 * Writers call `record` after the fact (or inside their transaction when the entry must stand
 * or fall with the change). Details must never hold a BSN: `record` refuses digit runs that
 * could be one, so a mistake fails loudly in tests instead of leaking.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/roles';

export const AUDIT_ACTIONS = ['create', 'read', 'read-bsn', 'update', 'evaluate', 'search', 'withdraw', 'erase', 'audit-read'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export const AUDIT_PURPOSES = ['zorgbemiddeling', 'reactive-request', 'consent-withdrawal', 'retention', 'audit'] as const;
export type AuditPurpose = (typeof AUDIT_PURPOSES)[number];

export interface AuditEntry {
  /** Who: a principal, or the system (a job). */
  actor: Principal | { subject: string; role: 'system'; organisation: string };
  personIndex: string | null;
  action: AuditAction;
  resource: string;
  purpose: AuditPurpose;
  outcome: 'allowed' | 'refused';
  details?: Record<string, unknown>;
  /**
   * The organisation whose person or record was touched (the referral's insurer, the provider),
   * under which its auditor finds the entry. Omit it only when no record was touched (a refused
   * read of a missing id, a search): the entry is then written once for every organisation the
   * actor acts for, so a token acting for several insurers is seen by each of their auditors.
   */
  organisation?: string;
}

export interface StoredAuditEntry {
  id: string;
  at: string;
  actor: string;
  actorRole: string;
  organisation: string;
  personIndex: string | null;
  action: string;
  resource: string;
  purpose: string;
  outcome: string;
  details: Record<string, unknown>;
}

/** Anything that runs SQL: the DataSource, or a transaction's manager. */
export interface AuditQueryable {
  query(sql: string, params?: unknown[]): Promise<any>;
}

const LONG_DIGITS = /\d{8,}/;
const GENESIS = '0'.repeat(64);
const chainHash = (previous: string, canonical: string) => createHash('sha256').update(`${previous}|${canonical}`, 'utf8').digest('hex');
const checkpointSignature = (key: Buffer, c: { seq: string; hash: string; at: string; prevSignature: string }) =>
  createHmac('sha256', key).update(`ggz-access-log-checkpoint|${c.seq}|${c.hash}|${c.at}|${c.prevSignature}`, 'utf8').digest('hex');
const sameHex = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** A signed checkpoint of the chain head, as written (and logged) by AuditService.checkpoint. */
export interface AccessLogCheckpoint {
  id: string;
  at: string;
  seq: string;
  hash: string;
  prevSignature: string;
  signature: string;
}

export interface AccessLogVerification {
  /** Entries whose hash and link were recomputed. */
  entries: number;
  /** The first entry that does not match (changed, or one before it removed); null if none. */
  brokenAt: string | null;
  reason: string | null;
  /** Entries not sealed yet (sealed within a second by the worker). */
  unsealed: number;
  /** Signed checkpoints checked. */
  checkpoints: number;
  /** A checkpoint that does not hold: a forged or removed checkpoint, or entries removed or re-sealed since it; null if none. */
  checkpointProblem: string | null;
}

/** The organisations an entry is written under: the one touched, else every one the actor acts for. */
function organisationsOf(e: AuditEntry): string[] {
  if (e.organisation !== undefined) return [e.organisation];
  const actor = e.actor;
  if ('organisation' in actor) return [actor.organisation];
  if (actor.agb) return [actor.agb];
  return actor.uzovis.length > 0 ? [...new Set(actor.uzovis)] : [actor.role];
}

@Injectable()
export class AuditService {
  constructor(private readonly db: DataSource) {}

  /**
   * The who-columns of an entry, for statements that write entries themselves (as intake does, in
   * the statement that stores); those statements take the organisation from the row they touch.
   */
  actorColumns(actor: AuditEntry['actor']): { actor: string; actorRole: string } {
    return { actor: actor.subject, actorRole: actor.role };
  }

  /** Records entries (one statement for all of them). */
  async record(entries: AuditEntry[], q: AuditQueryable = this.db): Promise<void> {
    if (entries.length === 0) return;
    const rows = entries.flatMap((e) => {
      const details = JSON.stringify(e.details ?? {});
      if (LONG_DIGITS.test(details)) throw new Error('an access-log entry may not hold a long number (it could be a BSN)');
      return organisationsOf(e).map((organisation) => ({
        actor: e.actor.subject,
        actor_role: e.actor.role,
        organisation,
        person_index: e.personIndex,
        action: e.action,
        resource: e.resource,
        purpose: e.purpose,
        outcome: e.outcome,
        details,
      }));
    });
    await q.query(
      `INSERT INTO access_log (actor, actor_role, organisation, person_index, action, resource, purpose, outcome, details)
       SELECT x.actor, x.actor_role, x.organisation, x.person_index, x.action, x.resource, x.purpose, x.outcome, x.details::jsonb
         FROM jsonb_to_recordset($1::jsonb) AS x(actor text, actor_role text, organisation text, person_index text, action text, resource text,
              purpose text, outcome text, details text)`,
      [JSON.stringify(rows)],
    );
  }

  /** Entries matching all given filters, oldest first, at most `limit`. */
  async search(filter: { personIndex?: string; actor?: string; organisation?: string; from?: string; to?: string; limit: number }): Promise<StoredAuditEntry[]> {
    return this.db.query(
      `SELECT a.id::text AS id, a.at, a.actor, a.actor_role AS "actorRole", a.organisation, a.person_index AS "personIndex", a.action, a.resource,
              a.purpose, a.outcome, a.details
         FROM access_log a
        WHERE ($1::bpchar IS NULL OR person_index = $1::bpchar) AND ($2::text IS NULL OR actor = $2) AND ($3::text IS NULL OR organisation = $3)
          AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5)
        ORDER BY a.id LIMIT $6`,
      [filter.personIndex ?? null, filter.actor ?? null, filter.organisation ?? null, filter.from ?? null, filter.to ?? null, filter.limit],
    );
  }

  /**
   * Seals new entries: each gets the next position in the chain and its hash. One sealer at a
   * time (others return 0); entries of transactions still in flight are sealed by a later call.
   * The worker calls this about every second. Returns how many it sealed.
   */
  async seal(max = 10_000): Promise<number> {
    return this.db.transaction(async (tx) => {
      const [{ locked }] = await tx.query(`SELECT pg_try_advisory_xact_lock(hashtext('access_log_seal')) AS locked`);
      if (!locked) return 0;
      const [last] = await tx.query(
        `SELECT x.seq::text AS seq, x.hash FROM ((SELECT seq, hash FROM access_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1)
                                              UNION ALL (SELECT seq, hash FROM access_log_anchor)) x
          ORDER BY x.seq DESC LIMIT 1`,
      );
      const rows: { id: string; canonical: string }[] = await tx.query(
        `SELECT e.id::text AS id, access_log_canonical(e) AS canonical FROM access_log e WHERE e.seq IS NULL ORDER BY e.id LIMIT $1 FOR UPDATE`,
        [max],
      );
      if (rows.length === 0) return 0;
      let seq = last ? BigInt(last.seq) : 0n;
      let previous: string = last?.hash ?? GENESIS;
      const sealed = rows.map((r) => {
        seq += 1n;
        const hash = chainHash(previous, r.canonical);
        const entry = { id: r.id, seq: seq.toString(), prev: previous, hash };
        previous = hash;
        return entry;
      });
      await tx.query(
        `UPDATE access_log a SET seq = x.seq, prev_hash = x.prev, hash = x.hash
           FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, seq bigint, prev text, hash text) WHERE a.id = x.id`,
        [JSON.stringify(sealed)],
      );
      return rows.length;
    });
  }

  /**
   * Removes the sealed entries older than `keepYears` (at least five; the database refuses less)
   * and moves the chain's anchor to the last one removed. Returns how many went. Runs on
   * `databaseUrl` (RETENTION_DATABASE_URL: the role ggz_retention, the only one that may call
   * access_log_purge) when given, else on this service's own connection.
   */
  async purge(keepYears: number, databaseUrl: string | null = null): Promise<number> {
    const sql = `SELECT access_log_purge($1)::int AS removed`;
    try {
      if (!databaseUrl) return (await this.db.query(sql, [keepYears]))[0].removed;
      // The retention role's own connection: the only role access_log_purge may be called by.
      const client = new Client({ connectionString: databaseUrl, application_name: 'ggz-retention' });
      await client.connect();
      try {
        return (await client.query(sql, [keepYears])).rows[0].removed;
      } finally {
        await client.end();
      }
    } catch (e) {
      if ((e as { code?: string }).code !== '42501') throw e;
      throw new Error('the access-log purge was refused: only the role ggz_retention may run it; set RETENTION_DATABASE_URL to connect as that role (docs/SECURITY.md)', {
        cause: e,
      });
    }
  }

  /**
   * Signs the chain head (its position and hash) with the checkpoint key — a key the database
   * does not hold — linked to the checkpoint before, and keeps it in access_log_checkpoint
   * (append-only). The worker calls this every AUDIT_CHECKPOINT_SECONDS, also when the head did
   * not move, and logs each checkpoint, so a copy lives outside the database too. Whoever can
   * rewrite the table can re-seal a chain, but not sign a checkpoint for it: verify compares.
   */
  async checkpoint(key: Buffer): Promise<AccessLogCheckpoint | null> {
    return this.db.transaction(async (tx) => {
      const [{ locked }] = await tx.query(`SELECT pg_try_advisory_xact_lock(hashtext('access_log_seal')) AS locked`);
      if (!locked) return null;
      const [head] = await tx.query(
        `SELECT x.seq::text AS seq, x.hash FROM ((SELECT seq, hash FROM access_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1)
                                              UNION ALL (SELECT seq, hash FROM access_log_anchor)) x
          ORDER BY x.seq DESC LIMIT 1`,
      );
      const [previous] = await tx.query(`SELECT signature FROM access_log_checkpoint ORDER BY id DESC LIMIT 1`);
      const [{ now }] = await tx.query(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS now`);
      const c = { seq: head?.seq ?? '0', hash: head?.hash ?? GENESIS, at: now as string, prevSignature: (previous?.signature as string | undefined) ?? GENESIS };
      const signature = checkpointSignature(key, c);
      const [row] = await tx.query(`INSERT INTO access_log_checkpoint (at, seq, hash, prev_signature, signature) VALUES ($1, $2, $3, $4, $5) RETURNING id::text AS id`, [
        c.at,
        c.seq,
        c.hash,
        c.prevSignature,
        signature,
      ]);
      return { id: row.id, ...c, signature };
    });
  }

  /**
   * Recomputes the chain from its first position (or the anchor a purge left), then checks the
   * signed checkpoints (given the key): each signature, each link to the checkpoint before, and
   * that the entry at each checkpoint's position still has the hash signed then — so entries
   * removed, changed or re-sealed into a new chain are found. A newest checkpoint older than twice
   * the interval (while the chain has entries older than that) is reported too: entries after it
   * could have been removed unseen.
   */
  async verify(options: { checkpointKey?: Buffer; checkpointSeconds?: number; batch?: number } = {}): Promise<AccessLogVerification> {
    const chain = await this.verifyChain(options.batch ?? 10_000);
    if (!options.checkpointKey) return { ...chain, checkpoints: 0, checkpointProblem: null };
    return { ...chain, ...(await this.verifyCheckpoints(options.checkpointKey, options.checkpointSeconds ?? 60)) };
  }

  private async verifyCheckpoints(key: Buffer, intervalSeconds: number): Promise<{ checkpoints: number; checkpointProblem: string | null }> {
    const [anchor] = await this.db.query(`SELECT seq::text AS seq, hash FROM access_log_anchor WHERE id = 1`);
    const [head] = await this.db.query(`SELECT max(seq)::text AS seq FROM access_log`);
    const headSeq = BigInt(head?.seq ?? anchor?.seq ?? '0');
    let previous = GENESIS;
    let checkpoints = 0;
    let newest: AccessLogCheckpoint | undefined;
    for (let after = '0'; ;) {
      const rows: AccessLogCheckpoint[] = await this.db.query(
        `SELECT c.id::text AS id, to_char(c.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, c.seq::text AS seq, c.hash,
                c.prev_signature AS "prevSignature", c.signature, e.hash AS "entryHash"
           FROM access_log_checkpoint c LEFT JOIN access_log e ON e.seq = c.seq
          WHERE c.id > $1 ORDER BY c.id LIMIT 5000`,
        [after],
      );
      for (const c of rows as (AccessLogCheckpoint & { entryHash: string | null })[]) {
        const at = `checkpoint ${c.id} (position ${c.seq}, ${c.at})`;
        if (!sameHex(c.signature, checkpointSignature(key, c)))
          return { checkpoints, checkpointProblem: `${at}: its signature does not match (forged, or signed with another key)` };
        if (c.prevSignature !== previous) return { checkpoints, checkpointProblem: `${at}: does not link to the checkpoint before it (a checkpoint was removed)` };
        const seq = BigInt(c.seq);
        if (seq > headSeq) return { checkpoints, checkpointProblem: `${at}: the chain no longer reaches this position (entries at the end were removed)` };
        const purged = anchor && seq <= BigInt(anchor.seq);
        if (purged && seq === BigInt(anchor.seq) && anchor.hash !== c.hash) return { checkpoints, checkpointProblem: `${at}: the purge anchor's hash differs from the one signed` };
        if (!purged && seq > 0n && c.entryHash !== c.hash)
          return { checkpoints, checkpointProblem: `${at}: the entry at this position is not the one signed (entries were removed or the chain re-sealed)` };
        previous = c.signature;
        newest = c;
        checkpoints++;
      }
      if (rows.length < 5000) break;
      after = rows[rows.length - 1].id;
    }
    const [{ old }] = await this.db.query(`SELECT EXISTS (SELECT 1 FROM access_log WHERE seq IS NOT NULL AND at < now() - make_interval(secs => $1)) AS old`, [
      2 * intervalSeconds,
    ]);
    const staleSince = newest ? Date.now() - Date.parse(newest.at) : Infinity;
    if (old && staleSince > 2 * intervalSeconds * 1000) {
      return {
        checkpoints,
        checkpointProblem: newest
          ? `the newest checkpoint (${newest.at}) is older than twice AUDIT_CHECKPOINT_SECONDS: entries after it cannot be vouched for (is the worker running?)`
          : 'the access log has entries but no signed checkpoint (checkpoints were removed, or no worker ever ran)',
      };
    }
    return { checkpoints, checkpointProblem: null };
  }

  /** The hash chain alone (see verify). */
  private async verifyChain(batch: number): Promise<{ entries: number; brokenAt: string | null; reason: string | null; unsealed: number }> {
    const [{ unsealed }] = await this.db.query(`SELECT count(*)::int AS unsealed FROM access_log WHERE seq IS NULL`);
    // After a retention purge the chain starts at the anchor: the last entry removed.
    const [anchor] = await this.db.query(`SELECT seq::text AS seq, hash FROM access_log_anchor WHERE id = 1`);
    let previous: string = anchor?.hash ?? GENESIS;
    let expectedSeq = anchor ? BigInt(anchor.seq) + 1n : 1n;
    let after = anchor?.seq ?? '0';
    let entries = 0;
    for (;;) {
      const rows: { id: string; seq: string; canonical: string; prev_hash: string; hash: string }[] = await this.db.query(
        `SELECT e.id::text AS id, e.seq::text AS seq, access_log_canonical(e) AS canonical, e.prev_hash, e.hash
           FROM access_log e WHERE e.seq > $1 ORDER BY e.seq LIMIT $2`,
        [after, batch],
      );
      for (const r of rows) {
        const missing = BigInt(r.seq) !== expectedSeq;
        if (missing || r.prev_hash !== previous) return { entries, brokenAt: r.id, reason: 'does not link to the entry before it (an entry was removed or changed)', unsealed };
        if (chainHash(r.prev_hash, r.canonical) !== r.hash) return { entries, brokenAt: r.id, reason: 'its content does not match its hash (the entry was changed)', unsealed };
        previous = r.hash;
        expectedSeq += 1n;
        entries++;
      }
      if (rows.length < batch) return { entries, brokenAt: null, reason: null, unsealed };
      after = rows[rows.length - 1].seq;
    }
  }
}
