/**
 * Linkage runs: the snapshots in force are linked by pseudonym, and a run produces the insurer
 * report (aggregates, suppressed), each provider's feedback and the cleaned waiting times.
 *
 * A run reads everything in one REPEATABLE READ transaction, so an upload that lands meanwhile
 * is either wholly in it or wholly out of it, and writes its outputs in the same transaction.
 * Only snapshots pseudonymised under the current key version take part: after a key rotation the
 * others cannot be linked to them, and the run lists those providers as awaiting a re-send.
 * Runs are idempotent: the inputs (the snapshots used, the key version, the registry version for
 * regions and declared figures, and the settings) give a key, and a run over the inputs of the
 * newest computed run points at that run (same_as) instead of computing again.
 * One run at a time (an advisory lock). The entries stream out of Postgres (COPY) into the
 * in-memory linkage (linkage-compute.ts); the report is assembled and suppressed in
 * buildInsurerReport; feedback goes back with COPY.
 */
import { createHash, createHmac } from 'node:crypto';
import { once } from 'node:events';
import { Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig, QueueService } from '@app/platform';
import { declaredWaits, locationRegions, providerNames, registryVersion } from '@app/waitlists';
import { buildPublishedOutputs, CleanedSuppression, cleanedKey } from './insurer-report';
import { CleanedCell, Linkage } from './linkage-compute';
import { enqueueLinkageRun } from './linkage.queue';

/** Bump when the linkage rules change, so the same snapshots are linked again. */
const LINKAGE_RULES = 'linkage/v2';

/**
 * The pseudonymous reference of a person in the access log: keyed (HMAC under the run's stage-2
 * key, with a label of its own) from the stage-2 pseudonym, 128 bits written as letters a–p so it
 * can never look like a BSN. Only the TTP can recompute it for a given person (BSN → stage 1 →
 * stage 2 → reference), so an auditor can ask the TTP whether a person was disclosed, and to whom.
 */
export function accessLogRef(stage2Key: Buffer, pseudonymHex: string): string {
  const mac = createHmac('sha256', stage2Key).update(`ttp-access-log-ref|${pseudonymHex}`).digest();
  let out = '';
  for (let i = 0; i < 16; i++) out += String.fromCharCode(97 + (mac[i] >> 4), 97 + (mac[i] & 15));
  return out;
}
const RUN_LOCK = 'ttp-linkage';
/** Attempts a run gets when the process carrying it out dies (its outputs are one transaction). */
export const MAX_RUN_ATTEMPTS = 3;

export type RunTrigger = 'nightly' | 'on-demand';
export type RunStatus = 'queued' | 'running' | 'done' | 'failed';

export interface RunInput {
  agb: string;
  snapshotId: string;
  asOf: string;
  keyVersion: number;
  entries: number;
}

export interface LinkageRun {
  id: string;
  trigger: RunTrigger;
  requestedBy: string;
  status: RunStatus;
  requestedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  keyVersion: number | null;
  asOf: string | null;
  inputs: RunInput[] | null;
  /** Providers whose snapshot in force was made under an older key: not linked until they re-send. */
  awaitingResend: RunInput[] | null;
  counts: Record<string, number> | null;
  timings: Record<string, number> | null;
  /** When the same inputs were linked before: that run, whose outputs stand for this one. */
  sameAs: string | null;
  error: string | null;
}

