/**
 * The worker killed outright (SIGKILL: no shutdown hook runs) in the middle of evaluating and in
 * the middle of a TTP linkage run. After a restart every job completes once: each referral has
 * one evaluation, one task at most, one history start and one access-log entry; the linkage run
 * that was cut off is run again and ends computed, and nothing of the killed attempt was ever
 * visible. Also SIGTERM during a linkage run: the worker finishes the run, then exits 0.
 */
import { amsterdamDate } from '@app/core';
import { loadConfig } from '@app/platform';
import { groundTruth, planSnapshots, snapshotCsv, SnapshotPlan } from '@app/ttp';
import { generateDemoRegistry, loadDemoRegistry } from '@app/waitlists';
import { dropFaultDb, Db, FaultEnv, faultEnv, http, referralMessage, Service, sleep, token, waitUntil } from './support/faults';

jest.setTimeout(180_000);

let f: FaultEnv;
let api: Service;
let db: Db;
const today = amsterdamDate(new Date());
const registry = generateDemoRegistry({ today, providers: 60, seed: 7 });
const rs = () => token('referral-service', { uzovi: ['3311'], subject: 'zorgdomein' });
const operator = () => token('ttp-operator', { subject: 'ttp-op-faults' });
// Small jobs, a few at a time: the kill lands with jobs in progress and many more waiting.
const slowWorker = () => ({ ...f.env, WORKER_CONCURRENCY: '4', EVALUATION_BATCH_SIZE: '5' });

beforeAll(async () => {
  f = await faultEnv('kill');
  db = new Db(f.dbUrl);
  api = await Service.api(f.env);
  await loadDemoRegistry({ query: (sql, params) => db.query(sql, params) }, registry);
});
afterAll(async () => {
  await Service.stopAll();
  await db?.close();
  if (f) await dropFaultDb(f);
});

