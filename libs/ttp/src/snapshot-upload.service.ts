/**
 * Takes a provider's waiting-list snapshot as a stream: each record is checked and pseudonymised
 * as it arrives and copied into ttp.snapshot_entry (COPY) inside one transaction, so memory does
 * not grow with the file. Any invalid record refuses the whole snapshot (first 100 problems
 * reported, nothing stored, the previous snapshot stays in force); a valid one becomes the
 * provider's snapshot in force in the same transaction that stores it.
 *
 * Not an oracle (security review, item 11): a provider may put at most TTP_SNAPSHOTS_PER_DAY
 * snapshots in force per rolling 24 hours (counted in Postgres, under a per-provider lock, so the
 * limit holds across API instances; more are refused with 429 and Retry-After before the body is
 * read, and checked again before commit), and each snapshot updates since when each of its people
 * has been on the provider's list without a break (ttp.list_presence), which decides what feedback
 * may disclose. Every upload, accepted or refused for the limit, is in the access log.
 */
import { once } from 'node:events';
import { BadRequestException, HttpException, HttpStatus, Inject, Injectable, Logger, PayloadTooLargeException } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataSource } from 'typeorm';
import { amsterdamDate, stage1Pseudonymiser, stage2Pseudonymiser } from '@app/core';
import { APP_CONFIG, AppConfig, AuditEntry, AuditService, Principal } from '@app/platform';
import { locationCodes } from '@app/waitlists';
import { CheckedEntry, checkEntry, SNAPSHOT_COLUMNS } from './snapshot-entry';
import { csvHeaderProblems, csvObjects, ndjsonObjects, StreamFormatError } from './snapshot-stream';

export type SnapshotFormat = 'csv' | 'ndjson' | 'json';

export interface SnapshotReceipt {
  snapshotId: string;
  agb: string;
  entries: number;
  keyVersion: number;
  asOf: string;
  replaced: string | null;
}

const MAX_REPORTED = 100;
const WINDOW_HOURS = 24;

