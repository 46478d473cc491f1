/**
 * Takes a provider's waiting-list snapshot as a stream: each record is checked and pseudonymised
 * as it arrives and copied into ttp.snapshot_entry (COPY) inside one transaction, so memory does
 * not grow with the file. Any invalid record refuses the whole snapshot (first 100 problems
 * reported, nothing stored, the previous snapshot stays in force); a valid one becomes the
 * provider's snapshot in force in the same transaction that stores it.
 */
import { once } from 'node:events';
import { BadRequestException, Inject, Injectable, Logger, PayloadTooLargeException } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataSource } from 'typeorm';
import { amsterdamDate, stage1Pseudonymiser, stage2Pseudonymiser } from '@app/core';
import { APP_CONFIG, AppConfig } from '@app/platform';
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
  ) {}

  async upload(agb: string, uploadedBy: string, format: SnapshotFormat, source: AsyncIterable<Buffer | string> | unknown[]): Promise<SnapshotReceipt> {
    const today = amsterdamDate(new Date());
    const keyVersion = this.config.ttp.currentKeyVersion;
    const keys = { stage1: stage1Pseudonymiser(this.config.ttp.stage1Key), stage2: stage2Pseudonymiser(this.config.ttp.keys.get(keyVersion)!) };
    const locations = new Set<string>((await this.db.query(`SELECT code FROM provider_location WHERE agb = $1`, [agb])).map((r: { code: string }) => r.code));

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
      const previous = await client.query(`SELECT snapshot_id FROM ttp.current_snapshot WHERE agb = $1 FOR UPDATE`, [agb]);
      await client.query(
        `INSERT INTO ttp.current_snapshot (agb, snapshot_id) VALUES ($1, $2)
         ON CONFLICT (agb) DO UPDATE SET snapshot_id = EXCLUDED.snapshot_id, since = now()`,
        [agb, snap.id],
      );
      // Older snapshots of this provider are no longer in force: they go, with their entries.
      const old = await client.query(`DELETE FROM ttp.snapshot WHERE agb = $1 AND id <> $2 RETURNING id`, [agb, snap.id]);
      if (old.rows.length > 0) await client.query(`DELETE FROM ttp.snapshot_entry WHERE snapshot_id = ANY($1::uuid[])`, [old.rows.map((r) => r.id)]);
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