describe('SIGKILL in the middle of evaluation', () => {
  it('after a restart every referral is evaluated exactly once, with at most one task, one task history start and one access-log entry', async () => {
    // 3,000 referrals to providers and groups of the registry, referred 0–10 weeks ago: a good
    // share is above the norm and gets a task.
    const pairs = registry.locations.flatMap((l) => l.diagnosisGroups.map((g) => ({ agb: l.agb, group: g })));
    const ids: string[] = [];
    for (let b = 0; b < 3; b++) {
      const messages = Array.from({ length: 1000 }, (_, i) => {
        const p = pairs[(b * 1000 + i) % pairs.length];
        return referralMessage({ agb: p.agb, klachtenprofiel: p.group, verwijsdatum: amsterdamDate(new Date(Date.now() - ((i * 7) % 70) * 86_400_000)) });
      });
      const res = await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages } });
      expect(res.status).toBe(200);
      expect(res.body.summary.created).toBe(1000);
      ids.push(...messages.map((m) => m.messageId));
    }
    // Per referral: its evaluations, tasks, task-history starts and access-log entries.
    const state = () =>
      db.one<{ evaluated: number; evaluations: number; torn: number; tasks: number; aboveNorm: number; created: number; logged: number }>(
        `WITH r AS (SELECT id, status, verdict FROM referral WHERE message_id = ANY($1)),
              e AS (SELECT referral_id AS id, count(*) AS n FROM referral_evaluation WHERE referral_id IN (SELECT id FROM r) GROUP BY 1),
              t AS (SELECT referral_id AS id, count(*) AS n FROM mediation_task WHERE referral_id IN (SELECT id FROM r) GROUP BY 1),
              c AS (SELECT mt.referral_id AS id, count(*) AS n FROM task_event ev JOIN mediation_task mt ON mt.id = ev.task_id
                     WHERE ev.type = 'created' AND mt.referral_id IN (SELECT id FROM r) GROUP BY 1),
              a AS (SELECT substr(resource, 10)::uuid AS id, count(*) AS n FROM access_log WHERE action = 'evaluate' AND resource LIKE 'referral/%' GROUP BY 1)
         SELECT count(*) FILTER (WHERE r.status = 'evaluated')::int AS evaluated,
                coalesce(sum(e.n), 0)::int AS evaluations,
                count(*) FILTER (WHERE (r.status = 'evaluated') <> (coalesce(e.n, 0) = 1) OR e.n > 1 OR (r.status = 'evaluated') <> (coalesce(a.n, 0) = 1))::int AS torn,
                coalesce(sum(t.n), 0)::int AS tasks,
                count(*) FILTER (WHERE r.verdict = 'above-norm')::int AS "aboveNorm",
                coalesce(sum(c.n), 0)::int AS created,
                coalesce(sum(a.n), 0)::int AS logged
           FROM r LEFT JOIN e USING (id) LEFT JOIN t USING (id) LEFT JOIN c USING (id) LEFT JOIN a USING (id)`,
        [ids],
      );
    // This file's database holds only these referrals: a cheap count, polled often.
    const evaluated = async () => (await db.one(`SELECT count(*)::int AS n FROM referral WHERE status = 'evaluated'`)).n;

    const killedAt: number[] = [];
    for (const share of [0.1, 0.45]) {
      const worker = await Service.worker(slowWorker());
      await waitUntil(async () => (await evaluated()) >= 3000 * share, 90_000, 5);
      worker.kill('SIGKILL');
      await worker.exited;
      // The killed worker's transactions are rolled back once Postgres sees its connections close.
      await waitUntil(
        async () => (await db.one(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'ggz-worker'`, [f.dbName])).n === 0,
        10_000,
        20,
      );
      const s = await state();
      killedAt.push(s.evaluated);
      expect(s.torn).toBe(0);
      expect(s.evaluated).toBeLessThan(3000);
      expect(s.tasks).toBe(s.created);
    }

    const startedAt = performance.now();
    const worker = await Service.worker(slowWorker());
    await waitUntil(async () => (await evaluated()) === 3000, 120_000, 250);
    const tookMs = Math.round(performance.now() - startedAt);
    await sleep(2500); // the sweeper and the stalled jobs of the killed workers have their turn
    const end = await state();
    expect(end).toMatchObject({ evaluated: 3000, evaluations: 3000, torn: 0, logged: 3000 });
    // Phase 1 of the policy: a task for each referral above the norm, created once.
    expect(end.aboveNorm).toBeGreaterThan(100);
    expect(end.tasks).toBe(end.aboveNorm);
    expect(end.created).toBe(end.tasks);
    await worker.stop();
    console.log(
      `fault worker-sigkill-evaluation: 3,000 referrals; killed twice (at ${killedAt.join(' and ')} evaluated); after the restart all evaluated exactly once in ` +
        `${tookMs} ms; ${end.tasks} tasks for ${end.aboveNorm} above-norm verdicts, each created once; 3,000 access-log entries`,
    );
  });
});

describe('linkage runs', () => {
  let plan: SnapshotPlan;
  let truth: ReturnType<typeof groundTruth>;
  const provider = (agb: string) => token('provider', { agb, subject: `provider-${agb}` });
  const upload = async (i: number) => {
    const res = await http(api.url, 'POST', '/v1/ttp/snapshots', { token: provider(plan.providers[i].agb), body: snapshotCsv(plan, i), headers: { 'content-type': 'text/csv' } });
    expect(res.status).toBe(201);
  };
  const run = async (id: string) => (await http(api.url, 'GET', `/v1/ttp/runs/${id}`, { token: operator() })).body;
  const outputsOf = (id: string) =>
    db.one<{ feedback: number; cleaned: number }>(
      `SELECT (SELECT count(*) FROM ttp.run_feedback WHERE run_id = $1)::int AS feedback, (SELECT count(*) FROM ttp.run_cleaned_wait WHERE run_id = $1)::int AS cleaned`,
      [id],
    );
  /** What a mediator sees as the newest run's report. */
  const reportRun = async () => (await http(api.url, 'GET', '/v1/ttp/report', { token: token('mediator', { uzovi: ['3311'] }) })).body.run.runId;

  beforeAll(async () => {
    plan = planSnapshots({
      today,
      locations: registry.locations,
      entries: 150_000,
      providers: 40,
      dupRate: 0.2,
      seed: 11,
      stage1Key: loadConfig({ NODE_ENV: 'test' }).ttp.stage1Key,
    });
    truth = groundTruth(plan);
    const queue = [...plan.providers.keys()];
    await Promise.all(
      [0, 1].map(async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) await upload(i);
      }),
    );
  });

  it('SIGKILL in the middle of a run: nothing of it is published; after a restart the same run is carried out again and ends computed, once', async () => {
    const worker = await Service.worker(f.env);
    const first = await http(api.url, 'POST', '/v1/ttp/runs', { token: operator() });
    expect(first.status).toBe(202);
    const firstRun = await waitUntil(async () => ((await run(first.body.id)).status === 'done' ? run(first.body.id) : undefined), 60_000, 50);
    expect(firstRun.counts.entries).toBe(150_000);

    // New inputs (one provider re-sends its list), a new run; kill the worker while it writes its
    // outputs. Should a run finish before its writing was caught, the next provider re-sends and
    // the next run is tried.
    let a = firstRun;
    let b = '';
    let phase: string | undefined;
    let finishedFirst = 0;
    for (let attempt = 0; !phase; attempt++) {
      if (attempt > 0) a = await run(b);
      expect(attempt).toBeLessThan(4);
      await upload(attempt);
      const started = await http(api.url, 'POST', '/v1/ttp/runs', { token: operator() });
      expect(started.status).toBe(202);
      b = started.body.id as string;
      phase = await waitUntil(
        async () => {
          const [active] = await db.query(
            `SELECT substring(query from 'ttp\\.run_(feedback|cleaned_wait)') AS phase FROM pg_stat_activity
              WHERE datname = $1 AND application_name = 'ggz-worker' AND state = 'active' AND query ~ 'ttp\\.run_(feedback|cleaned_wait)'`,
            [f.dbName],
          );
          if (active?.phase) return active.phase as string;
          return (await run(b)).status === 'done' ? 'finished-first' : undefined;
        },
        60_000,
        2,
      );
      if (phase === 'finished-first') {
        phase = undefined;
        finishedFirst++;
      }
    }
    worker.kill('SIGKILL');
    await worker.exited;
    await waitUntil(
      async () => (await db.one(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'ggz-worker'`, [f.dbName])).n === 0,
      10_000,
      20,
    );

    // Killed while writing its outputs: nothing of them is there, the report is still the first run's.
    expect((await run(b)).status).toBe('running');
    expect(await outputsOf(b)).toEqual({ feedback: 0, cleaned: 0 });
    expect(await reportRun()).toBe(a.id);
    expect((await outputsOf(a.id)).feedback).toBe(a.counts.feedbackEntries);

    const restartedAt = performance.now();
    const next = await Service.worker(f.env);
    const done = await waitUntil(
      async () => {
        const r = await run(b);
        return r.status === 'done' || r.status === 'failed' ? r : undefined;
      },
      60_000,
      50,
    );
    const tookMs = Math.round(performance.now() - restartedAt);
    expect(done).toMatchObject({ status: 'done', sameAs: null, error: null });
    expect(done.counts).toMatchObject({
      entries: 150_000,
      distinctPeople: truth.national.distinctPeople,
      peopleOnSeveralLists: truth.national.distinctPeople - truth.national.peopleOn['1'],
    });
    expect((await db.one(`SELECT attempts FROM ttp.run WHERE id = $1`, [b])).attempts).toBe(2);
    // Its outputs in full, the first run's feedback gone (only the newest run keeps it), and the report is this run's.
    expect(await outputsOf(b)).toEqual({ feedback: done.counts.feedbackEntries, cleaned: done.counts.cleanedCells });
    expect((await outputsOf(a.id)).feedback).toBe(0);
    expect(await reportRun()).toBe(b);
    // Computed once: the first run, any that finished before the kill could catch them, and this one.
    expect((await db.one(`SELECT count(*)::int AS n FROM ttp.run WHERE status = 'done' AND same_as IS NULL`)).n).toBe(2 + finishedFirst);
    expect((await db.one(`SELECT count(*)::int AS n FROM ttp.run WHERE status IN ('queued', 'running', 'failed')`)).n).toBe(0);
    await next.stop();
    console.log(
      `fault worker-sigkill-linkage: run over 150,000 entries / 40 providers killed while writing ttp.run_${phase} (runs that finished first: ${finishedFirst}); nothing of it visible; ` +
        `after the restart the same run was carried out again (attempt 2) and was done ${tookMs} ms later with the ground truth's counts`,
    );
  });

  it('SIGTERM in the middle of a run: the worker finishes the run, then exits 0', async () => {
    const worker = await Service.worker(f.env);
    await upload(1);
    const started = await http(api.url, 'POST', '/v1/ttp/runs', { token: operator() });
    expect(started.status).toBe(202);
    await waitUntil(async () => (await run(started.body.id)).status === 'running', 60_000, 5);
    const termAt = performance.now();
    worker.kill('SIGTERM');
    const exit = await worker.exited;
    const tookMs = Math.round(performance.now() - termAt);
    expect(exit).toEqual({ code: 0, signal: null });
    const r = await run(started.body.id);
    expect(r).toMatchObject({ status: 'done', sameAs: null });
    expect((await outputsOf(r.id)).feedback).toBe(r.counts.feedbackEntries);
    console.log(`fault worker-sigterm-linkage: SIGTERM while the run was running; the worker finished it (done) and exited 0 after ${tookMs} ms`);
  });
});
