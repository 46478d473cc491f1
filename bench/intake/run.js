#!/usr/bin/env node
/**
 * Referral intake benchmark: `npm run build && npm run bench:intake`.
 *
 * Starts the built API (dist/apps/api/src/main.js) as a child process against a database and a
 * Redis queue prefix of its own, then measures three scenarios at 32 concurrent keep-alive
 * connections (undici Pool):
 *   whoami        GET  /v1/auth/whoami          the framework's ceiling for an authenticated route
 *   single        POST /v1/referrals            one message per request (201 expected)
 *   batch         POST /v1/referrals/batch      1,000 messages per request (200 expected)
 *   batch@4       the batch scenario again at 4 connections (BENCH_BATCH_LOW_CONNECTIONS=0 skips it)
 * The worker is NOT started: evaluation jobs only queue up in Redis (intake is what is measured).
 *
 * Every request body is generated before timing starts. After each scenario the number of rows
 * in `referral` is compared with the number of referrals the API said it created, and the
 * queued jobs with the rows. Results are printed as a table and written to
 * bench/results/intake-<timestamp>.json. The database, the Redis keys and the API process are
 * removed at the end, also on failure or Ctrl-C.
 *
 * Environment (all optional):
 *   BENCH_SECONDS=20                  measured duration of each scenario
 *   BENCH_WARMUP_SECONDS=3            warm-up before each scenario (not measured; rows still checked)
 *   BENCH_CONNECTIONS=32              concurrent connections
 *   BENCH_BATCH_SIZE=1000             messages per batch request
 *   BENCH_BATCH_LOW_CONNECTIONS=4     extra batch run at this many connections (0 = skip)
 *   BENCH_SCENARIOS=whoami,single,batch,batch-low   which scenarios to run
 *   BENCH_MAX_SINGLE_RPS=6000         pre-generated single bodies = this × (seconds + warm-up)
 *   BENCH_MAX_BATCH_RPS=25            pre-generated batch bodies  = this × (seconds + warm-up)
 *   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432   server to create the bench database on
 *   BENCH_REDIS_URL=redis://127.0.0.1:6379
 *   BENCH_QUIET_WAIT_SECONDS=120      before each scenario, wait up to this long for other processes
 *                                     on the machine to use < 10% of a core (it may be shared)
 *   BENCH_CPU_PROF=1                  run the API under bench/intake/profile-api.js and write one
 *                                     V8 CPU profile per scenario to bench/results/ (slows the API)
 *   DATABASE_POOL_SIZE, BODY_LIMIT_BYTES, …  passed through to the API like any other variable.
 *
 * Exit codes: 0 all checks and targets met; 1 a correctness check failed (non-2xx, row count,
 * queue count) or the bench itself failed; 2 not built; 3 checks passed but a target was missed.
 */
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const { existsSync, mkdirSync, writeFileSync, readFileSync, readdirSync } = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { randomUUID } = require('node:crypto');
const { performance } = require('node:perf_hooks');

const ROOT = path.resolve(__dirname, '../..');
const DIST = {
  api: path.join(ROOT, 'dist/apps/api/src/main.js'),
  worker: path.join(ROOT, 'dist/apps/worker/src/main.js'),
  cli: path.join(ROOT, 'dist/apps/cli/src/main.js'),
  core: path.join(ROOT, 'dist/libs/core/src/index.js'),
};

const missing = Object.entries(DIST).filter(([, p]) => !existsSync(p));
if (missing.length) {
  console.error(`bench:intake needs a build; missing: ${missing.map(([, p]) => path.relative(ROOT, p)).join(', ')}`);
  console.error('Run `npm run build` first, then `npm run bench:intake`.');
  process.exit(2);
}

// Loaded after the build check: these come from the project's own dependencies and build.
const { Pool } = require('undici');
const { Client } = require('pg');
const IORedis = require('ioredis');
const { syntheticBsn, amsterdamDate } = require(DIST.core);

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

const SECONDS = intEnv('BENCH_SECONDS', 20, 1, 600);
const WARMUP_SECONDS = intEnv('BENCH_WARMUP_SECONDS', 3, 0, 60);
const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 32, 1, 256);
const BATCH_SIZE = intEnv('BENCH_BATCH_SIZE', 1000, 1, 1000);
const BATCH_LOW_CONNECTIONS = intEnv('BENCH_BATCH_LOW_CONNECTIONS', 4, 0, 256);
const MAX_SINGLE_RPS = intEnv('BENCH_MAX_SINGLE_RPS', 6000, 10, 100000);
const MAX_BATCH_RPS = intEnv('BENCH_MAX_BATCH_RPS', 25, 1, 1000);
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const QUIET_WAIT_SECONDS = intEnv('BENCH_QUIET_WAIT_SECONDS', 120, 0, 3600);
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'whoami,single,batch,batch-low')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const s of SCENARIOS) {
  if (!['whoami', 'single', 'batch', 'batch-low'].includes(s)) {
    console.error(`BENCH_SCENARIOS: unknown scenario "${s}" (known: whoami, single, batch, batch-low)`);
    process.exit(1);
  }
}

