#!/usr/bin/env node
/**
 * Soak and load benchmark: `npm run bench:soak` (builds first when dist/ is out of date).
 *
 * Starts the built API and worker as child processes against a database and a Redis queue prefix
 * of their own, loads the synthetic national registry (400 providers with locations, contracts and
 * declared waiting times; a good share of the figures above the Treeknorm, as in bench:evaluate),
 * lets SNAPSHOT_PROVIDERS of those providers upload a waiting-list snapshot each, and then runs a
 * mixed workload for SOAK_WARMUP_SECONDS (not counted) + SOAK_SECONDS (measured):
 *
 *   intake      POST /v1/referrals at SOAK_INTAKE_RATE per second, open loop (sent on schedule
 *               whatever the answers do); referrals to registry providers, referred 1–56 days ago,
 *               so that most end above the norm and get a task from the worker
 *   mediators   SOAK_MEDIATORS mediators (each its own subject; every fifth for two insurers)
 *               claim-next → read the task → contact attempt → outcome (or release after no
 *               answer; `unreachable` after three failed attempts), SOAK_THINK_MS between steps,
 *               claim-next again a second later when the queue is empty; now and then the counts
 *   providers   one provider re-sends its snapshot (CSV) every SOAK_SNAPSHOT_INTERVAL_SECONDS
 *   TTP         halfway through the measured window a ttp-operator starts a linkage run and
 *               follows it until it is done; its counts are checked against the generator's truth
 *
 * It prints progress every SOAK_PROGRESS_SECONDS and at the end: requests/s, p50/p99 latency and
 * unexpected statuses per route; queue lag (a referral's received_at to its first evaluation's
 * evaluated_at, from the database) and BullMQ job counts sampled every 2 s; API and worker RSS
 * (/proc/<pid>/status VmRSS, sampled every 2 s) at the start of the measured window and at its
 * end (each the mean of the samples of the first and last 60 s), with the trend over the window,
 * and the V8 heap after each full collection (both run with --trace-gc: a flat heap after full
 * GCs means RSS growth is the heap being sized up, not a leak); CPU of the processes; end-state
 * checks in the database; the machine and the date. Results are written to
 * bench/results/soak-<timestamp>.json. The database, the Redis keys and the child processes are
 * removed at the end, also on failure or Ctrl-C.
 *
 * Environment (all optional):
 *   SOAK_SECONDS=300                  measured duration (at least 300 for a recorded run)
 *   SOAK_WARMUP_SECONDS=60            the same workload before it, not counted (RSS baseline after it)
 *   SOAK_INTAKE_RATE=50               referrals per second
 *   SOAK_INTAKE_CONNECTIONS=32        keep-alive connections the referral service uses
 *   SOAK_MEDIATORS=50
 *   SOAK_THINK_MS=100                 a mediator's pause between two steps of a task
 *   SOAK_SNAPSHOT_PROVIDERS=40        providers that send waiting-list snapshots
 *   SOAK_SNAPSHOT_ENTRIES=20000       entries in all their snapshots together
 *   SOAK_SNAPSHOT_INTERVAL_SECONDS=5  one provider re-sends its snapshot this often (round robin)
 *   SOAK_PROGRESS_SECONDS=30
 *   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432, BENCH_REDIS_URL=redis://127.0.0.1:6379
 *   DATABASE_POOL_SIZE, WORKER_CONCURRENCY, …   passed through to the API and the worker.
 *
 * Exit codes: 0 no errors and memory within target; 1 an unexpected status, a network error, a
 * failed end-state check or the bench itself failed; 2 could not build; 3 no errors, but API or
 * worker RSS grew by more than 10 % over the measured window.
 */
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const { existsSync, mkdirSync, writeFileSync, readFileSync } = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { randomUUID } = require('node:crypto');

const ROOT = path.resolve(__dirname, '../..');

try {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/ensure-built.js')], { cwd: ROOT, stdio: 'inherit' });
} catch (e) {
  console.error(`bench:soak: the build failed (${e.message}); fix it or run \`npm run build\`, then try again.`);
  process.exit(2);
}

const DIST = {
  api: path.join(ROOT, 'dist/apps/api/src/main.js'),
  worker: path.join(ROOT, 'dist/apps/worker/src/main.js'),
  core: path.join(ROOT, 'dist/libs/core/src/index.js'),
  platform: path.join(ROOT, 'dist/libs/platform/src/index.js'),
  ttp: path.join(ROOT, 'dist/libs/ttp/src/index.js'),
  waitlists: path.join(ROOT, 'dist/libs/waitlists/src/index.js'),
};
const missing = Object.values(DIST).filter((p) => !existsSync(p));
if (missing.length) {
  console.error(`bench:soak needs a build; missing: ${missing.map((p) => path.relative(ROOT, p)).join(', ')}`);
  process.exit(2);
}

const { Pool } = require('undici');
const { Client } = require('pg');
const IORedis = require('ioredis');
const { Queue } = require('bullmq');
const { syntheticBsn, amsterdamDate } = require(DIST.core);
const { loadConfig, TokenService } = require(DIST.platform);
const { planSnapshots, snapshotCsv, groundTruth } = require(DIST.ttp);
const { generateDemoRegistry, loadDemoRegistry } = require(DIST.waitlists);

// ---------------------------------------------------------------------------------------------
// Settings

function intEnv(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
    process.exit(1);
  }
  return n;
}

const SECONDS = intEnv('SOAK_SECONDS', 300, 10, 24 * 3600);
const WARMUP_SECONDS = intEnv('SOAK_WARMUP_SECONDS', 60, 0, 600);
const INTAKE_RATE = intEnv('SOAK_INTAKE_RATE', 50, 1, 5000);
const INTAKE_CONNECTIONS = intEnv('SOAK_INTAKE_CONNECTIONS', 32, 1, 256);
const MEDIATORS = intEnv('SOAK_MEDIATORS', 50, 1, 1000);
const THINK_MS = intEnv('SOAK_THINK_MS', 100, 0, 60_000);
const SNAPSHOT_PROVIDERS = intEnv('SOAK_SNAPSHOT_PROVIDERS', 40, 2, 400);
const SNAPSHOT_ENTRIES = intEnv('SOAK_SNAPSHOT_ENTRIES', 20_000, 100, 2_000_000);
const SNAPSHOT_INTERVAL_SECONDS = intEnv('SOAK_SNAPSHOT_INTERVAL_SECONDS', 5, 1, 3600);
const PROGRESS_SECONDS = intEnv('SOAK_PROGRESS_SECONDS', 30, 5, 3600);
const SAMPLE_MS = 2000;
const MEMORY_GROWTH_TARGET_PCT = 10;
/**
 * Start and end RSS are each the mean of the samples in this long a stretch at either end of the
 * measured window: single samples swing by tens of MB with garbage collection and uploads.
 */