/** 429: the provider put too many snapshots in force in the last 24 hours. `retryAfterSeconds` is for the Retry-After header. */
export class SnapshotRateLimitedException extends HttpException {
  constructor(
    readonly retryAfterSeconds: number,
    limit: number,
  ) {
    super(
      {
        message: `Too many snapshots: at most ${limit} may replace your waiting list per 24 hours; try again in ${retryAfterSeconds} seconds`,
        details: [{ field: '(snapshot)', reason: `more than ${limit} snapshots in force within 24 hours (TTP_SNAPSHOTS_PER_DAY); the previous snapshot stays in force` }],
        retryAfterSeconds,
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * A value in COPY's text format (null as \N). Values are checked printable ASCII without spaces
 * (no tabs, no line breaks), so only a backslash needs escaping.
 */
function copyValue(v: string | null): string {
  if (v === null) return '\\N';
  return v.includes('\\') ? v.replace(/\\/g, '\\\\') : v;
}

/** Counts the bytes of an upload and stops it above the limit. */
async function* limited(source: AsyncIterable<Buffer | string>, maxBytes: number): AsyncGenerator<Buffer | string> {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    if (n > maxBytes)
      throw new PayloadTooLargeException({
        message: `The snapshot is larger than ${maxBytes} bytes`,
        details: [{ field: '(body)', reason: `is larger than ${maxBytes} bytes (TTP_MAX_UPLOAD_BYTES)` }],
      });
    yield chunk;
  }
}

@Injectable()
export class SnapshotUploadService {
  private readonly logger = new Logger(SnapshotUploadService.name);

  constructor(
    private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  /**
   * Refuses (429) when the provider has put TTP_SNAPSHOTS_PER_DAY snapshots in force within the
   * last 24 hours; the refusal is in the access log. Seconds until the oldest of them ages out.
   */
  private async checkRate(q: Queryable, agb: string, actor: AuditEntry['actor']): Promise<void> {
    const limit = this.config.ttp.snapshotsPerDay;
    const res = (await q.query(
      `SELECT count(*)::int AS n, ceil(extract(epoch FROM min(at) + make_interval(hours => ${WINDOW_HOURS}) - now()))::int AS wait
         FROM (SELECT at FROM ttp.snapshot_accepted WHERE agb = $1 AND at > now() - make_interval(hours => ${WINDOW_HOURS}) ORDER BY at DESC LIMIT $2) recent`,
      [agb, limit],
    )) as { n: number; wait: number | null }[] | { rows: { n: number; wait: number | null }[] };
    const [{ n, wait }] = Array.isArray(res) ? res : res.rows;
    if (n < limit) return;
    const retryAfter = Math.max(1, wait ?? 1);
    this.logger.warn({ msg: 'snapshot refused: too many replacements', agb, limit, retryAfterSeconds: retryAfter });
    await this.audit.record([
      {
        actor,
        organisation: agb,
        personIndex: null,
        action: 'create',
        resource: 'ttp/snapshot',
        purpose: 'zorgbemiddeling',
        outcome: 'refused',
        details: { reason: 'rate-limit', limitPerDay: limit, retryAfterSeconds: retryAfter },
      },
    ]);
    throw new SnapshotRateLimitedException(retryAfter, limit);
  }

  async upload(agb: string, uploadedBy: string, format: SnapshotFormat, source: AsyncIterable<Buffer | string> | unknown[], caller?: Principal): Promise<SnapshotReceipt> {
    const actor: AuditEntry['actor'] = caller ?? { subject: uploadedBy, role: 'system', organisation: agb };
    // Refused before a byte of the body is read; checked again under the lock before commit.
    await this.checkRate(this.db, agb, actor);
    const today = amsterdamDate(new Date());
    const keyVersion = this.config.ttp.currentKeyVersion;
    const keys = { stage1: stage1Pseudonymiser(this.config.ttp.stage1Key), stage2: stage2Pseudonymiser(this.config.ttp.keys.get(keyVersion)!) };
    const locations = await locationCodes(this.db, agb);

    const batches: AsyncIterable<{ row: number; value: unknown }[]> = Array.isArray(source)
      ? (async function* () {
          yield source.map((value, row) => ({ row, value }));
        })()
      : format === 'csv'
        ? csvObjects(limited(source, this.config.ttp.maxUploadBytes), {
            onHeader: (header) => {
              const headerProblems = csvHeaderProblems(header, SNAPSHOT_COLUMNS);
              if (headerProblems.length > 0) {
                throw new BadRequestException({
                  message: 'The CSV header is not the snapshot header; nothing was stored',
                  details: headerProblems.map((reason) => ({ field: '(header)', reason })),
                });
              }
            },
          })
        : ndjsonObjects(limited(source, this.config.ttp.maxUploadBytes));

    const qr = this.db.createQueryRunner();
    await qr.connect();
    const client = (qr as unknown as { databaseConnection: PoolClient }).databaseConnection;
    const problems: { field: string; reason: string }[] = [];
    let invalidRows = 0;
    let entries = 0;
    try {
      await client.query('BEGIN');
      const {
        rows: [snap],
      } = await client.query(`INSERT INTO ttp.snapshot (agb, key_version, as_of, uploaded_by, format, entries) VALUES ($1, $2, $3, $4, $5, 0) RETURNING id`, [
        agb,
        keyVersion,
        today,
        uploadedBy,
        format,
      ]);
      const copy = client.query(
        copyFrom(
          `COPY ttp.snapshot_entry (snapshot_id, row_no, client_ref, pseudonym, location, diagnosis_group, registered_on, intake_on, stage, waits_for_this_provider) FROM STDIN`,
        ),
      );
      const copyDone = new Promise<void>((resolve, reject) => {
        copy.on('finish', resolve);
        copy.on('error', reject);
      });
      // Keep the COPY's own failure for the end; writes after it are ignored.
      copyDone.catch(() => undefined);
      let buffer = '';
      const flush = async () => {
        if (buffer && !copy.write(buffer)) await once(copy, 'drain');
        buffer = '';
      };
      try {
        for await (const batch of batches)
          for (const { row, value } of batch) {
            const checked = checkEntry(value, { today, locations, keys });
            if ('problems' in checked) {
              invalidRows++;
              for (const p of checked.problems) if (problems.length < MAX_REPORTED) problems.push({ field: `rows[${row}].${p.field}`, reason: p.reason });
              continue;
            }
            if (invalidRows > 0) continue; // refused anyway: only the report is still useful
            const e: CheckedEntry = checked.entry;
            buffer += `${snap.id}\t${row}\t${copyValue(e.clientRef)}\t${e.pseudonym}\t${copyValue(e.location)}\t${e.diagnosisGroup}\t${e.registeredOn}\t${copyValue(e.intakeOn)}\t${e.stage}\t${e.waitsForThisProvider}\n`;
            entries++;
            if (buffer.length > 256 * 1024) await flush();
          }
        await flush();
      } catch (e) {
        // Abort the COPY (the server gets CopyFail), so the connection can roll back.
        copy.destroy(e as Error);
        await copyDone.catch(() => undefined);
        throw e;
      }
      copy.end();
      await copyDone;

      if (invalidRows === 0 && entries > 0) {
        // The same clientRef twice in one snapshot is an error too; the rows are named.
        const dups = await client.query(
          `SELECT client_ref, array_agg(row_no ORDER BY row_no) AS rows FROM ttp.snapshot_entry WHERE snapshot_id = $1
            GROUP BY client_ref HAVING count(*) > 1 ORDER BY min(row_no) LIMIT ${MAX_REPORTED}`,
          [snap.id],
        );
        for (const d of dups.rows) {
          invalidRows++;
          for (const r of (d.rows as number[]).slice(1))
            if (problems.length < MAX_REPORTED) problems.push({ field: `rows[${r}].clientRef`, reason: `repeats the clientRef of row ${d.rows[0]}` });
        }
      }
      if (entries === 0 && invalidRows === 0) problems.push({ field: '(body)', reason: 'holds no entries' });
      if (problems.length > 0) {
        await client.query('ROLLBACK');
        throw new BadRequestException({
          message: `The snapshot is refused: ${invalidRows || 1} invalid row(s); nothing was stored and the previous snapshot stays in force`,
          details: problems,
        });
      }

      await client.query(`UPDATE ttp.snapshot SET entries = $2 WHERE id = $1`, [snap.id, entries]);
      // One provider's snapshots go into force one at a time (across instances): the count of
      // recent replacements and the presence of its people are then read and written consistently.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('ttp-snapshot:' || $1::text))`, [agb]);
      try {
        await this.checkRate(client, agb, actor);
      } catch (e) {
        await client.query('ROLLBACK');
        throw e;
      }
      const previous = await client.query(`SELECT snapshot_id FROM ttp.current_snapshot WHERE agb = $1 FOR UPDATE`, [agb]);
      // Presence: people of this snapshot keep the date they were first seen (or start now); people
      // no longer on the list lose theirs, so a person who comes back starts again. now() is the
      // transaction's start, the same for every statement here and for ttp.snapshot.uploaded_at.
      const presence = await client.query(
        `WITH seen AS (
           INSERT INTO ttp.list_presence (agb, key_version, pseudonym, first_seen_at, last_seen_at)
           SELECT DISTINCT $1::bpchar, $2::smallint, e.pseudonym, now(), now() FROM ttp.snapshot_entry e WHERE e.snapshot_id = $3
           ON CONFLICT (agb, key_version, pseudonym) DO UPDATE SET last_seen_at = now()
           RETURNING first_seen_at)
         SELECT count(*)::int AS people, count(*) FILTER (WHERE first_seen_at < now())::int AS known FROM seen`,
        [agb, keyVersion, snap.id],
      );
      const gone = await client.query(`DELETE FROM ttp.list_presence WHERE agb = $1 AND last_seen_at < now()`, [agb]);
      await client.query(`INSERT INTO ttp.snapshot_accepted (agb, snapshot_id) VALUES ($1, $2)`, [agb, snap.id]);
      await client.query(`DELETE FROM ttp.snapshot_accepted WHERE agb = $1 AND at < now() - interval '7 days'`, [agb]);
      await client.query(
        `INSERT INTO ttp.current_snapshot (agb, snapshot_id) VALUES ($1, $2)
         ON CONFLICT (agb) DO UPDATE SET snapshot_id = EXCLUDED.snapshot_id, since = now()`,
        [agb, snap.id],
      );
      // Older snapshots of this provider are no longer in force: they go, with their entries.
      const old = await client.query(`DELETE FROM ttp.snapshot WHERE agb = $1 AND id <> $2 RETURNING id`, [agb, snap.id]);
      if (old.rows.length > 0) await client.query(`DELETE FROM ttp.snapshot_entry WHERE snapshot_id = ANY($1::uuid[])`, [old.rows.map((r) => r.id)]);
      // The access log: who put which persons (as counts) on the TTP's lists, standing or falling with the snapshot.
      const { people, known } = presence.rows[0] as { people: number; known: number };
      await this.audit.record(
        [
          {
            actor,
            organisation: agb,
            personIndex: null,
            action: 'create',
            resource: `ttp/snapshot/${snap.id}`,
            purpose: 'zorgbemiddeling',
            outcome: 'allowed',
            details: { entries, people, alreadyOnList: known, newOnList: people - known, leftList: gone.rowCount ?? 0, replaced: previous.rows.length > 0, keyVersion, format },
          },
        ],
        client,
      );
      await client.query('COMMIT');
      this.logger.log({ msg: 'snapshot in force', agb, entries, keyVersion });
      return { snapshotId: snap.id, agb, entries, keyVersion, asOf: today, replaced: previous.rows[0]?.snapshot_id ?? null };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (e instanceof StreamFormatError)
        throw new BadRequestException({ message: `The snapshot cannot be read: ${e.message}`, details: [{ field: '(body)', reason: e.message }] });
      throw e;
    } finally {
      await qr.release();
    }
  }
}