const RUN_COLUMNS = `id, trigger, requested_by AS "requestedBy", status, requested_at AS "requestedAt", started_at AS "startedAt",
  finished_at AS "finishedAt", key_version AS "keyVersion", to_char(as_of, 'YYYY-MM-DD') AS "asOf", inputs, awaiting_resend AS "awaitingResend",
  counts, timings, same_as AS "sameAs", error`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class LinkageService {
  private readonly logger = new Logger(LinkageService.name);

  constructor(
    private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly queues: QueueService,
  ) {}

  /**
   * An operator asks for a run. When the snapshots in force were linked already, that run is the
   * answer; when a run is still queued, that one; otherwise a new run is queued for the worker
   * (job data: the run id only). If Redis is down the run stays queued and the worker's timer
   * picks it up.
   */
  async requestOnDemand(requestedBy: string): Promise<{ run: LinkageRun; created: boolean }> {
    const done = await this.doneForCurrentInputs();
    if (done) return { run: done, created: false };
    const [queued] = await this.db.query(`SELECT ${RUN_COLUMNS} FROM ttp.run WHERE status = 'queued' ORDER BY requested_at LIMIT 1`);
    if (queued) return { run: queued, created: false };
    const run = await this.request('on-demand', requestedBy);
    await enqueueLinkageRun(this.queues, run.id).catch((e) =>
      this.logger.warn({ msg: 'linkage run not queued; the worker timer will pick it up', runId: run.id, error: (e as Error).message }),
    );
    return { run, created: true };
  }

  /** Records a run request; the worker (or runQueued) carries it out. */
  async request(trigger: RunTrigger, requestedBy: string): Promise<LinkageRun> {
    const [row] = await this.db.query(`INSERT INTO ttp.run (trigger, requested_by) VALUES ($1, $2) RETURNING ${RUN_COLUMNS}`, [trigger, requestedBy]);
    return row;
  }

  /**
   * The run whose outputs stand for the snapshots in force now, if one was made: what an
   * on-demand request answers with instead of queueing the same work again.
   */
  async doneForCurrentInputs(): Promise<LinkageRun | null> {
    const key = this.inputsKey(await this.readInputs(this.db), await registryVersion(this.db));
    const [row] = await this.db.query(
      `SELECT ${RUN_COLUMNS} FROM (SELECT * FROM ttp.run WHERE status = 'done' AND same_as IS NULL ORDER BY finished_at DESC, id LIMIT 1) newest WHERE inputs_key = $1`,
      [key.key],
    );
    return row ?? null;
  }

  async get(id: string): Promise<LinkageRun> {
    if (!UUID.test(id)) throw new NotFoundException({ message: 'No such linkage run', details: [{ field: 'id', reason: 'is not a run id' }] });
    const [row] = await this.db.query(`SELECT ${RUN_COLUMNS} FROM ttp.run WHERE id = $1`, [id]);
    if (!row) throw new NotFoundException({ message: 'No such linkage run', details: [{ field: 'id', reason: 'no run has this id' }] });
    return row;
  }

  async list(limit = 50): Promise<LinkageRun[]> {
    return this.db.query(`SELECT ${RUN_COLUMNS} FROM ttp.run ORDER BY requested_at DESC, id LIMIT $1`, [limit]);
  }

  /** Carries out a queued run; a run someone else already took (or finished) is left alone. */
  async execute(runId: string): Promise<LinkageRun> {
    try {
      await this.link(runId);
    } catch (e) {
      const message = (e as Error).message.slice(0, 500);
      this.logger.error({ msg: 'linkage run failed', runId, error: message });
      await this.db.query(`UPDATE ttp.run SET status = 'failed', finished_at = now(), error = $2 WHERE id = $1 AND status IN ('queued', 'running')`, [runId, message]);
    }
    return this.get(runId);
  }

  /** Requests and carries out a run at once (the nightly job, the CLI and tests). */
  async runNow(trigger: RunTrigger, requestedBy: string): Promise<LinkageRun> {
    const run = await this.request(trigger, requestedBy);
    return this.execute(run.id);
  }

  /**
   * Housekeeping for the worker's timer: runs queued for longer than `olderThanSeconds` (their job
   * was lost, e.g. Redis was down) are carried out; runs left `running` by a process that died —
   * none is really running when the run lock is free — are queued again and carried out now (their
   * transaction rolled back, so nothing of them was published), or marked failed after
   * MAX_RUN_ATTEMPTS attempts, so a run that kills its worker is not retried for ever.
   */
  async runQueued(olderThanSeconds: number): Promise<number> {
    const qr = this.db.createQueryRunner();
    await qr.connect();
    let requeued: string[];
    try {
      const [{ free }] = await qr.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS free`, [RUN_LOCK]);
      if (!free) return 0;
      try {
        // TypeORM answers an UPDATE … RETURNING with [rows, affected].
        const [orphans]: [{ id: string; status: RunStatus; attempts: number }[], number] = await qr.query(
          `UPDATE ttp.run SET status = CASE WHEN attempts < $1 THEN 'queued' ELSE 'failed' END,
                  started_at = CASE WHEN attempts < $1 THEN NULL ELSE started_at END,
                  finished_at = CASE WHEN attempts < $1 THEN NULL ELSE now() END,
                  error = CASE WHEN attempts < $1 THEN NULL ELSE 'interrupted: the process running it stopped, ' || attempts || ' times' END
            WHERE status = 'running' RETURNING id, status, attempts`,
          [MAX_RUN_ATTEMPTS],
        );
        for (const o of orphans)
          this.logger.warn({
            msg: o.status === 'queued' ? 'linkage run interrupted; queued again' : 'linkage run interrupted too often; failed',
            runId: o.id,
            attempts: o.attempts,
          });
        requeued = orphans.filter((o) => o.status === 'queued').map((o) => o.id);
      } finally {
        await qr.query(`SELECT pg_advisory_unlock(hashtext($1))`, [RUN_LOCK]);
      }
    } finally {
      await qr.release();
    }
    const queued: { id: string }[] = await this.db.query(
      `SELECT id FROM ttp.run WHERE status = 'queued' AND (requested_at < now() - make_interval(secs => $1) OR id = ANY($2::uuid[])) ORDER BY requested_at LIMIT 10`,
      [olderThanSeconds, requeued],
    );
    for (const { id } of queued) await this.execute(id);
    return queued.length;
  }

  private async readInputs(q: { query: (sql: string, params?: unknown[]) => Promise<unknown> }): Promise<RunInput[]> {
    const rows = (await q.query(
      `SELECT c.agb, s.id AS "snapshotId", to_char(s.as_of, 'YYYY-MM-DD') AS "asOf", s.key_version AS "keyVersion", s.entries
         FROM ttp.current_snapshot c JOIN ttp.snapshot s ON s.id = c.snapshot_id ORDER BY c.agb`,
    )) as RunInput[] | { rows: RunInput[] };
    return Array.isArray(rows) ? rows : rows.rows;
  }

  private inputsKey(all: RunInput[], registryVersion: string) {
    const keyVersion = this.config.ttp.currentKeyVersion;
    const used = all.filter((i) => i.keyVersion === keyVersion);
    const awaiting = all.filter((i) => i.keyVersion !== keyVersion);
    const t = this.config.ttp;
    const key = createHash('sha256')
      .update(
        [
          LINKAGE_RULES,
          `key:${keyVersion}`,
          `registry:${registryVersion}`,
          `flag:${t.flagWeeks}`,
          `top:${t.topOverlaps}`,
          `feedback-days:${t.feedbackMinDays}`,
          ...used.map((i) => `${i.agb}:${i.snapshotId}`),
        ].join('\n'),
      )
      .digest('hex');
    return { key, keyVersion, used, awaiting };
  }

  private async link(runId: string): Promise<void> {
    const t0 = performance.now();
    const timings: Record<string, number> = {};
    const lap = (name: string, since: number) => (timings[name] = Math.round(performance.now() - since));
    const qr = this.db.createQueryRunner();
    await qr.connect();
    const c = (qr as unknown as { databaseConnection: PoolClient }).databaseConnection;
    // The lock is taken before the transaction: a REPEATABLE READ snapshot starts with its first
    // statement, and one taken while waiting for the lock would not see the run that held it.
    // The run is claimed under the lock, so a run `running` while the lock is free is an orphan.
    await c.query(`SELECT pg_advisory_lock(hashtext($1))`, [RUN_LOCK]);
    try {
      const claimed = await c.query(`UPDATE ttp.run SET status = 'running', started_at = now(), attempts = attempts + 1 WHERE id = $1 AND status = 'queued'`, [runId]);
      if (claimed.rowCount === 0) return; // taken, or finished, by someone else
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const { key, keyVersion, used, awaiting } = this.inputsKey(await this.readInputs(c), await registryVersion(c));
      const asOf = used.reduce((max, i) => (i.asOf > max ? i.asOf : max), '0000-00-00');
      const record = [runId, key, keyVersion, used.length ? asOf : null, JSON.stringify(used), JSON.stringify(awaiting)];

      // Only the newest computed run still has its feedback (older feedback is deleted), so only
      // its inputs are reused.
      const { rows: before } = await c.query(
        `SELECT id, counts FROM (SELECT id, counts, inputs_key FROM ttp.run WHERE status = 'done' AND same_as IS NULL ORDER BY finished_at DESC, id LIMIT 1) newest
          WHERE inputs_key = $1`,
        [key],
      );
      if (before.length > 0) {
        await c.query(
          `UPDATE ttp.run SET status = 'done', finished_at = now(), inputs_key = $2, key_version = $3, as_of = $4, inputs = $5, awaiting_resend = $6,
                  same_as = $7, counts = $8, timings = $9 WHERE id = $1`,
          [...record, before[0].id, before[0].counts, JSON.stringify({ totalMs: Math.round(performance.now() - t0) })],
        );
        await c.query('COMMIT');
        this.logger.log({ msg: 'linkage run: same inputs as an earlier run', runId, sameAs: before[0].id });
        return;
      }

      // Every entry of the snapshots used, streamed out (COPY) into the in-memory linkage, with its
      // region, how long it has waited so far on its snapshot's date (for intake: since
      // registration; for treatment: since intake), and whether the person is established on this
      // provider's list: seen in a snapshot at least TTP_FEEDBACK_MIN_DAYS before the one in force,
      // and in every snapshot since (ttp.list_presence; a snapshot without them resets it).
      let t = performance.now();
      const linkage = new Linkage();
      // Regions from the registry's owner, in this transaction's snapshot.
      const regions = await locationRegions(
        c,
        used.map((i) => i.agb),
      );
      // COPY takes no parameters; the ids are uuids read from ttp.snapshot above.
      const out = c.query(
        copyTo(
          `COPY (SELECT s.agb, e.client_ref, e.pseudonym, e.location, e.diagnosis_group, e.stage = 'waiting-treatment',
                        CASE WHEN e.stage = 'waiting-treatment' THEN s.as_of - e.intake_on ELSE s.as_of - e.registered_on END,
                        coalesce(p.first_seen_at <= s.uploaded_at - make_interval(days => ${Math.trunc(this.config.ttp.feedbackMinDays)}), false)
                   FROM ttp.snapshot_entry e
                   JOIN ttp.snapshot s ON s.id = e.snapshot_id
                   LEFT JOIN ttp.list_presence p ON p.agb = s.agb AND p.key_version = s.key_version AND p.pseudonym = e.pseudonym
                  WHERE e.snapshot_id IN (${used.map((i) => `'${i.snapshotId}'`).join(',') || 'NULL'})) TO STDOUT`,
        ),
      );
      let rest = '';
      for await (const chunk of out as AsyncIterable<Buffer>) {
        const text = rest + chunk.toString('latin1');
        let from = 0;
        for (let nl = text.indexOf('\n'); nl >= 0; from = nl + 1, nl = text.indexOf('\n', from)) {
          const f = text.slice(from, nl).split('\t');
          linkage.add({
            agb: f[0],
            clientRef: unescapeCopy(f[1]),
            pseudonym: f[2],
            location: unescapeCopy(f[3]),
            diagnosisGroup: f[4],
            treat: f[5] === 't',
            days: Number(f[6]),
            region: regions.get(`${f[0]}\t${unescapeCopy(f[3])}`) ?? 'onbekend',
            established: f[7] === 't',
          });
        }
        rest = text.slice(from);
      }
      lap('entriesMs', t);

      t = performance.now();
      const { raw, feedback, cleaned } = linkage.compute(this.config.ttp.topOverlaps);
      lap('linkMs', t);

      t = performance.now();
      const names = await providerNames(
        c,
        raw.providers.map((p) => p.agb),
      );
      // The report and the cleaned waiting times are suppressed together: no "<5" of one can be
      // worked out with the figures of the other.
      const published = buildPublishedOutputs({ ...raw, providers: raw.providers.map((p) => ({ ...p, name: names.get(p.agb) ?? null })) }, cleaned, {
        topOverlaps: this.config.ttp.topOverlaps,
      });
      const report = published.report;
      lap('reportMs', t);

      t = performance.now();
      const refKey = this.config.ttp.keys.get(keyVersion)!;
      const copy = c.query(copyFrom(`COPY ttp.run_feedback (run_id, agb, client_ref, other_lists, other_stages, person_ref) FROM STDIN`));
      const copied = new Promise<void>((resolve, reject) => {
        copy.on('finish', resolve);
        copy.on('error', reject);
      });
      let buffer = '';
      for (const f of feedback) {
        buffer += `${runId}\t${f.agb}\t${escapeCopy(f.clientRef)}\t${f.otherLists}\t{${f.otherStages.join(',')}}\t${accessLogRef(refKey, f.pseudonym)}\n`;
        if (buffer.length > 256 * 1024) {
          if (!copy.write(buffer)) await once(copy, 'drain');
          buffer = '';
        }
      }
      copy.end(buffer);
      await copied;
      lap('feedbackMs', t);

      t = performance.now();
      const flagged = await this.storeCleaned(c, runId, cleaned, published.cleaned);
      lap('cleanedMs', t);

      const counts = {
        providers: used.length,
        awaitingResend: awaiting.length,
        entries: raw.national.entries,
        distinctPeople: raw.national.distinctPeople,
        peopleOnSeveralLists: raw.national.distinctPeople - raw.national.peopleOn['1'],
        feedbackEntries: feedback.length,
        cleanedCells: cleaned.length,
        flaggedCells: flagged,
      };
      timings.totalMs = Math.round(performance.now() - t0);
      await c.query(
        `UPDATE ttp.run SET status = 'done', finished_at = now(), inputs_key = $2, key_version = $3, as_of = $4, inputs = $5, awaiting_resend = $6,
                counts = $7, timings = $8, report = $9 WHERE id = $1`,
        [...record, JSON.stringify(counts), JSON.stringify(timings), JSON.stringify(report)],
      );
      // Person-level outputs are kept for the newest run only: older feedback is deleted.
      await c.query(`DELETE FROM ttp.run_feedback WHERE run_id <> $1`, [runId]);
      await c.query('COMMIT');
      this.logger.log({ msg: 'linkage run done', runId, ...counts, totalMs: timings.totalMs });
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      await c.query(`SELECT pg_advisory_unlock(hashtext($1))`, [RUN_LOCK]).catch(() => undefined);
      await qr.release();
    }
  }

  /**
   * Stores the cleaned waiting times next to the provider's declared figures (current, from the
   * registry); a cell whose declared wait differs from the measured median by more than
   * TTP_FLAG_WEEKS (either stage) is flagged. Returns how many were flagged.
   */
  private async storeCleaned(
    c: PoolClient,
    runId: string,
    cells: CleanedCell[],
    suppressed: Map<string, { intake: CleanedSuppression; treatment: CleanedSuppression }>,
  ): Promise<number> {
    const declared = await declaredWaits(c, [...new Set(cells.map((x) => x.agb))]);
    const res = await c.query(
      `INSERT INTO ttp.run_cleaned_wait (run_id, agb, location, diagnosis_group, entries, waiting_intake, waiting_treatment, left_out,
              intake_median_weeks, intake_p80_weeks, treatment_median_weeks, treatment_p80_weeks,
              declared_month, declared_aanmeld_weeks, declared_behandel_weeks, flagged, intake_suppressed, treatment_suppressed)
       SELECT $1, x.agb, x.location, x.dg, x.entries, x.wi, x.wt, x.left_out, x.i50, x.i80, x.t50, x.t80,
              x.dm, x.da, x.db,
              coalesce(abs(x.da - x.i50) > $3, false) OR coalesce(abs(x.db - x.t50) > $3, false), x.si, x.st
         FROM jsonb_to_recordset($2::jsonb) AS x(agb text, location text, dg text, entries int, wi int, wt int, left_out int,
              i50 numeric, i80 numeric, t50 numeric, t80 numeric, si text, st text, dm date, da numeric, db numeric)
       RETURNING flagged`,
      [
        runId,
        JSON.stringify(
          cells.map((x) => ({
            agb: x.agb,
            location: x.location,
            dg: x.diagnosisGroup,
            entries: x.entries,
            wi: x.waitingIntake,
            wt: x.waitingTreatment,
            left_out: x.leftOut,
            i50: x.intake.median,
            i80: x.intake.p80,
            t50: x.treatment.median,
            t80: x.treatment.p80,
            si: suppressed.get(cleanedKey(x))?.intake ?? null,
            st: suppressed.get(cleanedKey(x))?.treatment ?? null,
            // The provider's declared figure in force, from the registry's owner.
            dm: declared.get(`${x.agb}\t${x.location}\t${x.diagnosisGroup}`)?.month ?? null,
            da: declared.get(`${x.agb}\t${x.location}\t${x.diagnosisGroup}`)?.aanmeldWeeks ?? null,
            db: declared.get(`${x.agb}\t${x.location}\t${x.diagnosisGroup}`)?.behandelWeeks ?? null,
          })),
        ),
        this.config.ttp.flagWeeks,
      ],
    );
    return res.rows.filter((r) => r.flagged).length;
  }
}

/** COPY text format: only a backslash can need escaping in our checked values (printable ASCII, no spaces). */
const escapeCopy = (v: string) => (v.includes('\\') ? v.replace(/\\/g, '\\\\') : v);
const unescapeCopy = (v: string) => (v.includes('\\') ? v.replace(/\\(.)/g, '$1') : v);