const TARGETS = { singleReferralsPerSec: 1000, batchReferralsPerSec: 10000 };

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

const STAMP = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '_'); // 20260101_101500
const DB_NAME = `ggz_bench_${STAMP.toLowerCase()}_${process.pid}`;
const QUEUE_PREFIX = `ggzbench_${STAMP}_${process.pid}`;
const RESULTS_DIR = path.join(ROOT, 'bench/results');

function dbUrl(name) {
  const u = new URL(PG_BASE.toString());
  u.pathname = `/${name}`;
  return u.toString();
}

const log = (...a) => console.log(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Cleanup: registered before anything is made, run once, bounded in time.

const state = { api: null, apiDied: null, dbCreated: false, cleaning: null };

async function cleanup() {
  if (state.cleaning) return state.cleaning;
  state.cleaning = (async () => {
    await stopApi();
    if (state.dbCreated) {
      try {
        await withPg('postgres', (c) => c.query(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`));
        log(`cleanup: dropped database ${DB_NAME}`);
      } catch (e) {
        console.error(`cleanup: could not drop database ${DB_NAME}: ${e.message}`);
      }
    }
    try {
      const n = await deleteRedisKeys();
      log(`cleanup: deleted ${n} Redis keys with prefix ${QUEUE_PREFIX}:`);
    } catch (e) {
      console.error(`cleanup: could not delete Redis keys of ${QUEUE_PREFIX}: ${e.message}`);
    }
  })();
  return state.cleaning;
}

async function stopApi() {
  const child = state.api;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    console.error(`\n${sig}: cleaning up…`);
    cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// Postgres and Redis helpers

async function withPg(database, fn) {
  const c = new Client({ connectionString: dbUrl(database), connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function redisClient() {
  return new IORedis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 5000, lazyConnect: true });
}

async function deleteRedisKeys() {
  const r = redisClient();
  await r.connect();
  let n = 0;
  try {
    let cursor = '0';
    // Bounded: SCAN terminates when the cursor comes back to 0.
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${QUEUE_PREFIX}:*`, 'COUNT', 5000);
      if (keys.length) n += await r.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  return n;
}

/** Referrals handed to the worker: the referral ids in every queued evaluation job (a job carries a batch of ids). */
async function queuedJobs() {
  const r = redisClient();
  await r.connect();
  try {
    const base = `${QUEUE_PREFIX}:evaluate-referral`;
    const [wait, prioritized, delayed, active] = await Promise.all([
      r.lrange(`${base}:wait`, 0, -1),
      r.zrange(`${base}:prioritized`, 0, -1),
      r.zrange(`${base}:delayed`, 0, -1),
      r.lrange(`${base}:active`, 0, -1),
    ]);
    const ids = [...wait, ...prioritized, ...delayed, ...active];
    let referrals = 0;
    for (let i = 0; i < ids.length; i += 1000) {
      const pipe = r.pipeline();
      for (const id of ids.slice(i, i + 1000)) pipe.hget(`${base}:${id}`, 'data');
      for (const [, data] of await pipe.exec()) referrals += JSON.parse(data ?? '{}').referralIds?.length ?? 0;
    }
    return referrals;
  } finally {
    r.disconnect();
  }
}

async function referralRows() {
  return withPg(DB_NAME, async (c) => Number((await c.query('SELECT count(*)::int AS n FROM referral')).rows[0].n));
}

// ---------------------------------------------------------------------------------------------
// Machine description

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

async function machine() {
  const pgVersion = await withPg('postgres', async (c) => {
    const v = (await c.query('SELECT version() AS v')).rows[0].v;
    const s = (
      await c.query(
        `SELECT name, setting, unit FROM pg_settings
          WHERE name IN ('shared_buffers', 'synchronous_commit', 'fsync', 'max_connections') ORDER BY name`,
      )
    ).rows;
    return { version: v, settings: Object.fromEntries(s.map((r) => [r.name, r.unit ? `${r.setting} (${r.unit})` : r.setting])) };
  });
  const r = redisClient();
  await r.connect();
  const info = await r.info('server');
  r.disconnect();
  const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  const commit = sh('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = sh('git', ['status', '--porcelain', '--untracked-files=no']);
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres: pgVersion.version,
    postgresSettings: pgVersion.settings,
    redis: redisVersion,
    date: new Date().toISOString(),
    commit: commit + (dirty && dirty !== 'unknown' ? ' (+ uncommitted changes)' : ''),
  };
}

// ---------------------------------------------------------------------------------------------
// CPU accounting: the API process (from /proc) and the whole machine, per measured phase.

/** The machine's CPU time counters (ticks) from /proc/stat, summed over all cores. */
function machineCpu() {
  try {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { user: user + nice, system, idle, iowait: iowait || 0, irq: (irq || 0) + (softirq || 0), steal: steal || 0 };
  } catch {
    return null;
  }
}

/** CPU ms used so far by every process, by pid, with its command name. */
function allProcessCpu() {
  const out = new Map();
  let pids;
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, { comm, ms: ((Number(f[11]) + Number(f[12])) * 1000) / 100 });
    } catch {
      /* the process ended meanwhile */
    }
  }
  return out;
}

/**
 * Accumulates the CPU time of every process over a phase, by pid, sampling every 250 ms so that
 * short-lived processes (Postgres backends, autovacuum) are mostly counted: a process that ends
 * between two samples loses at most its last 250 ms.
 */
function processCpuSampler() {
  const byPid = new Map();
  const first = allProcessCpu();
  let last = first;
  const tick = () => {
    const now = allProcessCpu();
    for (const [pid, cur] of now) {
      const prev = last.get(pid);
      // A pid not seen at the start began during the phase: all its time is the phase's.
      const base = prev ? prev.ms : first.has(pid) ? cur.ms : 0;
      const e = byPid.get(pid) ?? { comm: cur.comm, ms: 0 };
      e.ms += Math.max(0, cur.ms - base);
      byPid.set(pid, e);
    }
    last = now;
  };
  const timer = setInterval(tick, 250);
  return () => {
    clearInterval(timer);
    tick();
    return byPid;
  };
}

const QUIET_PCT = 10; // other processes may use at most this share of one core

/**
 * Waits (bounded) until processes other than the API, Postgres, Redis and this bench use less
 * than QUIET_PCT of a core over a second: the machine may be shared (test suites, builds).
 */
async function waitForQuiet(apiPid) {
  const started = Date.now();
  const deadline = started + QUIET_WAIT_SECONDS * 1000;
  let waited = false;
  for (;;) {
    const probe = await cpuProbe(apiPid);
    await sleep(1000);
    const cpu = await probe();
    if (cpu.otherProcessesTotalPct < QUIET_PCT) {
      if (waited) log('quiet now');
      return { quiet: true, waitedSeconds: Math.round((Date.now() - started) / 1000) };
    }
    if (Date.now() > deadline) {
      log(`still busy after ${QUIET_WAIT_SECONDS} s; measuring anyway`);
      return { quiet: false, waitedSeconds: Math.round((Date.now() - started) / 1000), busy: cpu.otherProcesses };
    }
    if (!waited) {
      process.stdout.write(`  machine busy with other work (${cpu.otherProcesses.map((o) => `${o.name} ${o.pct}%`).join(', ')}); waiting up to ${QUIET_WAIT_SECONDS} s … `);
      waited = true;
    }
  }
}

/** Postgres backend pids by database (null for the server's own background processes). */
async function pgBackends() {
  try {
    return await withPg('postgres', async (c) => new Map((await c.query('SELECT pid, datname FROM pg_stat_activity')).rows.map((r) => [String(r.pid), r.datname])));
  } catch {
    return new Map();
  }
}

/**
 * Starts CPU accounting for a phase; the returned function ends it. Postgres time is split into
 * this bench's database plus the server's background processes, versus backends of other
 * databases (other users of this machine), which count as noise with the other processes.
 */
async function cpuProbe(apiPid) {
  const backends0 = await pgBackends();
  const t0 = performance.now();
  const procs = processCpuSampler();
  const m0 = machineCpu();
  return async () => {
    const wall = performance.now() - t0;
    const byPid = procs();
    const m1 = machineCpu();
    const backends = new Map([...backends0, ...(await pgBackends())]);
    const pct = (ms) => Math.round((ms / wall) * 1000) / 10; // % of one core
    const byComm = new Map();
    let api = 0;
    let self = 0;
    for (const [pid, e] of byPid) {
      if (Number(pid) === apiPid) api += e.ms;
      else if (Number(pid) === process.pid) self += e.ms;
      else {
        // kworker/0:1-events → kworker
        let name = e.comm.replace(/[/:].*$/, '');
        const db = backends.get(pid);
        if (name === 'postgres' && db && db !== DB_NAME) name = 'postgres (other databases)';
        byComm.set(name, (byComm.get(name) ?? 0) + e.ms);
      }
    }
    const otherAll = [...byComm].filter(([name]) => name !== 'postgres' && name !== 'redis-server').sort((x, y) => y[1] - x[1]);
    const others = otherAll
      .slice(0, 4)
      .filter(([, ms]) => pct(ms) >= 0.5)
      .map(([name, ms]) => ({ name, pct: pct(ms) }));
    const otherTotalPct = pct(otherAll.reduce((n, [, ms]) => n + ms, 0));
    let machine = null;
    if (m0 && m1) {
      const d = Object.fromEntries(Object.keys(m0).map((k) => [k, m1[k] - m0[k]]));
      const total = Object.values(d).reduce((a, b) => a + b, 0);
      const share = (x) => Math.round((x / total) * 1000) / 10;
      machine = {
        busyPct: share(total - d.idle - d.iowait), // of all cores together
        userPct: share(d.user),
        systemPct: share(d.system),
        irqPct: share(d.irq),
        iowaitPct: share(d.iowait),
        stealPct: share(d.steal),
      };
    }
    return {
      apiProcessPct: pct(api),
      postgresPct: pct(byComm.get('postgres') ?? 0), // every postgres process together
      redisPct: pct(byComm.get('redis-server') ?? 0),
      benchClientPct: pct(self),
      otherProcesses: others,
      otherProcessesTotalPct: otherTotalPct,
      machineBusyPct: machine?.busyPct ?? null,
      machine,
    };
  };
}

// ---------------------------------------------------------------------------------------------
// API child process

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

function childEnv(port) {
  const env = { ...process.env };
  delete env.NODE_ENV; // development defaults (dev JWT secret and keys); never production here
  Object.assign(env, {
    DATABASE_URL: dbUrl(DB_NAME),
    REDIS_URL,
    QUEUE_PREFIX,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    MIGRATIONS_RUN: 'true',
  });
  return env;
}

const apiOutput = { lines: [], warnOrWorse: 0 };

function recordApiOutput(chunk) {
  for (const line of chunk.toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    if (/"level":"(warn|error|fatal)"/.test(line) || !line.startsWith('{')) apiOutput.warnOrWorse++;
    apiOutput.lines.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
    if (apiOutput.lines.length > 200) apiOutput.lines.shift();
  }
}

function profileName(spec) {
  return spec.name.replace('@', '-');
}

async function startApi(port, specs) {
  const args = CPU_PROF ? [path.join(__dirname, 'profile-api.js'), DIST.api] : [DIST.api];
  const profileEnv = CPU_PROF ? { BENCH_PROFILE_DIR: RESULTS_DIR, BENCH_PROFILE_PREFIX: `api-${STAMP}`, BENCH_PROFILE_NAMES: specs.map(profileName).join(',') } : {};
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...childEnv(port), ...profileEnv },
    stdio: CPU_PROF ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  state.api = child;
  child.once('exit', (code, signal) => {
    if (!state.cleaning) {
      state.apiDied = `the API exited unexpectedly (code ${code}, signal ${signal})`;
      console.error(`\n${state.apiDied}`);
    }
  });
  child.stdout.on('data', recordApiOutput);
  child.stderr.on('data', recordApiOutput);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the API exited during start-up (code ${child.exitCode}):\n${apiOutput.lines.slice(-20).join('\n')}`);
    }
    try {
      const res = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(3000) });
      const text = await res.text();
      if (res.status === 200) return { base, child };
      if (Date.now() > deadline) throw new Error(`/health/ready still answers ${res.status}: ${text}`);
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`the API did not become ready within 60 s: ${e.message}`, { cause: e });
    }
    await sleep(200);
  }
}

/** Asks profile-api.js to write the profile so far (one per scenario) and start a new one. */
function takeProfile() {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the API did not write its CPU profile within 60 s')), 60_000);
    const onMessage = (m) => {
      if (m?.type !== 'profile-written' && m?.type !== 'profile-failed') return;
      clearTimeout(timer);
      state.api.off('message', onMessage);
      if (m.type === 'profile-written') resolve(m.file);
      else reject(new Error(`CPU profile failed: ${m.error}`));
    };
    state.api.on('message', onMessage);
    state.api.send({ type: 'profile' });
  });
}

function mintToken(port) {
  const out = execFileSync(process.execPath, [DIST.cli, 'token', '--role', 'referral-service', '--uzovi', '3311'], {
    cwd: ROOT,
    env: childEnv(port),
    encoding: 'utf8',
    timeout: 30_000,
  }).trim();
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(out)) throw new Error(`the CLI did not print a JWT: ${out.slice(0, 200)}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Request bodies, all made before timing

let bsnCursor = 10_000_000 + Math.floor(Math.random() * 40_000_000);
/** Unique, valid (elfproef) synthetic BSNs: each next one starts past the previous one's head. */
function nextBsn() {
  const bsn = syntheticBsn(bsnCursor);
  bsnCursor = Number(bsn.slice(0, 8)) + 1;
  if (bsnCursor >= 100_000_000) throw new Error('ran out of synthetic BSNs');
  return bsn;
}

const VERWIJSDATUM = amsterdamDate(new Date(Date.now() - 2 * 86_400_000));
const GIVEN_AT = new Date(Date.now() - 86_400_000).toISOString();

function referralMessage() {
  return {
    messageId: `bench-${randomUUID()}`,
    bsn: nextBsn(),
    verwijsdatum: VERWIJSDATUM,
    klachtenprofiel: 'depressie',
    dsmCode: 'F32.1',
    agb: '94012345',
    uzovi: '3311',
    consent: { id: `consent-${randomUUID()}`, givenAt: GIVEN_AT, scope: 'zorgbemiddeling', channel: 'verwijsportaal' },
  };
}

function singleBodies(n) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = JSON.stringify(referralMessage());
  return out;
}

function batchBodies(n, size) {
  const out = new Array(n);
  const msgs = new Array(size);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < size; k++) msgs[k] = referralMessage();
    out[i] = JSON.stringify({ messages: msgs });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Load generator

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * Runs `connections` loops against the pool until `seconds` have passed or the bodies run out.
 * Returns counts, statuses, latencies (ms) and referrals created (by the API's own account).
 */
async function runPhase(pool, spec, bodies, cursor, seconds, connections) {
  const latencies = [];
  const statuses = {};
  let errors = 0;
  let created = 0;
  let duplicates = 0;
  let otherOutcomes = 0;
  let exhausted = false;
  const errorSamples = [];
  const t0 = performance.now();
  const endAt = t0 + seconds * 1000;

  async function loop() {
    // Bounded: each turn either takes a new body or stops.
    while (performance.now() < endAt && !state.apiDied) {
      let body;
      if (bodies) {
        if (cursor.i >= bodies.length) {
          exhausted = true;
          return;
        }
        body = bodies[cursor.i++];
      }
      const start = performance.now();
      try {
        const res = await pool.request({ path: spec.path, method: spec.method, headers: spec.headers, body });
        const status = res.statusCode;
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (spec.kind === 'batch' || status >= 300) {
          const text = await res.body.text();
          if (status >= 300) {
            if (errorSamples.length < 5) errorSamples.push(`${status} ${text.slice(0, 300)}`);
          } else {
            const s = JSON.parse(text).summary;
            created += s.created;
            duplicates += s.duplicate;
            otherOutcomes += s.conflict + s.invalid + s.forbidden;
            if (s.created + s.duplicate !== BATCH_SIZE && errorSamples.length < 5) errorSamples.push(`batch summary ${JSON.stringify(s)}`);
          }
        } else {
          await res.body.dump();
          if (spec.kind === 'single') {
            if (status === 201) created++;
            else if (status === 200) duplicates++;
          }
        }
        latencies.push(performance.now() - start);
      } catch (e) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(`${e.code ?? e.name}: ${e.message}`);
      }
    }
  }

  await Promise.all(Array.from({ length: connections }, loop));
  const elapsedMs = performance.now() - t0;
  return { elapsedMs, latencies, statuses, errors, created, duplicates, otherOutcomes, exhausted, errorSamples };
}

async function runScenario(base, token, spec) {
  const connections = spec.connections;
  const pool = new Pool(base, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 120_000,
    bodyTimeout: 120_000,
  });
  spec.headers = { authorization: `Bearer ${token}`, ...(spec.method === 'POST' ? { 'content-type': 'application/json' } : {}) };
  const cursor = { i: 0 };
  try {
    const quietBefore = await waitForQuiet(state.api.pid);
    let warm = null;
    if (WARMUP_SECONDS > 0) {
      process.stdout.write(`  ${spec.name}: warm-up ${WARMUP_SECONDS} s … `);
      warm = await runPhase(pool, spec, spec.bodies, cursor, WARMUP_SECONDS, connections);
      log(`${warm.latencies.length} requests`);
    }
    process.stdout.write(`  ${spec.name}: measuring ${SECONDS} s at ${connections} connections … `);
    const probe = await cpuProbe(state.api.pid);
    const run = await runPhase(pool, spec, spec.bodies, cursor, SECONDS, connections);
    const cpu = await probe();
    const sorted = Float64Array.from(run.latencies).sort();
    const ok = run.latencies.length;
    const requests = ok + run.errors;
    const secs = run.elapsedMs / 1000;
    const non2xx = Object.entries(run.statuses).reduce((n, [s, c]) => (Number(s) >= 200 && Number(s) < 300 ? n : n + c), 0);
    const referrals = spec.kind === 'whoami' ? 0 : run.created;
    const result = {
      scenario: spec.name,
      route: `${spec.method} ${spec.path}`,
      connections,
      messagesPerRequest: spec.kind === 'batch' ? BATCH_SIZE : spec.kind === 'single' ? 1 : 0,
      seconds: Math.round(secs * 100) / 100,
      requests,
      requestsPerSec: Math.round((ok / secs) * 10) / 10,
      referralsCreated: referrals,
      referralsPerSec: Math.round(referrals / secs),
      latencyMs: {
        p50: Math.round(percentile(sorted, 50) * 10) / 10,
        p99: Math.round(percentile(sorted, 99) * 10) / 10,
        max: Math.round((sorted[sorted.length - 1] ?? NaN) * 10) / 10,
      },
      statuses: run.statuses,
      non2xx,
      networkErrors: run.errors,
      duplicates: run.duplicates,
      otherOutcomes: run.otherOutcomes,
      bodiesExhausted: run.exhausted,
      quietBefore,
      errorSamples: run.errorSamples,
      cpu,
      warmup: warm
        ? {
            requests: warm.latencies.length + warm.errors,
            created: warm.created,
            statuses: warm.statuses,
            networkErrors: warm.errors,
            errorSamples: warm.errorSamples,
          }
        : null,
    };
    log(`${result.requestsPerSec} req/s${spec.kind === 'whoami' ? '' : `, ${result.referralsPerSec} referrals/s`}`);
    return result;
  } finally {
    await pool.close();
    spec.bodies = null; // let the strings go before the next scenario
  }
}

// ---------------------------------------------------------------------------------------------
// Output

function pad(s, n, right = false) {
  s = String(s);
  return right ? s.padStart(n) : s.padEnd(n);
}

function table(results) {
  const cols = [
    ['scenario', 10, (r) => r.scenario],
    ['conns', 5, (r) => r.connections, true],
    ['secs', 6, (r) => r.seconds.toFixed(1), true],
    ['requests', 8, (r) => r.requests, true],
    ['req/s', 8, (r) => r.requestsPerSec.toFixed(1), true],
    ['referrals/s', 11, (r) => (r.messagesPerRequest ? r.referralsPerSec : '-'), true],
    ['p50 ms', 8, (r) => r.latencyMs.p50.toFixed(1), true],
    ['p99 ms', 8, (r) => r.latencyMs.p99.toFixed(1), true],
    ['max ms', 8, (r) => r.latencyMs.max.toFixed(1), true],
    ['non-2xx', 7, (r) => r.non2xx + r.networkErrors, true],
    [
      'statuses',
      14,
      (r) =>
        Object.entries(r.statuses)
          .map(([s, c]) => `${s}×${c}`)
          .join(' '),
    ],
    ['rows', 5, (r) => (r.rowCheck ? (r.rowCheck.ok ? 'ok' : 'FAIL') : '-')],
    ['API cpu', 7, (r) => `${r.cpu.apiProcessPct}%`, true],
    ['PG cpu', 7, (r) => `${r.cpu.postgresPct}%`, true],
    ['Redis', 6, (r) => `${r.cpu.redisPct}%`, true],
    ['machine', 7, (r) => (r.cpu.machineBusyPct === null ? '?' : `${r.cpu.machineBusyPct}%`), true],
  ];
  const head = cols.map(([h, w, , right]) => pad(h, w, right)).join('  ');
  const lines = [head, '-'.repeat(head.length)];
  for (const r of results) lines.push(cols.map(([, w, f, right]) => pad(f(r), w, right)).join('  '));
  return lines.join('\n');
}

function markdownTable(results) {
  const lines = [
    '| scenario | route | conns | req/s | referrals/s | p50 ms | p99 ms | max ms | non-2xx | rows check | CPU: API | CPU: Postgres | CPU: Redis | CPU: bench client | machine busy (2 cores = 100%) |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.scenario} | \`${r.route}\` | ${r.connections} | ${r.requestsPerSec.toFixed(1)} | ${r.messagesPerRequest ? r.referralsPerSec : '–'} | ` +
        `${r.latencyMs.p50.toFixed(1)} | ${r.latencyMs.p99.toFixed(1)} | ${r.latencyMs.max.toFixed(1)} | ${r.non2xx + r.networkErrors} | ` +
        `${r.rowCheck ? (r.rowCheck.ok ? `ok (${r.rowCheck.rows})` : `FAIL (${r.rowCheck.rows} ≠ ${r.rowCheck.expected})`) : '–'} | ` +
        `${r.cpu.apiProcessPct}% | ${r.cpu.postgresPct}% | ${r.cpu.redisPct}% | ${r.cpu.benchClientPct}% | ${r.cpu.machineBusyPct ?? '?'}% |`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const watchdogMs = (SCENARIOS.length * (SECONDS + WARMUP_SECONDS + QUIET_WAIT_SECONDS + 120) + 300) * 1000;
  const watchdog = setTimeout(() => {
    console.error(`bench:intake: still running after ${Math.round(watchdogMs / 1000)} s; giving up`);
    cleanup().finally(() => process.exit(1));
  }, watchdogMs);
  watchdog.unref();

  const m = await machine();
  log('Referral intake benchmark (bench/intake/run.js)');
  log(`  date      ${m.date}`);
  log(`  commit    ${m.commit}`);
  log(`  cpu       ${m.cpu} × ${m.cores} cores`);
  log(`  memory    ${m.memoryGiB} GiB`);
  log(`  os        ${m.os}`);
  log(`  node      ${m.node}`);
  log(`  postgres  ${m.postgres}`);
  log(
    `            ${Object.entries(m.postgresSettings)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
  );
  log(`  redis     ${m.redis}`);
  log(
    `  settings  ${SECONDS} s per scenario after ${WARMUP_SECONDS} s warm-up; ${CONNECTIONS} connections; batch size ${BATCH_SIZE}; ` +
      `API DATABASE_POOL_SIZE=${process.env.DATABASE_POOL_SIZE ?? '10 (default)'}` +
      (process.env.NODE_OPTIONS ? `; NODE_OPTIONS=${process.env.NODE_OPTIONS}` : '') +
      (CPU_PROF ? '; CPU PROFILING ON (figures are not representative)' : ''),
  );
  log('  note      the worker is NOT running: evaluation jobs only queue up in Redis (intake is measured).');
  log('  note      load generator, API, Postgres and Redis all share this machine; CPU columns are % of one core.');
  log('');

  await withPg('postgres', (c) => c.query(`CREATE DATABASE "${DB_NAME}"`));
  state.dbCreated = true;
  log(`database ${DB_NAME} created; queue prefix ${QUEUE_PREFIX}`);

  const phaseSeconds = SECONDS + WARMUP_SECONDS;
  const specs = [];
  for (const name of SCENARIOS) {
    if (name === 'whoami') specs.push({ name, kind: 'whoami', method: 'GET', path: '/v1/auth/whoami', connections: CONNECTIONS });
    if (name === 'single') specs.push({ name, kind: 'single', method: 'POST', path: '/v1/referrals', connections: CONNECTIONS });
    if (name === 'batch') specs.push({ name, kind: 'batch', method: 'POST', path: '/v1/referrals/batch', connections: CONNECTIONS });
    if (name === 'batch-low' && BATCH_LOW_CONNECTIONS > 0) {
      specs.push({ name: `batch@${BATCH_LOW_CONNECTIONS}`, kind: 'batch', method: 'POST', path: '/v1/referrals/batch', connections: BATCH_LOW_CONNECTIONS });
    }
  }

  const port = await freePort();
  const t = performance.now();
  const { base } = await startApi(port, specs);
  log(`API ready on ${base} in ${Math.round(performance.now() - t)} ms (pid ${state.api.pid})`);
  const token = mintToken(port);
  log('token minted with the CLI (role referral-service, uzovi 3311)');

  const results = [];
  let expectedRows = 0;
  for (const spec of specs) {
    // Bodies are made per scenario (before its clock starts) so memory holds one set at a time.
    const g0 = performance.now();
    if (spec.kind === 'single') spec.bodies = singleBodies(MAX_SINGLE_RPS * phaseSeconds + 2 * spec.connections);
    else if (spec.kind === 'batch') {
      // Plus two per connection: each warm-up and each measured phase may start one last request.
      spec.bodies = batchBodies(MAX_BATCH_RPS * phaseSeconds + 2 * spec.connections, BATCH_SIZE);
    } else spec.bodies = null;
    if (spec.bodies) {
      const mb = spec.bodies.reduce((n, b) => n + b.length, 0) / 2 ** 20;
      log(`  ${spec.name}: ${spec.bodies.length} bodies pre-generated (${mb.toFixed(0)} MiB) in ${Math.round(performance.now() - g0)} ms`);
    }
    const result = await runScenario(base, token, spec);
    if (state.apiDied) throw new Error(`${state.apiDied} during ${spec.name}`);
    if (CPU_PROF) {
      result.cpuProfile = path.relative(ROOT, await takeProfile());
    }
    if (spec.kind !== 'whoami') {
      expectedRows += result.referralsCreated + (result.warmup?.created ?? 0);
      const rows = await referralRows();
      const jobs = await queuedJobs();
      result.rowCheck = { rows, expected: expectedRows, ok: rows === expectedRows, queuedJobs: jobs, queueOk: jobs === rows };
    }
    results.push(result);
    if (global.gc) global.gc();
  }

  // Verdicts
  const verdicts = [];
  const single = results.find((r) => r.scenario === 'single');
  const batch = results.find((r) => r.scenario === 'batch');
  if (single) {
    verdicts.push({
      target: `single: ≥ ${TARGETS.singleReferralsPerSec} referrals/s at ${CONNECTIONS} connections`,
      measured: single.referralsPerSec,
      pass: single.referralsPerSec >= TARGETS.singleReferralsPerSec && single.connections >= 32,
    });
  }
  if (batch) {
    verdicts.push({
      target: `batch: ≥ ${TARGETS.batchReferralsPerSec} referrals/s at ${CONNECTIONS} connections`,
      measured: batch.referralsPerSec,
      pass: batch.referralsPerSec >= TARGETS.batchReferralsPerSec && batch.connections >= 32,
    });
  }
  const checks = [];
  for (const r of results) {
    checks.push({ check: `${r.scenario}: no non-2xx responses or network errors`, pass: r.non2xx === 0 && r.networkErrors === 0 });
    if (r.warmup) {
      const wNon2xx = Object.entries(r.warmup.statuses).reduce((n, [s, c]) => (Number(s) < 300 ? n : n + c), 0);
      checks.push({ check: `${r.scenario}: warm-up had no non-2xx responses or network errors`, pass: wNon2xx === 0 && r.warmup.networkErrors === 0 });
    }
    if (r.messagesPerRequest)
      checks.push({ check: `${r.scenario}: every message answered created (no duplicates or refusals)`, pass: r.duplicates === 0 && r.otherOutcomes === 0 });
    if (r.rowCheck) {
      checks.push({ check: `${r.scenario}: rows in referral (${r.rowCheck.rows}) = referrals created so far (${r.rowCheck.expected})`, pass: r.rowCheck.ok });
      checks.push({ check: `${r.scenario}: referrals in queued evaluation jobs (${r.rowCheck.queuedJobs}) = rows`, pass: r.rowCheck.queueOk });
    }
    if (r.cpu.otherProcessesTotalPct >= QUIET_PCT) {
      checks.push({
        check: `${r.scenario}: machine quiet while measuring (other processes used ${r.cpu.otherProcessesTotalPct}% of a core: ${r.cpu.otherProcesses.map((o) => `${o.name} ${o.pct}%`).join(', ')}; figures understate)`,
        pass: false,
        warningOnly: true,
      });
    }
    if (r.bodiesExhausted) checks.push({ check: `${r.scenario}: pre-generated bodies lasted the whole run (raise BENCH_MAX_*_RPS)`, pass: false, warningOnly: true });
  }

  log('');
  log(table(results));
  log('');
  for (const r of results) {
    const extra = [];
    if (r.cpu) {
      extra.push(`bench client cpu ${r.cpu.benchClientPct}% of a core`);
      if (r.cpu.otherProcesses.length) extra.push(`other processes ${r.cpu.otherProcesses.map((o) => `${o.name} ${o.pct}%`).join(', ')}`);
      const mc = r.cpu.machine;
      if (mc) extra.push(`machine (both cores = 100%): user ${mc.userPct}%, system ${mc.systemPct}%, irq ${mc.irqPct}%, iowait ${mc.iowaitPct}%, steal ${mc.stealPct}%`);
    }
    if (r.warmup) extra.push(`warm-up ${r.warmup.requests} requests`);
    if (r.rowCheck) extra.push(`rows ${r.rowCheck.rows}, referrals in queued jobs ${r.rowCheck.queuedJobs}`);
    if (r.bodiesExhausted) extra.push('BODIES RAN OUT before the duration');
    log(`  ${r.scenario}: ${extra.join('; ')}`);
    for (const s of r.errorSamples) log(`    sample error: ${s}`);
  }
  log('');
  for (const c of checks) log(`  ${c.pass ? 'ok  ' : c.warningOnly ? 'WARN' : 'FAIL'}  ${c.check}`);
  for (const v of verdicts) log(`  ${v.pass ? 'PASS' : 'FAIL'}  ${v.target}: measured ${v.measured}`);
  log(`  API log lines at warn or above: ${apiOutput.warnOrWorse}`);
  if (apiOutput.warnOrWorse) for (const l of apiOutput.lines.slice(-5)) log(`    ${l}`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `intake-${STAMP}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        benchmark: 'referral intake',
        command: 'npm run bench:intake',
        machine: m,
        settings: {
          seconds: SECONDS,
          warmupSeconds: WARMUP_SECONDS,
          connections: CONNECTIONS,
          batchSize: BATCH_SIZE,
          batchLowConnections: BATCH_LOW_CONNECTIONS,
          databasePoolSize: process.env.DATABASE_POOL_SIZE ?? '10 (default)',
          nodeOptions: process.env.NODE_OPTIONS ?? null,
          workerRunning: false,
          cpuProfiling: CPU_PROF,
        },
        targets: TARGETS,
        results,
        checks,
        verdicts,
        apiWarnLines: apiOutput.warnOrWorse,
        markdown: markdownTable(results),
      },
      null,
      2,
    ) + '\n',
  );
  log(`\nresults written to ${path.relative(ROOT, file)}`);

  const checksOk = checks.every((c) => c.pass || c.warningOnly);
  const targetsOk = verdicts.every((v) => v.pass);
  return checksOk ? (targetsOk ? 0 : 3) : 1;
}

main()
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  })
  .catch(async (e) => {
    console.error(`\nbench:intake failed: ${e.stack ?? e.message}`);
    if (apiOutput.lines.length) console.error(`last API output:\n${apiOutput.lines.slice(-10).join('\n')}`);
    await cleanup();
    process.exit(1);
  });