const RSS_WINDOW_MS = Math.min(60_000, (SECONDS * 1000) / 5);
const INSURERS = ['3311', '7095', '7119', '3332'];

function localUrl(name, fallback, protocols) {
  const u = new URL(process.env[name] ?? fallback);
  if (!protocols.includes(u.protocol) || u.hostname !== '127.0.0.1') {
    console.error(`${name} must be a ${protocols.join('/')} URL on 127.0.0.1 (the bench only targets this machine)`);
    process.exit(1);
  }
  return u;
}
const PG_BASE = localUrl('BENCH_PG_URL', 'postgres://postgres@127.0.0.1:5432', ['postgres:', 'postgresql:']);
const REDIS_URL = localUrl('BENCH_REDIS_URL', 'redis://127.0.0.1:6379', ['redis:']).toString();

const STAMP = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '_');
const DB_NAME = `ggz_bench_soak_${STAMP.toLowerCase()}_${process.pid}`;
const QUEUE_PREFIX = `bench_soak_${STAMP}_${process.pid}`;
const RESULTS_DIR = path.join(ROOT, 'bench/results');

function dbUrl(name) {
  const u = new URL(PG_BASE.toString());
  u.pathname = `/${name}`;
  return u.toString();
}

const log = (...a) => console.log(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (x, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

// ---------------------------------------------------------------------------------------------
// Child processes and cleanup

const children = []; // { name, proc, lines, warnOrWorse, errorLines }
const state = { dbCreated: false, cleaning: null, died: null, db: null };

function childEnv(extra = {}) {
  const env = { ...process.env };
  delete env.NODE_ENV; // development defaults (dev JWT secret and keys); never production here
  return {
    ...env,
    DATABASE_URL: dbUrl(DB_NAME),
    REDIS_URL,
    QUEUE_PREFIX,
    LOG_LEVEL: 'warn',
    MIGRATIONS_RUN: 'true',
    // Scheduled work that would land at a random moment of the run: off, as in the other benches.
    DAILY_REEVALUATION: 'false',
    // The linkage run halfway would re-evaluate every open referral (the catch-up): off, so the end state counts one evaluation each.
    EVALUATION_CATCH_UP_SECONDS: '0',
    RETENTION_RUN: 'false',
    TTP_LINKAGE_CRON: 'off',
    ...extra,
  };
}

/** `--trace-gc` prints one line per collection; these are the full (mark-compact) ones. */
const MARK_COMPACT = /^\[\d+:0x[0-9a-f]+\]\s+\d+ ms: Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(([\d.]+)\) MB/;
const OTHER_GC = /^\[\d+:0x[0-9a-f]+\]\s+\d+ ms: /;

function start(name, file, extra) {
  // --trace-gc: the heap left after each full collection tells a leak from a heap that is only
  // sized up; RSS alone cannot.
  const proc = spawn(process.execPath, ['--trace-gc', file], { cwd: ROOT, env: childEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  const c = { name, proc, lines: [], warnOrWorse: 0, errorLines: 0, fullGcs: [] };
  const line = (text) => {
    if (!text.trim()) return;
    const gc = MARK_COMPACT.exec(text);
    if (gc) {
      c.fullGcs.push({ at: performance.now(), heapAfterMb: Number(gc[1]), heapCommittedMb: Number(gc[2]) });
      return;
    }
    if (OTHER_GC.test(text)) return; // scavenges and the like
    if (/"level":"?(warn|40)\b/.test(text)) c.warnOrWorse++;
    else if (/"level":"?(error|fatal|50|60)\b/.test(text) || !text.startsWith('{')) {
      c.warnOrWorse++;
      c.errorLines++;
    }
    c.lines.push(text.length > 1000 ? `${text.slice(0, 1000)}…` : text);
    if (c.lines.length > 100) c.lines.shift();
  };
  for (const stream of [proc.stdout, proc.stderr]) {
    let rest = '';
    stream.on('data', (chunk) => {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop();
      for (const p of parts) line(p);
    });
    stream.on('end', () => line(rest));
  }
  proc.once('exit', (code, signal) => {
    if (!state.cleaning) {
      state.died = `the ${name} exited unexpectedly (code ${code}, signal ${signal})`;
      console.error(`\n${state.died}\n${c.lines.slice(-10).join('\n')}`);
    }
  });
  children.push(c);
  return c;
}

async function cleanup() {
  if (state.cleaning) return state.cleaning;
  state.cleaning = (async () => {
    if (state.db) await state.db.end().catch(() => undefined);
    await Promise.all(
      children.map(async ({ proc }) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    if (state.dbCreated) {
      await withPg('postgres', (c) => c.query(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`)).catch((e) =>
        console.error(`cleanup: could not drop database ${DB_NAME}: ${e.message}`),
      );
    }
    try {
      const r = new IORedis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 5000 });
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${QUEUE_PREFIX}:*`, 'COUNT', 5000);
        if (keys.length) await r.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
      r.disconnect();
    } catch (e) {
      console.error(`cleanup: could not delete Redis keys of ${QUEUE_PREFIX}: ${e.message}`);
    }
  })();
  return state.cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    console.error(`\n${sig}: cleaning up…`);
    cleanup().finally(() => process.exit(130));
  });
}

async function withPg(database, fn) {
  const c = new Client({ connectionString: dbUrl(database), connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// /proc readings

function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

/** CPU seconds used so far by a process (user + system). */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

/** Busy and total CPU seconds of the whole machine so far (all cores). */
function machineCpu() {
  try {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const busy = user + nice + system + (irq || 0) + (softirq || 0) + (steal || 0);
    return { busy: busy / 100, total: (busy + idle + (iowait || 0)) / 100 };
  } catch {
    return null;
  }
}

/** CPU seconds so far of every process, by pid, with its command name. */
function allProcessCpu() {
  const out = new Map();
  let pids;
  try {
    pids = require('node:fs')
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), s: (Number(f[11]) + Number(f[12])) / 100 });
    } catch {
      /* ended meanwhile */
    }
  }
  return out;
}

/**
 * CPU used over the window by Postgres, Redis and everything else on the machine (other work
 * sharing it), as % of one core. Read at the start and end only: processes that ended in between
 * (short-lived Postgres backends, say) are missed, so these are lower bounds.
 */
function otherCpu(before, after, seconds, own) {
  const by = new Map();
  for (const [pid, e] of after) {
    if (own.includes(Number(pid))) continue;
    const d = e.s - (before.get(pid)?.s ?? 0);
    if (d <= 0) continue;
    const name = e.comm.replace(/[/:].*$/, '');
    by.set(name, (by.get(name) ?? 0) + d);
  }
  const pct = (x) => round((x / seconds) * 100, 1);
  const others = [...by].filter(([n]) => n !== 'postgres' && n !== 'redis-server').sort((a, b) => b[1] - a[1]);
  return {
    postgresPctOfCore: pct(by.get('postgres') ?? 0),
    redisPctOfCore: pct(by.get('redis-server') ?? 0),
    otherProcessesPctOfCore: pct(others.reduce((n, [, x]) => n + x, 0)),
    topOtherProcesses: others.slice(0, 5).map(([name, x]) => ({ name, pctOfCore: pct(x) })),
  };
}

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

async function machine() {
  const pg = await withPg('postgres', async (c) => (await c.query('SELECT version() AS v')).rows[0].v);
  const r = new IORedis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const redis = /redis_version:(\S+)/.exec(await r.info('server'))?.[1] ?? 'unknown';
  r.disconnect();
  const dirty = sh('git', ['status', '--porcelain', '--untracked-files=no']);
  return {
    date: new Date().toISOString(),
    nproc: Number(sh('nproc', [])) || os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres: pg,
    redis,
    loadAverageAtStart: os.loadavg().map((x) => round(x, 2)),
    commit: sh('git', ['rev-parse', '--short', 'HEAD']) + (dirty && dirty !== 'unknown' ? ' (+ uncommitted changes)' : ''),
  };
}

// ---------------------------------------------------------------------------------------------
// Measurements

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

function latencyStats(values) {
  const s = Float64Array.from(values).sort();
  return { n: s.length, p50: round(percentile(s, 50), 2), p99: round(percentile(s, 99), 2), max: round(s[s.length - 1] ?? NaN, 2) };
}

/** Which statuses each route is expected to answer; anything else counts as an error. */
const EXPECTED = {
  'POST /v1/referrals': [201],
  'POST /v1/worklist/claim-next': [200, 404], // 404: the insurer's queue is empty
  'GET /v1/worklist/tasks/:id': [200],
  'POST /v1/worklist/tasks/:id/contact-attempts': [200],
  'POST /v1/worklist/tasks/:id/release': [200],
  'POST /v1/worklist/tasks/:id/outcome': [200],
  'GET /v1/worklist/counts': [200],
  'POST /v1/ttp/snapshots': [201],
  'POST /v1/ttp/runs': [202, 200],
  'GET /v1/ttp/runs/:id': [200],
};

const phase = { name: 'setup', measureStart: 0, measureEnd: 0 };
const routes = new Map(); // route → stats
const intakeFromSchedule = []; // ms from the scheduled send time to the answer (measured window)
const errorsByPhase = { setup: 0, warmup: 0, measure: 0, drain: 0 };
const counters = { referralsAccepted: 0, outcomes: 0, releases: 0, tasksStarted: 0, emptyPolls: 0, lateIntakeSends: 0 };

function routeStats(route) {
  let s = routes.get(route);
  if (!s) {
    s = { requests: 0, latencies: [], statuses: {}, errors: 0, networkErrors: 0, samples: [], window: { requests: 0, latencies: [], errors: 0 } };
    routes.set(route, s);
  }
  return s;
}

function record(route, status, ms, detail) {
  const s = routeStats(route);
  const ok = status !== 0 && EXPECTED[route].includes(status);
  if (!ok) {
    errorsByPhase[phase.name]++;
    if (s.samples.length < 5) s.samples.push(`[${phase.name}] ${status || 'network error'} ${String(detail ?? '').slice(0, 300)}`);
  }
  if (phase.name !== 'measure') return;
  s.requests++;
  s.statuses[status] = (s.statuses[status] ?? 0) + 1;
  if (!ok) {
    s.errors++;
    if (status === 0) s.networkErrors++;
  }
  if (status !== 0) s.latencies.push(ms);
  s.window.requests++;
  if (!ok) s.window.errors++;
  if (status !== 0) s.window.latencies.push(ms);
}

/** One request; the status and parsed body (JSON when it is JSON), or status 0 on a network error. */
async function call(pool, route, method, urlPath, { token, body, type } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = type ?? 'application/json';
  const t = performance.now();
  try {
    const res = await pool.request({ path: urlPath, method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.body.text();
    const ms = performance.now() - t;
    let parsed = text;
    if (String(res.headers['content-type'] ?? '').includes('json') && text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        /* leave as text */
      }
    }
    record(route, res.statusCode, ms, text);
    return { status: res.statusCode, body: parsed, ms };
  } catch (e) {
    record(route, 0, performance.now() - t, `${e.code ?? e.name}: ${e.message}`);
    return { status: 0, body: null, ms: performance.now() - t };
  }
}

// ---------------------------------------------------------------------------------------------
// Workload

let bsnCursor = 10_000_000 + Math.floor(Math.random() * 40_000_000);
/** Unique, elfproef-valid synthetic BSNs. */
function nextBsn() {
  const bsn = syntheticBsn(bsnCursor);
  bsnCursor = Number(bsn.slice(0, 8)) + 1;
  if (bsnCursor >= 100_000_000) bsnCursor = 10_000_000;
  return bsn;
}

function lcg(seed) {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

/** Intake at a fixed rate, open loop: each message has a due time and is sent then, whatever earlier ones do. */
async function runIntake(pool, token, pairs, until) {
  const rnd = lcg(7);
  const inFlight = new Set();
  const startAt = performance.now();
  const givenAt = new Date(Date.now() - 3600_000).toISOString();
  for (let i = 0; ; i++) {
    const due = startAt + (i * 1000) / INTAKE_RATE;
    if (due >= until() || state.died) break;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    else if (wait < -100) counters.lateIntakeSends++; // the load generator itself fell behind
    const pair = pairs[Math.floor(rnd() * pairs.length)];
    const daysBack = 1 + Math.floor(rnd() * 56);
    const msg = {
      messageId: `soak-${randomUUID()}`,
      bsn: nextBsn(),
      verwijsdatum: amsterdamDate(new Date(Date.now() - daysBack * 86_400_000)),
      klachtenprofiel: pair.group,
      agb: pair.agb,
      uzovi: INSURERS[Math.floor(rnd() * INSURERS.length)],
      consent: { id: `consent-${randomUUID()}`, givenAt, scope: 'zorgbemiddeling', channel: 'verwijsportaal' },
    };
    const measuring = phase.name === 'measure';
    const p = call(pool, 'POST /v1/referrals', 'POST', '/v1/referrals', { token, body: msg }).then((r) => {
      if (r.status === 201) counters.referralsAccepted++;
      // Latency from the scheduled send time, so a stall shows up (no coordinated omission).
      if (measuring && phase.name === 'measure' && r.status !== 0) intakeFromSchedule.push(performance.now() - due);
    });
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
  }
  await Promise.all(inFlight);
}

/** One mediator: claim the most urgent task, read it, contact the patient, close it (or give it back). */
async function runMediator(pool, m, until) {
  const rnd = lcg(1000 + m.index);
  const think = () => (THINK_MS ? sleep(THINK_MS * (0.5 + rnd())) : null);
  let tasks = 0;
  while (performance.now() < until() && !state.died) {
    const claimed = await call(pool, 'POST /v1/worklist/claim-next', 'POST', '/v1/worklist/claim-next', { token: m.token });
    if (claimed.status !== 200) {
      if (claimed.status === 404) counters.emptyPolls++;
      await sleep(700 + 600 * rnd()); // queue empty (or an error, already counted): look again in about a second
      continue;
    }
    counters.tasksStarted++;
    let task = claimed.body;
    const id = task.id;
    await think();
    const detail = await call(pool, 'GET /v1/worklist/tasks/:id', 'GET', `/v1/worklist/tasks/${id}`, { token: m.token });
    if (detail.status !== 200) continue;
    await think();
    const r = rnd();
    const attempt = (result, awaitingPatient) =>
      call(pool, 'POST /v1/worklist/tasks/:id/contact-attempts', 'POST', `/v1/worklist/tasks/${id}/contact-attempts`, {
        token: m.token,
        body: { version: task.version, channel: rnd() < 0.8 ? 'phone' : 'e-mail', result, ...(awaitingPatient ? { awaitingPatient: true } : {}) },
      });
    let outcome;
    if (r < 0.15) {
      // No answer: after three failed attempts the task may be closed as unreachable, else back to the queue.
      const a = await attempt('no-answer');
      if (a.status !== 200) continue;
      task = a.body;
      await think();
      if (task.failedContactAttempts >= 3) outcome = { outcome: 'unreachable' };
      else {
        const rel = await call(pool, 'POST /v1/worklist/tasks/:id/release', 'POST', `/v1/worklist/tasks/${id}/release`, { token: m.token, body: { version: task.version } });
        if (rel.status === 200) counters.releases++;
        continue;
      }
    } else {
      const a = await attempt('reached', r < 0.25);
      if (a.status !== 200) continue;
      task = a.body;
      await think();
      const alt = Array.isArray(detail.body?.alternatives) ? detail.body.alternatives[0] : undefined;
      if (r < 0.7 && alt) outcome = { outcome: 'accepted-alternative', locationId: alt.locationId };
      else if (r < 0.85) outcome = { outcome: 'prefers-to-wait' };
      else outcome = { outcome: 'declined' };
    }
    const done = await call(pool, 'POST /v1/worklist/tasks/:id/outcome', 'POST', `/v1/worklist/tasks/${id}/outcome`, {
      token: m.token,
      body: { version: task.version, ...outcome },
    });
    if (done.status === 200) counters.outcomes++;
    if (++tasks % 10 === 0) await call(pool, 'GET /v1/worklist/counts', 'GET', '/v1/worklist/counts', { token: m.token });
    await think();
  }
}

/** Providers re-send their snapshots, one every SNAPSHOT_INTERVAL_SECONDS, round robin. */
async function runSnapshots(pool, plan, csvs, tokens, until) {
  for (let k = 0; performance.now() < until() && !state.died; k++) {
    const next = performance.now() + SNAPSHOT_INTERVAL_SECONDS * 1000;
    const i = k % plan.providers.length;
    await call(pool, 'POST /v1/ttp/snapshots', 'POST', '/v1/ttp/snapshots', { token: tokens[i], body: csvs[i], type: 'text/csv' });
    const wait = Math.min(next, until()) - performance.now();
    if (wait > 0) await sleep(wait);
  }
}

/** A linkage run as an operator starts it: POST, then follow it until done. */
async function runLinkage(pool, token, truth) {
  const t0 = performance.now();
  const started = await call(pool, 'POST /v1/ttp/runs', 'POST', '/v1/ttp/runs', { token });
  if (started.status !== 202 && started.status !== 200) return { ok: false, error: `POST /v1/ttp/runs answered ${started.status}` };
  let run = started.body;
  const deadline = Date.now() + 600_000;
  while (run.status !== 'done' && run.status !== 'failed' && Date.now() < deadline && !state.died) {
    await sleep(500);
    const r = await call(pool, 'GET /v1/ttp/runs/:id', 'GET', `/v1/ttp/runs/${run.id}`, { token });
    if (r.status === 200) run = r.body;
  }
  const seconds = (performance.now() - t0) / 1000;
  const c = run.counts ?? {};
  const several = truth.national.distinctPeople - truth.national.peopleOn['1'];
  const countsOk = c.entries === SNAPSHOT_ENTRIES && c.distinctPeople === truth.national.distinctPeople && c.peopleOnSeveralLists === several;
  return {
    ok: run.status === 'done' && countsOk,
    status: run.status,
    answered: started.status,
    seconds: round(seconds, 2),
    timings: run.timings ?? null,
    counts: { entries: c.entries, distinctPeople: c.distinctPeople, peopleOnSeveralLists: c.peopleOnSeveralLists },
    expected: { entries: SNAPSHOT_ENTRIES, distinctPeople: truth.national.distinctPeople, peopleOnSeveralLists: several },
    error: run.status === 'failed' ? run.error : countsOk ? null : 'counts differ from the generator’s ground truth',
  };
}

// ---------------------------------------------------------------------------------------------
// Sampling: RSS, queue counts, pending referrals, every SAMPLE_MS

async function lagStats(c, from, to) {
  const row = (
    await c.query(
      `SELECT count(*)::int AS referrals, count(lag_ms)::int AS evaluated,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY lag_ms) AS p50, percentile_disc(0.99) WITHIN GROUP (ORDER BY lag_ms) AS p99, max(lag_ms) AS max
         FROM (SELECT extract(epoch FROM (SELECT min(e.evaluated_at) FROM referral_evaluation e WHERE e.referral_id = r.id) - r.received_at) * 1000 AS lag_ms
                 FROM referral r WHERE r.received_at >= $1 AND r.received_at < $2) x`,
      [from, to],
    )
  ).rows[0];
  return { referrals: row.referrals, evaluated: row.evaluated, p50: round(Number(row.p50), 1), p99: round(Number(row.p99), 1), max: round(Number(row.max), 1) };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const m = await machine();
  const cfg = loadConfig(childEnv());
  const tokens = new TokenService(cfg.jwt);
  log('Soak and load benchmark (bench/soak/run.js)');
  log(`  date      ${m.date}`);
  log(`  machine   ${m.cpu}, nproc ${m.nproc}, ${m.memoryGiB} GiB, ${m.os}; load average ${m.loadAverageAtStart.join(' ')}`);
  log(`  node      ${m.node}; ${m.postgres.split(',')[0]}; Redis ${m.redis}; commit ${m.commit}`);
  log(
    `  workload  ${SECONDS} s measured after ${WARMUP_SECONDS} s warm-up; intake ${INTAKE_RATE}/s open loop over ${INTAKE_CONNECTIONS} connections; ${MEDIATORS} mediators (think ${THINK_MS} ms); ` +
      `${SNAPSHOT_PROVIDERS} providers re-sending snapshots (${SNAPSHOT_ENTRIES.toLocaleString('en')} entries) one every ${SNAPSHOT_INTERVAL_SECONDS} s; a linkage run halfway`,
  );
  log('');

  await withPg('postgres', (c) => c.query(`CREATE DATABASE "${DB_NAME}"`));
  state.dbCreated = true;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const api = start('API', DIST.api, { PORT: String(port), HOST: '127.0.0.1' });
  for (const t = Date.now(); ;) {
    if (state.died) throw new Error(state.died);
    if (
      await fetch(`${base}/health/ready`)
        .then((r) => r.status === 200)
        .catch(() => false)
    )
      break;
    if (Date.now() - t > 90_000) throw new Error(`the API did not become ready:\n${api.lines.slice(-20).join('\n')}`);
    await sleep(200);
  }
  log(`database ${DB_NAME}, queue prefix ${QUEUE_PREFIX}; API ready on ${base} (pid ${api.proc.pid})`);

  // The registry before the worker starts (it caches what it reads by registry version anyway).
  const today = amsterdamDate(new Date());
  const registry = generateDemoRegistry({ today, providers: 400 });
  const db = new Client({ connectionString: dbUrl(DB_NAME) });
  db.on('error', (e) => console.error(`bench database connection: ${e.message}`)); // e.g. dropped during cleanup
  await db.connect();
  state.db = db;
  const loaded = await loadDemoRegistry({ query: async (s, p) => (await db.query(s, p)).rows }, registry);
  log(`registry: ${loaded.providers} providers, ${loaded.locations} locations, ${loaded.contracts} contracts, ${loaded.waits} waiting-time rows`);
  const pairs = [];
  for (const l of registry.locations) for (const g of l.diagnosisGroups) pairs.push({ agb: l.agb, group: g });

  // A port of its own for the worker's metrics listener, so that it cannot collide with another worker on this machine.
  const worker = start('worker', DIST.worker, { WORKER_METRICS_PORT: String(await freePort()), HOST: '127.0.0.1' });
  const queues = ['evaluate-referral', 'ttp-linkage'].map((name) => new Queue(name, { connection: new IORedis(REDIS_URL, { maxRetriesPerRequest: null }), prefix: QUEUE_PREFIX }));
  for (const t = Date.now(); ;) {
    if (state.died) throw new Error(state.died);
    if ((await queues[0].getWorkersCount()) > 0) break;
    if (Date.now() - t > 60_000) throw new Error(`the worker did not start:\n${worker.lines.slice(-20).join('\n')}`);
    await sleep(200);
  }
  log(`worker running (pid ${worker.proc.pid})`);

  // Snapshots: generated once; each provider sends its own before the load starts.
  const plan = planSnapshots({ today, locations: registry.locations, entries: SNAPSHOT_ENTRIES, providers: SNAPSHOT_PROVIDERS, dupRate: 0.2, stage1Key: cfg.ttp.stage1Key });
  const truth = groundTruth(plan);
  const csvs = plan.providers.map((_, i) => snapshotCsv(plan, i));
  const providerTokens = plan.providers.map((p) => tokens.mint({ role: 'provider', agb: p.agb, subject: `soak-provider-${p.agb}` }));
  const ttpPool = new Pool(base, { connections: 4, keepAliveTimeout: 60_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
  for (let i = 0; i < csvs.length; i++) {
    const r = await call(ttpPool, 'POST /v1/ttp/snapshots', 'POST', '/v1/ttp/snapshots', { token: providerTokens[i], body: csvs[i], type: 'text/csv' });
    if (r.status !== 201) throw new Error(`first snapshot of ${plan.providers[i].agb}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  }
  log(`snapshots: ${plan.providers.length} providers sent ${SNAPSHOT_ENTRIES.toLocaleString('en')} entries (${truth.national.distinctPeople.toLocaleString('en')} people)`);

  const intakeToken = tokens.mint({ role: 'referral-service', uzovi: INSURERS, subject: 'soak-referral-service' });
  const operatorToken = tokens.mint({ role: 'ttp-operator', subject: 'soak-operator' });
  const mediators = Array.from({ length: MEDIATORS }, (_, i) => {
    const uzovi = i % 5 === 4 ? [INSURERS[i % 4], INSURERS[(i + 1) % 4]] : [INSURERS[i % 4]];
    return { index: i, uzovi, token: tokens.mint({ role: 'mediator', uzovi, subject: `soak-mediator-${i}` }) };
  });
  const intakePool = new Pool(base, { connections: INTAKE_CONNECTIONS, keepAliveTimeout: 60_000 });
  const worklistPool = new Pool(base, { connections: Math.min(MEDIATORS, 64), keepAliveTimeout: 60_000 });

  // Samplers
  const samples = []; // { t (s since measure start), phase, apiRss, workerRss, waiting, active, delayed, pending }
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const counts = await Promise.all(queues.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized'))).catch(() => null);
      const pending = await db
        .query(`SELECT count(*)::int AS n FROM referral WHERE status = 'pending'`)
        .then((r) => r.rows[0].n)
        .catch(() => null);
      samples.push({
        at: Date.now(),
        t: round((performance.now() - phase.measureStart) / 1000, 1),
        phase: phase.name,
        apiRss: rssMb(api.proc.pid),
        workerRss: rssMb(worker.proc.pid),
        evaluateWaiting: counts ? counts[0].waiting + counts[0].prioritized : null,
        evaluateActive: counts ? counts[0].active : null,
        evaluateDelayed: counts ? counts[0].delayed : null,
        linkageWaiting: counts ? counts[1].waiting + counts[1].prioritized : null,
        pendingReferrals: pending,
      });
      await sleep(SAMPLE_MS);
    }
  })();

  // The workload: everything runs until `end`; warm-up first, then the measured window.
  const t0 = performance.now();
  phase.measureStart = t0 + WARMUP_SECONDS * 1000;
  phase.measureEnd = phase.measureStart + SECONDS * 1000;
  phase.name = WARMUP_SECONDS > 0 ? 'warmup' : 'measure';
  const until = () => phase.measureEnd;
  log(`\nwarm-up ${WARMUP_SECONDS} s, then ${SECONDS} s measured …`);
  const workload = [
    runIntake(intakePool, intakeToken, pairs, until),
    ...mediators.map((md) => runMediator(worklistPool, md, until)),
    runSnapshots(ttpPool, plan, csvs, providerTokens, until),
  ];
  let linkage = null;
  const linkageAt = phase.measureStart + (SECONDS * 1000) / 2;
  workload.push(
    (async () => {
      await sleep(Math.max(0, linkageAt - performance.now()));
      if (state.died) return;
      log(`  ${round((performance.now() - phase.measureStart) / 1000, 0)} s: linkage run started`);
      linkage = await runLinkage(ttpPool, operatorToken, truth);
      log(
        `  ${round((performance.now() - phase.measureStart) / 1000, 0)} s: linkage run ${linkage.status} in ${linkage.seconds} s (answered ${linkage.answered}; ${JSON.stringify(linkage.counts)})`,
      );
    })(),
  );

  let cpu0 = null;
  const progress = (async () => {
    if (WARMUP_SECONDS > 0) await sleep(Math.max(0, phase.measureStart - performance.now()));
    phase.name = 'measure';
    const wall0 = Date.now();
    phase.measureStartWall = wall0;
    cpu0 = { api: cpuSeconds(api.proc.pid), worker: cpuSeconds(worker.proc.pid), machine: machineCpu(), self: process.cpuUsage(), all: allProcessCpu() };
    log(`  measuring from ${new Date(wall0).toISOString()} (API RSS ${rssMb(api.proc.pid)} MB, worker RSS ${rssMb(worker.proc.pid)} MB)`);
    let from = new Date(wall0);
    for (let k = 1; ; k++) {
      const nextAt = phase.measureStart + k * PROGRESS_SECONDS * 1000;
      if (nextAt > phase.measureEnd + 1) break;
      await sleep(Math.max(0, nextAt - performance.now()));
      if (state.died) break;
      const to = new Date();
      const lag = await lagStats(db, from, to).catch(() => null);
      from = to;
      const s = samples[samples.length - 1] ?? {};
      const parts = [];
      let total = 0;
      let errors = 0;
      for (const [route, st] of routes) {
        total += st.window.requests;
        errors += st.window.errors;
        if (['POST /v1/referrals', 'POST /v1/worklist/claim-next', 'POST /v1/worklist/tasks/:id/outcome'].includes(route) && st.window.latencies.length) {
          const l = latencyStats(st.window.latencies);
          parts.push(`${route.replace(/^(GET|POST) \/v1\//, '')} ${round(st.window.requests / PROGRESS_SECONDS, 1)}/s p99 ${l.p99} ms`);
        }
        st.window = { requests: 0, latencies: [], errors: 0 };
      }
      log(
        `  ${k * PROGRESS_SECONDS} s: ${round(total / PROGRESS_SECONDS, 1)} req/s, ${errors} errors | ${parts.join(' | ')} | ` +
          `lag p50/p99 ${lag?.p50 ?? '?'}/${lag?.p99 ?? '?'} ms, pending ${s.pendingReferrals ?? '?'}, queue waiting ${s.evaluateWaiting ?? '?'} | ` +
          `RSS API ${s.apiRss ?? '?'} MB, worker ${s.workerRss ?? '?'} MB`,
      );
    }
  })();

  await Promise.all([...workload, progress]);
  const measuredSeconds = (Math.min(performance.now(), phase.measureEnd + 60_000) - phase.measureStart) / 1000;
  const cpu1 = { api: cpuSeconds(api.proc.pid), worker: cpuSeconds(worker.proc.pid), machine: machineCpu(), self: process.cpuUsage(cpu0?.self), all: allProcessCpu() };
  phase.name = 'drain';
  if (state.died) throw new Error(state.died);

  // Drain: every accepted referral evaluated.
  const drainStart = performance.now();
  let pendingLeft;
  for (;;) {
    pendingLeft = (await db.query(`SELECT count(*)::int AS n FROM referral WHERE status = 'pending'`)).rows[0].n;
    if (pendingLeft === 0 || performance.now() - drainStart > 120_000 || state.died) break;
    await sleep(250);
  }
  const drainSeconds = (performance.now() - drainStart) / 1000;
  sampling = false;
  await sampler;
  await Promise.all([intakePool.close(), worklistPool.close(), ttpPool.close()]);
  await Promise.all(queues.map((q) => q.close()));

  // --- Results ---------------------------------------------------------------------------------
  // Referrals received in the measured window (and its tail, until the load stopped).
  const lag = await lagStats(db, new Date(phase.measureStartWall ?? Date.now()), new Date());
  const measured = samples.filter((s) => s.phase === 'measure');
  const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const head = measured.filter((s) => s.t <= RSS_WINDOW_MS / 1000);
  const tail = measured.filter((s) => s.t >= SECONDS - RSS_WINDOW_MS / 1000);
  const memory = {};
  for (const key of ['apiRss', 'workerRss']) {
    const pts = measured.filter((s) => s[key] !== null);
    const vals = pts.map((s) => s[key]);
    // Least-squares slope over the whole window: a leak shows as a steady climb, GC as a saw.
    const mt = mean(pts.map((s) => s.t));
    const mv = mean(vals);
    const slope = pts.reduce((n, s) => n + (s.t - mt) * (s[key] - mv), 0) / pts.reduce((n, s) => n + (s.t - mt) ** 2, 0);
    const start = mean(head.map((s) => s[key]).filter((x) => x !== null));
    const end = mean(tail.map((s) => s[key]).filter((x) => x !== null));
    memory[key === 'apiRss' ? 'api' : 'worker'] = {
      startMb: round(start, 1),
      endMb: round(end, 1),
      growthPct: round(((end - start) / start) * 100, 1),
      firstSampleMb: vals[0] ?? null,
      lastSampleMb: vals[vals.length - 1] ?? null,
      minMb: vals.length ? Math.min(...vals) : null,
      maxMb: vals.length ? Math.max(...vals) : null,
      trendMbPerMinute: round(slope * 60, 2),
    };
  }
  // V8's heap after each full collection in the window: flat = no leak, whatever RSS does.
  const windowEnd = Math.min(performance.now(), phase.measureEnd + 60_000);
  for (const [key, c] of [
    ['api', api],
    ['worker', worker],
  ]) {
    const gcs = c.fullGcs.filter((g) => g.at >= phase.measureStart && g.at <= windowEnd);
    const vals = gcs.map((g) => g.heapAfterMb);
    const mt = mean(gcs.map((g) => g.at));
    const mv = mean(vals);
    const slope = gcs.length >= 3 ? gcs.reduce((n, g) => n + (g.at - mt) * (g.heapAfterMb - mv), 0) / gcs.reduce((n, g) => n + (g.at - mt) ** 2, 0) : NaN;
    memory[key].heapAfterFullGc = {
      fullGcs: gcs.length,
      firstMb: vals[0] ?? null,
      lastMb: vals[vals.length - 1] ?? null,
      minMb: vals.length ? Math.min(...vals) : null,
      maxMb: vals.length ? Math.max(...vals) : null,
      trendMbPerMinute: round(slope * 60_000, 2),
      series: gcs.map((g) => [round((g.at - phase.measureStart) / 1000, 1), g.heapAfterMb]),
    };
  }
  const queueSamples = measured.map((s) => s.evaluateWaiting).filter((x) => x !== null);
  const pendingSamples = measured.map((s) => s.pendingReferrals).filter((x) => x !== null);
  const queueStats = {
    evaluateWaiting: { samples: queueSamples.length, mean: round(mean(queueSamples), 1), max: queueSamples.length ? Math.max(...queueSamples) : null },
    pendingReferrals: { mean: round(mean(pendingSamples), 1), max: pendingSamples.length ? Math.max(...pendingSamples) : null },
    drainSeconds: round(drainSeconds, 2),
  };

  const routeResults = [...routes]
    .map(([route, s]) => ({
      route,
      requests: s.requests,
      perSecond: round(s.requests / measuredSeconds, 2),
      latencyMs: latencyStats(s.latencies),
      statuses: s.statuses,
      errors: s.errors,
      networkErrors: s.networkErrors,
      errorSamples: s.samples,
    }))
    .sort((a, b) => b.requests - a.requests);
  const intakeSchedule = latencyStats(intakeFromSchedule);
  const totalRequests = routeResults.reduce((n, r) => n + r.requests, 0);
  const errors = Object.values(errorsByPhase).reduce((a, b) => a + b, 0);

  const end = (
    await db.query(
      `SELECT (SELECT count(*)::int FROM referral) AS referrals,
              (SELECT count(*)::int FROM referral WHERE status = 'pending') AS pending,
              (SELECT count(*)::int FROM referral_evaluation) AS evaluations,
              (SELECT count(*)::int FROM (SELECT referral_id FROM referral_evaluation GROUP BY 1 HAVING count(*) > 1) d) AS "evaluatedTwice",
              (SELECT json_object_agg(verdict, n) FROM (SELECT verdict, count(*)::int AS n FROM referral GROUP BY 1) v) AS verdicts,
              (SELECT count(*)::int FROM mediation_task) AS tasks,
              (SELECT json_object_agg(status, n) FROM (SELECT status, count(*)::int AS n FROM mediation_task GROUP BY 1) s) AS "tasksByStatus",
              (SELECT count(*)::int FROM (SELECT task_id FROM task_event WHERE type = 'outcome' GROUP BY 1 HAVING count(*) > 1) d) AS "closedTwice",
              (SELECT count(*)::int FROM task_event WHERE type = 'outcome') AS "outcomeEvents"`,
    )
  ).rows[0];
  await db.end();
  state.db = null;

  const checks = [
    { check: 'no unexpected status or network error (warm-up, measured window and drain)', pass: errors === 0, value: errors },
    { check: `referrals stored (${end.referrals}) = referrals the API accepted (${counters.referralsAccepted})`, pass: end.referrals === counters.referralsAccepted },
    {
      check: `every referral evaluated, exactly once (${end.evaluations} evaluations, ${end.pending} pending, ${end.evaluatedTwice} twice)`,
      pass: end.pending === 0 && end.evaluations === end.referrals && end.evaluatedTwice === 0,
    },
    {
      check: `closed tasks in the database (${end.tasksByStatus?.closed ?? 0}) = outcomes the API accepted (${counters.outcomes}); none closed twice`,
      pass: (end.tasksByStatus?.closed ?? 0) === counters.outcomes && end.closedTwice === 0 && end.outcomeEvents === counters.outcomes,
    },
    { check: 'no task left in progress when the mediators stopped', pass: !(end.tasksByStatus?.['in-progress'] > 0) && !(end.tasksByStatus?.['awaiting-patient'] > 0) },
    { check: `linkage run done, counts equal to the ground truth${linkage?.error ? ` (${linkage.error})` : ''}`, pass: Boolean(linkage?.ok) },
    { check: `API log lines at error level: ${api.errorLines}; worker: ${worker.errorLines}`, pass: api.errorLines === 0 && worker.errorLines === 0 },
  ];
  const memoryOk = memory.api.growthPct <= MEMORY_GROWTH_TARGET_PCT && memory.worker.growthPct <= MEMORY_GROWTH_TARGET_PCT;
  const verdicts = [
    { target: 'errors = 0', measured: errors, pass: errors === 0 },
    {
      target: `API RSS growth ≤ ${MEMORY_GROWTH_TARGET_PCT} %`,
      measured: `${memory.api.startMb} → ${memory.api.endMb} MB (${memory.api.growthPct} %)`,
      pass: memory.api.growthPct <= MEMORY_GROWTH_TARGET_PCT,
    },
    {
      target: `worker RSS growth ≤ ${MEMORY_GROWTH_TARGET_PCT} %`,
      measured: `${memory.worker.startMb} → ${memory.worker.endMb} MB (${memory.worker.growthPct} %)`,
      pass: memory.worker.growthPct <= MEMORY_GROWTH_TARGET_PCT,
    },
  ];
  const pctCore = (a, b) => (a === null || b === null ? null : round(((b - a) / measuredSeconds) * 100, 1));
  const cpu = {
    apiPctOfCore: pctCore(cpu0?.api ?? null, cpu1.api),
    workerPctOfCore: pctCore(cpu0?.worker ?? null, cpu1.worker),
    loadGeneratorPctOfCore: round(((cpu1.self.user + cpu1.self.system) / 1e6 / measuredSeconds) * 100, 1),
    machineBusyPct: cpu0?.machine && cpu1.machine ? round(((cpu1.machine.busy - cpu0.machine.busy) / (cpu1.machine.total - cpu0.machine.total)) * 100, 1) : null,
    ...(cpu0 ? otherCpu(cpu0.all, cpu1.all, measuredSeconds, [api.proc.pid, worker.proc.pid, process.pid]) : {}),
  };
  m.loadAverageAtEnd = os.loadavg().map((x) => round(x, 2));

  log('');
  log(
    `measured ${round(measuredSeconds, 1)} s: ${totalRequests.toLocaleString('en')} requests (${round(totalRequests / measuredSeconds, 1)}/s); referrals accepted ${counters.referralsAccepted.toLocaleString('en')} (all phases); tasks ${end.tasks} (${JSON.stringify(end.tasksByStatus)}); verdicts ${JSON.stringify(end.verdicts)}`,
  );
  log(
    `mediators: ${counters.tasksStarted} tasks claimed, ${counters.outcomes} closed, ${counters.releases} released after no answer, ${counters.emptyPolls} empty polls (404) (all phases)`,
  );
  log('');
  const cols = [
    ['route', 46, (r) => r.route],
    ['requests', 8, (r) => r.requests, true],
    ['req/s', 7, (r) => r.perSecond.toFixed(1), true],
    ['p50 ms', 8, (r) => r.latencyMs.p50, true],
    ['p99 ms', 8, (r) => r.latencyMs.p99, true],
    ['max ms', 8, (r) => r.latencyMs.max, true],
    ['errors', 6, (r) => r.errors, true],
    [
      'statuses',
      16,
      (r) =>
        Object.entries(r.statuses)
          .map(([s, c]) => `${s}×${c}`)
          .join(' '),
    ],
  ];
  const pad = (s, n, right) => (right ? String(s).padStart(n) : String(s).padEnd(n));
  log(cols.map(([h, w, , r]) => pad(h, w, r)).join('  '));
  for (const r of routeResults) log(cols.map(([, w, f, rt]) => pad(f(r), w, rt)).join('  '));
  log(
    `(POST /v1/referrals from its scheduled send time: p50 ${intakeSchedule.p50} ms, p99 ${intakeSchedule.p99} ms; late sends by the load generator: ${counters.lateIntakeSends})`,
  );
  log('');
  log(`queue lag (received → first evaluation), ${lag.evaluated} of ${lag.referrals} referrals: p50 ${lag.p50} ms, p99 ${lag.p99} ms, max ${lag.max} ms`);
  log(
    `evaluate-referral jobs waiting (every ${SAMPLE_MS / 1000} s): mean ${queueStats.evaluateWaiting.mean}, max ${queueStats.evaluateWaiting.max}; pending referrals mean ${queueStats.pendingReferrals.mean}, max ${queueStats.pendingReferrals.max}; drained in ${queueStats.drainSeconds} s after the load stopped`,
  );
  if (linkage) log(`linkage run: ${linkage.status} in ${linkage.seconds} s from the request; worker timings ${JSON.stringify(linkage.timings)}`);
  log(
    `RSS (mean of the first / last ${RSS_WINDOW_MS / 1000} s of the window): API ${memory.api.startMb} → ${memory.api.endMb} MB (${memory.api.growthPct} %, range ${memory.api.minMb}–${memory.api.maxMb}, trend ${memory.api.trendMbPerMinute} MB/min); worker ${memory.worker.startMb} → ${memory.worker.endMb} MB (${memory.worker.growthPct} %, range ${memory.worker.minMb}–${memory.worker.maxMb}, trend ${memory.worker.trendMbPerMinute} MB/min)`,
  );
  for (const key of ['api', 'worker']) {
    const h = memory[key].heapAfterFullGc;
    log(
      `${key === 'api' ? 'API' : 'worker'} V8 heap after each full GC in the window (${h.fullGcs}): first ${h.firstMb} MB, last ${h.lastMb} MB, range ${h.minMb}–${h.maxMb}, trend ${h.trendMbPerMinute} MB/min`,
    );
  }
  log(
    `CPU over the window (% of one core): API ${cpu.apiPctOfCore}, worker ${cpu.workerPctOfCore}, load generator ${cpu.loadGeneratorPctOfCore}, ` +
      `Postgres (all databases) ≥ ${cpu.postgresPctOfCore}, Redis ≥ ${cpu.redisPctOfCore}, other processes on the machine ≥ ${cpu.otherProcessesPctOfCore}` +
      `${cpu.topOtherProcesses?.length ? ` (${cpu.topOtherProcesses.map((o) => `${o.name} ${o.pctOfCore}`).join(', ')})` : ''}; ` +
      `machine busy ${cpu.machineBusyPct} % of all ${m.nproc} cores; load average at end ${m.loadAverageAtEnd.join(' ')}`,
  );
  log(`log lines at warn or above: API ${api.warnOrWorse}, worker ${worker.warnOrWorse}`);
  for (const c of [api, worker]) if (c.warnOrWorse) for (const l of c.lines.slice(-3)) log(`  ${c.name}: ${l}`);
  log('');
  for (const r of routeResults) for (const s of r.errorSamples) log(`  sample error ${r.route}: ${s}`);
  for (const c of checks) log(`  ${c.pass ? 'ok  ' : 'FAIL'}  ${c.check}`);
  for (const v of verdicts) log(`  ${v.pass ? 'PASS' : 'FAIL'}  ${v.target}: ${v.measured}`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `soak-${STAMP}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        benchmark: 'soak and load',
        command: 'npm run bench:soak',
        machine: m,
        settings: {
          seconds: SECONDS,
          warmupSeconds: WARMUP_SECONDS,
          intakeRate: INTAKE_RATE,
          intakeConnections: INTAKE_CONNECTIONS,
          mediators: MEDIATORS,
          thinkMs: THINK_MS,
          snapshotProviders: SNAPSHOT_PROVIDERS,
          snapshotEntries: SNAPSHOT_ENTRIES,
          snapshotIntervalSeconds: SNAPSHOT_INTERVAL_SECONDS,
          databasePoolSize: process.env.DATABASE_POOL_SIZE ?? '10 (default)',
          workerConcurrency: process.env.WORKER_CONCURRENCY ?? '10 (default)',
        },
        measuredSeconds: round(measuredSeconds, 2),
        routes: routeResults,
        intakeFromScheduleMs: intakeSchedule,
        counters,
        errorsByPhase,
        queueLagMs: lag,
        queue: queueStats,
        linkage,
        memory,
        cpu,
        endState: end,
        samples,
        checks,
        verdicts,
        logLines: { api: api.warnOrWorse, worker: worker.warnOrWorse },
      },
      null,
      2,
    ) + '\n',
  );
  log(`\nresults written to ${path.relative(ROOT, file)}`);
  if (!checks.every((c) => c.pass)) return 1;
  return memoryOk ? 0 : 3;
}

main()
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  })
  .catch(async (e) => {
    console.error(`\nbench:soak failed: ${e.stack ?? e.message}`);
    for (const c of children) if (c.lines.length) console.error(`last ${c.name} output:\n${c.lines.slice(-10).join('\n')}`);
    await cleanup();
    process.exit(1);
  });
