/**
 * Operations: Prometheus metrics of the API (GET /metrics) and of the worker (its own listener),
 * and the queue dashboard (Bull Board) at /admin/queues — after real traffic, real jobs and a real
 * linkage run. Works in a database and queue prefix of its own: a linkage run links every
 * snapshot in force, and the gauges are compared with whole tables.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { ensureDatabase, QUEUES_CSP, API_CSP } from '@app/platform';
import { findBsnLike } from './support/log-scan';
import { giveTask, http, nextBsn, referralMessage, RunningApi, RunningWorker, startApi, startWorker, token, waitFor } from './support/harness';
import { addProvider } from './support/registry';
import { replayThenDrop } from './support/replay';

const url = (() => {
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.pathname = `${u.pathname}_metrics${randomBytes(3).toString('hex')}`;
  return u.toString();
})();
const METRICS_TOKEN = `scrape-${randomBytes(24).toString('hex')}`;
const AGB = '73995501';
const env = {
  DATABASE_URL: url,
  QUEUE_PREFIX: `${process.env.TEST_QUEUE_PREFIX}_metrics`,
  METRICS_TOKEN,
  METRICS_CACHE_SECONDS: '0',
  TTP_LINKAGE_CRON: 'off',
  SWEEPER_INTERVAL_SECONDS: '1',
};

let api: RunningApi;
let worker: RunningWorker;
let workerUrl: string;
let db: Client;
const sentBsns: string[] = [];
let referralIds: string[] = [];
let runId: string;

const admin = () => token('admin', { subject: 'ops-admin' });
const rs = () => token('referral-service', { uzovi: ['3311'] });

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
/** The Prometheus text format, one sample per line (comments skipped). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}
const pick = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) => {
  const found = pick(samples, name, labels);
  if (found.length !== 1) throw new Error(`${name}${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0].value;
};

async function scrape(base = api.url, bearer = admin()): Promise<Sample[]> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${bearer}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A request with redirects left to the caller (fetch would follow them without the cookie). */
async function raw(path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
  const res = await fetch(api.url + path, { redirect: 'manual', ...init });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* HTML or empty */
  }
  return { status: res.status, headers: res.headers, text, body };
}

