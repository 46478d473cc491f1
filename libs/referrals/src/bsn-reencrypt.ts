/**
 * BSN key rotation: re-encrypts every referral whose BSN is sealed under a key other than the
 * current one (BSN_ENCRYPTION_KEY_ID), so the old key can then be dropped from
 * BSN_ENCRYPTION_KEYS. Run with `npm run bsn:reencrypt [-- --batch 1000]`.
 *
 * - Batches of `batchSize` referrals, each in one transaction that locks its rows with
 *   FOR UPDATE SKIP LOCKED: the API and worker keep working (a row being withdrawn or read
 *   for update at that moment is skipped and left for a next run), and an interrupted run
 *   loses at most its open batch.
 * - Idempotent and resumable: the work is "rows on another key", so a second run finds none.
 * - Withdrawn referrals (NULL ciphertext) are not touched. The blind index and the content
 *   fingerprint stay as they are: they are under their own keys.
 * - Referrals under a key id that is not configured cannot be read; they are counted, not
 *   touched. A ciphertext that does not open stops the run, naming the referral (never a BSN).
 *
 * While it runs (and until it has finished), every process must have both keys listed:
 * the current one to write and read, the old ones to read what is not yet re-encrypted.
 */
import type { DataSource } from 'typeorm';
import type { BsnKeyConfig } from '@app/platform';
import { BsnVault } from '@app/platform';

export interface ReencryptOptions {
  /** Referrals per transaction (default 1000). */
  batchSize?: number;
  /** Called after each committed batch with the running total. */
  onBatch?: (progress: { batch: number; reencrypted: number; total: number }) => void;
}

export interface ReencryptReport {
  currentKeyId: string;
  /** Referrals re-encrypted, by the key id they were under. */
  reencrypted: Record<string, number>;
  total: number;
  batches: number;
  /** Referrals under a key id that is not in BSN_ENCRYPTION_KEYS: unreadable, left as they are. */
  missingKey: Record<string, number>;
  /** Referrals still under an old, configured key after the run (held by other transactions): a next run takes them. */
  leftOver: number;
  ms: number;
}

export async function reencryptBsns(db: DataSource, keys: BsnKeyConfig, options: ReencryptOptions = {}): Promise<ReencryptReport> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('batchSize must be a positive whole number');
  const vault = new BsnVault(keys);
  const current = keys.currentKeyId;
  const oldKeyIds = [...keys.keys.keys()].filter((k) => k !== current);
  const report: ReencryptReport = { currentKeyId: current, reencrypted: {}, total: 0, batches: 0, missingKey: {}, leftOver: 0, ms: 0 };

  // Keyset over the primary key: each row is visited once, so a run is linear in the table.
  let after = '00000000-0000-0000-0000-000000000000';
  while (oldKeyIds.length > 0) {
    const batch = await db.transaction(async (m) => {
      const rows: Array<{ id: string; bsn_key_id: string; bsn_ciphertext: Buffer }> = await m.query(
        `SELECT id, bsn_key_id, bsn_ciphertext FROM referral
          WHERE id > $1 AND bsn_key_id = ANY($2::text[]) AND bsn_ciphertext IS NOT NULL
          ORDER BY id LIMIT $3
          FOR UPDATE SKIP LOCKED`,
        [after, oldKeyIds, batchSize],
      );
      if (rows.length === 0) return undefined;
      const counts: Record<string, number> = {};
      const ciphertexts: string[] = [];
      for (const r of rows) {
        let bsn: string;
        try {
          bsn = vault.open({ keyId: r.bsn_key_id, ciphertext: r.bsn_ciphertext });
        } catch {
          throw new Error(`referral ${r.id}: its BSN does not decrypt under key "${r.bsn_key_id}" (altered, or another key under that id); nothing in this batch was changed`);
        }
        ciphertexts.push(vault.seal(bsn).ciphertext.toString('hex'));
        counts[r.bsn_key_id] = (counts[r.bsn_key_id] ?? 0) + 1;
      }
      await m.query(
        `UPDATE referral r SET bsn_ciphertext = decode(v.c, 'hex'), bsn_key_id = $1
           FROM unnest($2::uuid[], $3::text[]) AS v(id, c)
          WHERE r.id = v.id`,
        [current, rows.map((r) => r.id), ciphertexts],
      );
      return { counts, last: rows[rows.length - 1].id, n: rows.length };
    });
    if (!batch) break;
    after = batch.last;
    report.batches++;
    report.total += batch.n;
    for (const [k, n] of Object.entries(batch.counts)) report.reencrypted[k] = (report.reencrypted[k] ?? 0) + n;
    options.onBatch?.({ batch: report.batches, reencrypted: batch.n, total: report.total });
  }

  const missing: Array<{ key_id: string; n: number }> = await db.query(
    `SELECT bsn_key_id AS key_id, count(*)::int AS n FROM referral
      WHERE bsn_key_id IS NOT NULL AND bsn_key_id <> ALL($1::text[]) GROUP BY bsn_key_id ORDER BY bsn_key_id`,
    [[...keys.keys.keys()]],
  );
  for (const m of missing) report.missingKey[m.key_id] = m.n;
  if (oldKeyIds.length > 0) {
    const [left] = await db.query(`SELECT count(*)::int AS n FROM referral WHERE bsn_key_id = ANY($1::text[])`, [oldKeyIds]);
    report.leftOver = left.n;
  }
  report.ms = Math.round(performance.now() - started);
  return report;
}

/** The report as lines for an operator: counts and key ids only, never a BSN. */
export function describeReencryptReport(r: ReencryptReport): string[] {
  const lines: string[] = [];
  const seconds = `${(r.ms / 1000).toFixed(1)} s`;
  if (r.total === 0) lines.push(`nothing to re-encrypt: no readable referral is under a key other than "${r.currentKeyId}" (${seconds})`);
  else {
    const per = Object.entries(r.reencrypted)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `${n} from "${k}"`)
      .join(', ');
    lines.push(`re-encrypted ${r.total} referral(s) under key "${r.currentKeyId}" in ${r.batches} batch(es), ${seconds}: ${per}`);
  }
  for (const [k, n] of Object.entries(r.missingKey)) {
    lines.push(`${n} referral(s) under key "${k}" cannot be read: that key is not in BSN_ENCRYPTION_KEYS (left as they are)`);
  }
  if (r.leftOver > 0) lines.push(`${r.leftOver} referral(s) were held by other transactions and are still under an old key: run again`);
  return lines;
}