beforeAll(async () => {
  await ensureDatabase(url);
  db = new Client({ connectionString: url });
  await db.connect();
  api = await startApi(env);
  const port = await freePort();
  worker = await startWorker({ ...env, WORKER_METRICS_PORT: String(port) });
  workerUrl = `http://127.0.0.1:${port}`;
  await addProvider(db, { agb: AGB, name: 'GGZ Metrics', locations: [{ code: 'a', region: 'utrecht', groups: ['depressie'] }] });

  // Traffic and jobs: referrals (evaluated by the worker), tasks for some, a snapshot and a linkage run.
  for (let i = 0; i < 6; i++) {
    const msg = referralMessage({ agb: AGB });
    sentBsns.push(msg.bsn);
    const res = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg });
    expect(res.status).toBe(201);
    referralIds.push(res.body.id);
  }
  const batch = Array.from({ length: 3 }, () => referralMessage({ agb: AGB }));
  sentBsns.push(...batch.map((m) => m.bsn));
  const b = await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages: batch } });
  referralIds = [...referralIds, ...b.body.results.map((r: { id: string }) => r.id)];
  await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM referral WHERE status = 'evaluated'`)).rows[0].n === referralIds.length, 30_000);
  for (const id of referralIds.slice(0, 3)) await giveTask(db, id);
  await db.query(`UPDATE mediation_task SET status = 'in-progress', assignee = 'm1', claimed_at = now() WHERE referral_id = $1`, [referralIds[0]]);

  const snapshotBsns = [nextBsn(), nextBsn()];
  sentBsns.push(...snapshotBsns);
  const csv =
    'clientRef,bsn,prePseudonym,location,diagnosisGroup,registeredOn,intakeOn,stage,waitsForThisProvider\n' +
    snapshotBsns.map((bsn, i) => `c-${i},${bsn},,a,depressie,2026-09-01,,waiting-intake,false`).join('\n') +
    '\n';
  const up = await http(api.url, 'POST', '/v1/ttp/snapshots', { token: token('provider', { agb: AGB }), rawBody: csv, headers: { 'content-type': 'text/csv' } });
  expect(up.status).toBe(201);
  const start = await http(api.url, 'POST', '/v1/ttp/runs', { token: token('ttp-operator') });
  expect([200, 202]).toContain(start.status);
  runId = start.body.id;
  await waitFor(async () => (await http(api.url, 'GET', `/v1/ttp/runs/${runId}`, { token: token('ttp-operator') })).body.status === 'done', 60_000);
}, 120_000);

afterAll(async () => {
  await worker?.close();
  await api?.close();
  await db?.end();
  await replayThenDrop(url);
});

describe('GET /metrics (API)', () => {
  it('is refused without credentials, with a wrong secret and to other roles; admin JWT and METRICS_TOKEN may scrape', async () => {
    const none = await http(api.url, 'GET', '/metrics');
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', requestId: expect.any(String) });
    expect((await http(api.url, 'GET', '/metrics', { token: `${METRICS_TOKEN}x` })).status).toBe(401);
    for (const role of ['mediator', 'mediation-lead', 'auditor', 'ttp-operator'] as const) {
      const res = await http(api.url, 'GET', '/metrics', { token: token(role, role === 'ttp-operator' ? {} : { uzovi: ['3311'] }) });
      expect({ role, status: res.status }).toEqual({ role, status: 403 });
    }
    expect(value(await scrape(api.url, METRICS_TOKEN), 'ggz_metrics_source_up', { source: 'postgres' })).toBe(1);
    expect(value(await scrape(), 'ggz_metrics_source_up', { source: 'redis' })).toBe(1);
    // The secret is for /metrics only: elsewhere it is no token at all.
    expect((await http(api.url, 'GET', '/v1/auth/whoami', { token: METRICS_TOKEN })).status).toBe(401);
  });

  it('counts requests per route pattern, method and status class — never a raw URL or an id', async () => {
    const key = { route: '/v1/referrals/:id', method: 'GET', status_class: '4xx' };
    const before = pick(await scrape(), 'ggz_http_request_duration_seconds_count', key)[0]?.value ?? 0;
    for (const id of referralIds.slice(3, 6)) {
      // No task: a mediator gets 404.
      expect((await http(api.url, 'GET', `/v1/referrals/${id}`, { token: token('mediator', { uzovi: ['3311'] }) })).status).toBe(404);
    }
    await http(api.url, 'GET', `/nothing/${referralIds[0]}`);
    const samples = await scrape();
    expect(value(samples, 'ggz_http_request_duration_seconds_count', key)).toBe(before + 3);
    expect(value(samples, 'ggz_http_request_duration_seconds_count', { route: '/v1/referrals', method: 'POST', status_class: '2xx' })).toBe(6);
    expect(value(samples, 'ggz_http_request_duration_seconds_count', { route: '/v1/referrals/batch', method: 'POST', status_class: '2xx' })).toBe(1);
    expect(value(samples, 'ggz_http_request_duration_seconds_count', { route: '(unmatched)', method: 'GET', status_class: '4xx' })).toBeGreaterThanOrEqual(1);
    const sum = value(samples, 'ggz_http_request_duration_seconds_sum', { route: '/v1/referrals', method: 'POST', status_class: '2xx' });
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(60);
    expect(value(samples, 'ggz_http_request_duration_seconds_bucket', { route: '/v1/referrals', method: 'POST', status_class: '2xx', le: '+Inf' })).toBe(6);
    // Labels are patterns and fixed names: no uuid, no digits that could be a BSN, no query string.
    const labelText = JSON.stringify(samples.map((s) => s.labels));
    expect(labelText).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(findBsnLike(labelText)).toEqual([]);
    for (const bsn of sentBsns) expect(labelText).not.toContain(bsn);
  });

  it('shows the depth of every queue in each state', async () => {
    const samples = await scrape();
    for (const queue of ['evaluate-referral', 'ttp-linkage']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed']) {
        expect(value(samples, 'ggz_queue_jobs', { queue, state })).toBeGreaterThanOrEqual(0);
      }
    }
    // A job not due for an hour (the worker takes it only then) is counted as delayed.
    const q = new Queue('ttp-linkage', { connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }, prefix: env.QUEUE_PREFIX });
    const before = value(await scrape(), 'ggz_queue_jobs', { queue: 'ttp-linkage', state: 'delayed' });
    const job = await q.add('link', { runId: '00000000-0000-4000-8000-000000000000' }, { delay: 3_600_000 });
    try {
      // The API's gauges are cached METRICS_CACHE_SECONDS; this file sets it to 0.
      expect(value(await scrape(), 'ggz_queue_jobs', { queue: 'ttp-linkage', state: 'delayed' })).toBe(before + 1);
    } finally {
      await job.remove();
      await q.close();
    }
  });

  it('counts tasks per status and referrals per status and verdict as the database does', async () => {
    const samples = await scrape();
    const tasks = (await db.query(`SELECT status, count(*)::int AS n FROM mediation_task GROUP BY status`)).rows;
    expect(tasks).toEqual(
      expect.arrayContaining([
        { status: 'open', n: 2 },
        { status: 'in-progress', n: 1 },
      ]),
    );
    for (const status of ['open', 'in-progress', 'awaiting-patient', 'closed']) {
      expect({ status, n: value(samples, 'ggz_mediation_tasks', { status }) }).toEqual({ status, n: tasks.find((t) => t.status === status)?.n ?? 0 });
    }
    const referrals = (await db.query(`SELECT status, coalesce(verdict, 'none') AS verdict, count(*)::int AS n FROM referral GROUP BY 1, 2`)).rows;
    expect(referrals.reduce((s, r) => s + r.n, 0)).toBe(referralIds.length);
    expect(
      pick(samples, 'ggz_referrals')
        .map((s) => ({ status: s.labels.status, verdict: s.labels.verdict, n: s.value }))
        .sort((a, b) => a.verdict.localeCompare(b.verdict)),
    ).toEqual(referrals.sort((a, b) => a.verdict.localeCompare(b.verdict)));
  });

  it('gives the newest linkage run its durations per phase', async () => {
    const run = (await http(api.url, 'GET', `/v1/ttp/runs/${runId}`, { token: token('ttp-operator') })).body;
    const samples = await scrape();
    expect(value(samples, 'ggz_ttp_linkage_last_run_duration_seconds', { phase: 'total' })).toBeCloseTo(run.timings.totalMs / 1000, 6);
    for (const phase of ['entries', 'link', 'report', 'feedback', 'cleaned']) {
      expect(value(samples, 'ggz_ttp_linkage_last_run_duration_seconds', { phase })).toBeCloseTo(run.timings[`${phase}Ms`] / 1000, 6);
    }
    expect(value(samples, 'ggz_ttp_linkage_last_run_finished_timestamp_seconds')).toBeCloseTo(new Date(run.finishedAt).getTime() / 1000, 0);
  });

  it('has the default process metrics under the ggz_ prefix', async () => {
    const samples = await scrape();
    expect(value(samples, 'ggz_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(samples, 'ggz_process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
    expect(pick(samples, 'ggz_nodejs_heap_size_used_bytes')).toHaveLength(1);
  });

  it('still answers when Redis is unreachable: queue depths left out, the source marked down', async () => {
    const noRedis = await startApi({ ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const samples = await scrape(noRedis.url);
      expect(value(samples, 'ggz_metrics_source_up', { source: 'redis' })).toBe(0);
      expect(value(samples, 'ggz_metrics_source_up', { source: 'postgres' })).toBe(1);
      expect(pick(samples, 'ggz_queue_jobs')).toEqual([]);
      expect(value(samples, 'ggz_mediation_tasks', { status: 'in-progress' })).toBe(1);
    } finally {
      await noRedis.close();
    }
  });

  it('reads Postgres and Redis at most once per METRICS_CACHE_SECONDS', async () => {
    const cached = await startApi({ ...env, METRICS_CACHE_SECONDS: '2' });
    try {
      const before = value(await scrape(cached.url), 'ggz_mediation_tasks', { status: 'open' });
      await giveTask(db, referralIds[5]);
      expect(value(await scrape(cached.url), 'ggz_mediation_tasks', { status: 'open' })).toBe(before);
      await new Promise((r) => setTimeout(r, 2100));
      expect(value(await scrape(cached.url), 'ggz_mediation_tasks', { status: 'open' })).toBe(before + 1);
    } finally {
      await cached.close();
    }
  });
});

describe('the worker listener', () => {
  it('shows job durations per queue after jobs ran, and is live', async () => {
    const samples = await scrape(workerUrl, METRICS_TOKEN);
    const evaluated = value(samples, 'ggz_job_duration_seconds_count', { queue: 'evaluate-referral', outcome: 'completed' });
    expect(evaluated).toBeGreaterThanOrEqual(2); // at least the batch job and one single referral
    expect(value(samples, 'ggz_job_duration_seconds_sum', { queue: 'evaluate-referral', outcome: 'completed' })).toBeGreaterThan(0);
    expect(value(samples, 'ggz_job_duration_seconds_count', { queue: 'ttp-linkage', outcome: 'completed' })).toBe(1);
    expect(value(samples, 'ggz_job_duration_seconds_bucket', { queue: 'ttp-linkage', outcome: 'completed', le: '+Inf' })).toBe(1);
    expect(value(samples, 'ggz_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(await scrape(workerUrl, admin()), 'ggz_job_duration_seconds_count', { queue: 'ttp-linkage', outcome: 'completed' })).toBe(1);

    const live = await fetch(`${workerUrl}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
  });

  it('refuses /metrics without credentials or to other roles, in the one error shape', async () => {
    const none = await fetch(`${workerUrl}/metrics`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized', requestId: expect.any(String) });
    expect((await fetch(`${workerUrl}/metrics`, { headers: { authorization: 'Bearer nonsense' } })).status).toBe(401);
    expect((await fetch(`${workerUrl}/metrics`, { headers: { authorization: `Bearer ${token('mediator', { uzovi: ['3311'] })}` } })).status).toBe(403);
    expect((await fetch(`${workerUrl}/other`)).status).toBe(404);
  });
});

describe('the queue dashboard at /admin/queues', () => {
  it('answers 401 without a session, 403 to other roles, and the HTML page to an admin', async () => {
    const none = await raw('/admin/queues');
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', requestId: expect.any(String) });
    expect((await raw('/admin/queues/api/queues')).status).toBe(401);
    // A browser without a session is sent to the sign-in form.
    const browser = await raw('/admin/queues', { headers: { accept: 'text/html' } });
    expect(browser.status).toBe(303);
    expect(browser.headers.get('location')).toBe('/admin/queues/login');

    for (const role of ['mediator', 'mediation-lead', 'ttp-operator', 'auditor'] as const) {
      const res = await raw('/admin/queues', { headers: { authorization: `Bearer ${token(role, role === 'ttp-operator' ? {} : { uzovi: ['3311'] })}` } });
      expect({ role, status: res.status, body: res.body.statusCode }).toEqual({ role, status: 403, body: 403 });
    }
    const page = await raw('/admin/queues', { headers: { authorization: `Bearer ${admin()}` } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('<base href="/admin/queues/"');
    expect(page.headers.get('content-security-policy')).toBe(QUEUES_CSP);
    // Its own script loads under the same admin check.
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(page.text)![1];
    expect((await raw(`/admin/queues/${script}`)).status).toBe(401);
    const js = await raw(`/admin/queues/${script}`, { headers: { authorization: `Bearer ${admin()}` } });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    // Everything else keeps the deny-all CSP.
    expect((await raw('/v1/auth/whoami')).headers.get('content-security-policy')).toBe(API_CSP);
    expect((await raw('/metrics')).headers.get('content-security-policy')).toBe(API_CSP);
  });

  it('signs an admin in with a short-lived HttpOnly, SameSite=Strict cookie scoped to /admin/queues', async () => {
    expect((await raw('/admin/queues/login')).text).toContain('<form method="post" action="/admin/queues/login">');
    const form = (t: string) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: t }).toString() });
    const mediator = await raw('/admin/queues/login', form(token('mediator', { uzovi: ['3311'] })));
    expect(mediator.status).toBe(403);
    expect(mediator.headers.get('set-cookie')).toBeNull();
    expect((await raw('/admin/queues/login', form('not-a-token'))).status).toBe(401);
    const empty = await raw('/admin/queues/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(empty.status).toBe(400);
    expect(empty.body.details).toEqual([{ field: 'token', reason: 'An admin token is required' }]);

    const ok = await raw('/admin/queues/login', form(admin()));
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/admin/queues');
    const setCookie = ok.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^ggz_queues_session=[\w-]+\.[\w-]+\.[\w-]+; Max-Age=900; Path=\/admin\/queues; HttpOnly; SameSite=Strict$/);
    const cookie = setCookie.split(';')[0];
    const page = await raw('/admin/queues', { headers: { cookie } });
    expect(page.status).toBe(200);
    const api2 = await raw('/admin/queues/api/queues', { headers: { cookie } });
    expect(api2.status).toBe(200);
    expect(api2.body.queues.map((q: { name: string }) => q.name).sort()).toEqual(['evaluate-referral', 'ttp-linkage']);
    // A mediator's token in the cookie is no session.
    expect((await raw('/admin/queues/api/queues', { headers: { cookie: `ggz_queues_session=${token('mediator', { uzovi: ['3311'] })}` } })).status).toBe(403);

    // Actions: an admin may clean; a request from another site (or sibling origin) with the cookie may not.
    const clean = (headers: Record<string, string>) => raw('/admin/queues/api/queues/ttp-linkage/clean/completed', { method: 'PUT', headers });
    expect((await clean({ cookie, 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect((await clean({ cookie, origin: 'https://evil.example' })).status).toBe(403);
    expect((await clean({ cookie: `ggz_queues_session=${token('mediator', { uzovi: ['3311'] })}`, 'sec-fetch-site': 'same-origin' })).status).toBe(403);
    expect((await clean({ cookie, 'sec-fetch-site': 'same-origin', origin: api.url })).status).toBe(200);
    // No one adds jobs or edits job data from here (job data are ids only).
    const add = await raw('/admin/queues/api/queues/ttp-linkage/add', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', data: { bsn: sentBsns[0] } }),
    });
    expect(add.status).toBe(403);
    expect(add.text).not.toContain(sentBsns[0]);

    const out = await raw('/admin/queues/logout', { method: 'POST', headers: { cookie } });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/^ggz_queues_session=; Max-Age=0; Path=\/admin\/queues/);
  });

  it('shows jobs whose data are ids only: no BSN anywhere it serves', async () => {
    // Evaluation jobs are removed when done: with the worker stopped, new ones stay waiting to be seen.
    await worker.close();
    worker = undefined as unknown as RunningWorker;
    for (let i = 0; i < 3; i++) {
      const msg = referralMessage({ agb: AGB });
      sentBsns.push(msg.bsn);
      expect((await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg })).status).toBe(201);
    }
    const batch = Array.from({ length: 2 }, () => referralMessage({ agb: AGB }));
    sentBsns.push(...batch.map((m) => m.bsn));
    expect((await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages: batch } })).status).toBe(200);
    const auth = { authorization: `Bearer ${admin()}` };
    const served: string[] = [];
    for (const queue of ['evaluate-referral', 'ttp-linkage']) {
      for (const status of ['completed', 'failed', 'waiting', 'delayed', 'active']) {
        const res = await raw(`/admin/queues/api/queues?activeQueue=${queue}&status=${status}&page=1&jobsPerPage=100`, { headers: auth });
        expect(res.status).toBe(200);
        served.push(res.text);
        const q = res.body.queues.find((x: { name: string }) => x.name === queue);
        for (const job of q.jobs) {
          const one = await raw(`/admin/queues/api/queues/${queue}/${encodeURIComponent(job.id)}`, { headers: auth });
          expect(one.status).toBe(200);
          served.push(one.text);
          const logs = await raw(`/admin/queues/api/queues/${queue}/${encodeURIComponent(job.id)}/logs`, { headers: auth });
          served.push(logs.text);
        }
      }
    }
    const all = served.join('\n');
    const waiting = JSON.parse(served.find((t) => t.includes('"referralIds"'))!).queues.find((x: { name: string }) => x.name === 'evaluate-referral').jobs;
    expect(waiting).toHaveLength(4);
    for (const job of waiting) expect(Object.keys(job.data)).toEqual(['referralIds']);
    expect(waiting.flatMap((j: { data: { referralIds: string[] } }) => j.data.referralIds)).toHaveLength(5);
    expect(all).toContain(runId);
    for (const bsn of sentBsns) expect(all).not.toContain(bsn);
    expect(findBsnLike(all)).toEqual([]);
  });
});
