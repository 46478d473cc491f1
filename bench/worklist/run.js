#!/usr/bin/env node
/**
 * Worklist benchmark: `npm run build && npm run bench:worklist`.
 *
 * A database and Redis prefix of its own, the built API as a child process, and 100,000 open
 * tasks across 10 insurers (written straight to the tables: referrals with placeholder ciphertext,
 * tasks with priorities 1–5 and due dates over the coming two weeks). Then, over HTTP:
 *
 *   burst    50 claimers (5 per insurer, each its own mediator) call POST /v1/worklist/claim-next
 *            as fast as they can for BENCH_SECONDS; claims/s and latency. Target ≥ 2,000 claims/s.
 *   steady   claims at a fixed 500/s (open loop: requests are sent on schedule whatever the
 *            answers do) for BENCH_SECONDS; latency percentiles. Target p99 ≤ 25 ms.
 *   pages    first, a mediation lead walks GET /v1/worklist/tasks?limit=50 by cursor through one
 *            insurer's 10,000 tasks (200 pages); latency of the first pages and of the deepest ones.
 *
 * Afterwards it checks that no task was claimed twice (claimed events = tasks in progress).
 *
 * Environment (optional): BENCH_TASKS=100000, BENCH_SECONDS=15, BENCH_CLAIMERS=50,
 * BENCH_STEADY_RATE=500, BENCH_PAGES=200, BENCH_PG_URL, BENCH_REDIS_URL; DATABASE_POOL_SIZE is
 * passed to the API.
 * Exit codes: 0 targets met; 1 failure; 2 not built; 3 a target missed.
 */
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const { existsSync, mkdirSync, writeFileSync } = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const DIST = { api: path.join(ROOT, 'dist/apps/api/src/main.js'), cli: path.join(ROOT, 'dist/apps/cli/src/main.js') };
if (!Object.values(DIST).every(existsSync)) {
  console.error('bench:worklist needs a build: run `npm run build` first.');
  process.exit(2);
}
const { Client } = require('pg');
const IORedis = require('ioredis');
const { Pool } = require('undici');

const int = (name, fallback) => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number`);
  return n;
};
const TASKS = int('BENCH_TASKS', 100_000);
const SECONDS = int('BENCH_SECONDS', 15);
const CLAIMERS = int('BENCH_CLAIMERS', 50);
const RATE = int('BENCH_STEADY_RATE', 500);
const PAGES = int('BENCH_PAGES', 200);
const INSURERS = ['3311', '7095', '7119', '3332', '3343', '3335', '0101', '3353', '3358', '3361'];

const PG = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const STAMP = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
const DB_NAME = `ggz_bench_worklist_${STAMP.toLowerCase()}`;
const QUEUE_PREFIX = `bench_worklist_${STAMP}`;
const dbUrl = (name) => `${PG.replace(/\/+$/, '')}/${name}`;
const log = (...a) => console.log(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let api = null;
let dbCreated = false;

async function withPg(database, fn) {
  const c = new Client({ connectionString: dbUrl(database) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function cleanup() {
  if (api && api.exitCode === null) {
    api.kill('SIGTERM');
    await new Promise((r) => api.once('exit', r));
  }
  if (dbCreated) await withPg('postgres', (c) => c.query(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`)).catch((e) => console.error(`cleanup: ${e.message}`));
  const r = new IORedis(REDIS_URL, { maxRetriesPerRequest: 1 });
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${QUEUE_PREFIX}:*`, 'COUNT', 5000);
    if (keys.length) await r.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  r.disconnect();
}

function env(extra = {}) {
  const e = { ...process.env };
  delete e.NODE_ENV;
  return { ...e, DATABASE_URL: dbUrl(DB_NAME), REDIS_URL, QUEUE_PREFIX, LOG_LEVEL: 'warn', MIGRATIONS_RUN: 'true', ...extra };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const tokenFor = (args) => execFileSync(process.execPath, [DIST.cli, 'token', ...args], { cwd: ROOT, env: env(), encoding: 'utf8' }).trim();

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const stats = (lat) => {
  const s = [...lat].sort((a, b) => a - b);
  return { n: s.length, p50: +pct(s, 50).toFixed(2), p90: +pct(s, 90).toFixed(2), p99: +pct(s, 99).toFixed(2), max: +s.at(-1).toFixed(2) };
};

/** CPU seconds used so far by a process (user + system), from /proc; null where there is no /proc. */
function cpuSeconds(pid) {
  try {
    const f = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
function machineBusySeconds() {
  try {
    const [user, nice, system, , , irq, softirq, steal] = require('node:fs').readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + (steal || 0)) / 100;
  } catch {
    return null;
  }
}

async function claim(pool, auth) {
  const t = performance.now();
  const res = await pool.request({ path: '/v1/worklist/claim-next', method: 'POST', headers: { authorization: auth } });
  await res.body.text();
  return { status: res.statusCode, ms: performance.now() - t };
}

async function main() {
  await withPg('postgres', (c) => c.query(`CREATE DATABASE "${DB_NAME}"`));
  dbCreated = true;
  const port = await freePort();
  api = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), DIST.api], {
    cwd: ROOT,
    env: env({ PORT: String(port), HOST: '127.0.0.1' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = [];
  for (const s of [api.stdout, api.stderr]) s.on('data', (b) => tail.push(...b.toString().split('\n').filter(Boolean).slice(-20)));
  const base = `http://127.0.0.1:${port}`;
  for (let t = Date.now(); ;) {
    if (
      await fetch(`${base}/health/ready`)
        .then((r) => r.status === 200)
        .catch(() => false)
    )
      break;
    if (Date.now() - t > 60_000) throw new Error(`the API did not become ready:\n${tail.slice(-20).join('\n')}`);
    await sleep(200);
  }

  const c = new Client({ connectionString: dbUrl(DB_NAME) });
  await c.connect();
  const t0 = performance.now();
  // Real sealed (synthetic) BSNs under the API's key: claims write access-log entries, which
  // name the person by an index computed from the BSN.
  const { BsnVault, loadConfig } = require(path.join(ROOT, 'dist/libs/platform/src/index.js'));
  const { syntheticBsn } = require(path.join(ROOT, 'dist/libs/core/src/index.js'));
  const vault = new BsnVault(loadConfig(env()).bsn);
  const sealed = Array.from({ length: TASKS }, (_, i) => {
    const bsn = syntheticBsn(20_000_000 + i * 11);
    const s = vault.seal(bsn);
    return [s.ciphertext.toString('hex'), s.keyId, vault.blindIndex(bsn)];
  });
  await c.query(
    `INSERT INTO referral (uzovi, message_id, content_fingerprint, bsn_ciphertext, bsn_key_id, bsn_blind_index, verwijsdatum,
       klachtenprofiel, agb, consent_id, consent_given_at, consent_scope, consent_channel, sender, status, verdict, judged_generation)
     SELECT ($1::text[])[1 + n % 10], 'w-' || n, md5('f' || n) || md5(n || 'f'), decode(s.ct, 'hex'), s.key_id, s.bidx,
            current_date - (n % 30), 'depressie', '73' || lpad((n % 400)::text, 6, '0'), 'c-' || n, now(), 'zorgbemiddeling', 'bench', 'bench', 'evaluated', 'above-norm', 1
       FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS s(ct, key_id, bidx, o), LATERAL (SELECT o::int AS n) AS i`,
    [INSURERS, sealed.map((x) => x[0]), sealed.map((x) => x[1]), sealed.map((x) => x[2])],
  );
  await c.query(
    `INSERT INTO mediation_task (referral_id, uzovi, priority, alternatives, created_by_evaluation_id, due_date, created_at)
     SELECT id, uzovi, 1 + abs(hashtext(id::text)) % 5, '[]', gen_random_uuid(), current_date + abs(hashtext(id::text) / 7) % 15, now() - (random() * interval '10 days')
       FROM referral`,
  );
  await c.query('VACUUM ANALYZE');
  log(`${TASKS.toLocaleString('en')} open tasks across ${INSURERS.length} insurers written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const tokens = Array.from({ length: CLAIMERS }, (_, i) => `Bearer ${tokenFor(['--role', 'mediator', '--uzovi', INSURERS[i % INSURERS.length], '--subject', `bench-${i}`])}`);
  const pool = new Pool(base, { connections: CLAIMERS, pipelining: 1 });
  // Pages: walk one insurer's whole queue (10,000 tasks) by cursor, before any claim.
  const pageAuth = `Bearer ${tokenFor(['--role', 'mediation-lead', '--uzovi', INSURERS[0], '--subject', 'bench-lead'])}`;
  const pages = [];
  let cursor = null;
  for (let i = 0; i < PAGES; i++) {
    const t = performance.now();
    const res = await pool.request({ path: `/v1/worklist/tasks?limit=50${cursor ? `&cursor=${cursor}` : ''}`, method: 'GET', headers: { authorization: pageAuth } });
    const body = await res.body.json();
    pages.push(performance.now() - t);
    if (res.statusCode !== 200) throw new Error(`page ${i + 1}: ${res.statusCode} ${JSON.stringify(body)}`);
    cursor = body.nextCursor;
    if (!cursor) break;
  }
  const firstPages = stats(pages.slice(0, 20));
  const deepPages = stats(pages.slice(-20));
  log(`pages: ${pages.length} pages of 50; first 20 ${JSON.stringify(firstPages)}; last 20 (from task ${(pages.length - 20) * 50}) ${JSON.stringify(deepPages)}`);
  // Warm-up: a few claims per claimer (counted in the double-claim check, not in the figures).
  await Promise.all(
    tokens.map(async (a) => {
      for (let i = 0; i < 5; i++) await claim(pool, a);
    }),
  );

  // Burst: every claimer as fast as it can.
  const burst = [];
  let burstErrors = 0;
  const bStart = performance.now();
  const bEnd = bStart + SECONDS * 1000;
  const cpu0 = cpuSeconds(api.pid);
  const machine0 = machineBusySeconds();
  const self0 = process.cpuUsage();
  await Promise.all(
    tokens.map(async (a) => {
      while (performance.now() < bEnd) {
        const r = await claim(pool, a);
        if (r.status === 200) burst.push(r.ms);
        else burstErrors++;
      }
    }),
  );
  const burstSeconds = (performance.now() - bStart) / 1000;
  const burstRate = burst.length / burstSeconds;
  const apiCpu = cpu0 === null ? null : +((cpuSeconds(api.pid) - cpu0) / burstSeconds).toFixed(2);
  const machineCores = machine0 === null ? null : +((machineBusySeconds() - machine0) / burstSeconds).toFixed(2);
  const selfUsage = process.cpuUsage(self0);
  const clientCores = +((selfUsage.user + selfUsage.system) / 1e6 / burstSeconds).toFixed(2);
  log(
    `burst: cores busy — machine ${machineCores} of ${os.cpus().length}, API ${apiCpu}, this load generator ${clientCores}, the rest (Postgres, Redis, OS) ${(machineCores - apiCpu - clientCores).toFixed(2)}`,
  );
  log(`burst: ${burst.length} claims in ${SECONDS} s = ${Math.round(burstRate)} claims/s, ${burstErrors} non-200; latency ${JSON.stringify(stats(burst))}`);

  // Steady: open loop at RATE/s.
  const steady = [];
  let steadyErrors = 0;
  const pending = [];
  const sStart = performance.now();
  const total = RATE * SECONDS;
  for (let i = 0; i < total; i++) {
    const due = sStart + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(
      claim(pool, tokens[i % tokens.length]).then((r) => {
        // Latency from the scheduled send time, so a stalled server shows up (no coordinated omission).
        if (r.status === 200) steady.push(performance.now() - due);
        else steadyErrors++;
      }),
    );
  }
  await Promise.all(pending);
  const steadyStats = stats(steady);
  log(`steady ${RATE}/s: ${steady.length} claims, ${steadyErrors} non-200; latency ${JSON.stringify(steadyStats)}`);

  await pool.close();

  const check = (
    await c.query(
      `SELECT (SELECT count(*)::int FROM mediation_task WHERE status = 'in-progress') AS claimed,
              (SELECT count(*)::int FROM task_event WHERE type = 'claimed') AS events,
              (SELECT count(*)::int FROM (SELECT task_id FROM task_event WHERE type = 'claimed' GROUP BY 1 HAVING count(*) > 1) d) AS doubles`,
    )
  ).rows[0];
  await c.end();
  if (check.doubles !== 0 || check.claimed !== check.events) throw new Error(`double claims: ${JSON.stringify(check)}`);
  log(`check: ${check.claimed} tasks claimed, ${check.events} claim events, no task claimed twice`);

  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: await withPg('postgres', async (k) => (await k.query('SELECT version() AS v')).rows[0].v),
    date: new Date().toISOString(),
    commit: (() => {
      try {
        const h = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
        const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim();
        return h + (dirty ? ' (+ uncommitted changes)' : '');
      } catch {
        return 'unknown';
      }
    })(),
  };
  const result = {
    machine,
    settings: { tasks: TASKS, seconds: SECONDS, claimers: CLAIMERS, steadyRate: RATE, pages: PAGES },
    burst: {
      claims: burst.length,
      perSecond: Math.round(burstRate),
      errors: burstErrors,
      latencyMs: stats(burst),
      cores: { machine: machineCores, api: apiCpu, loadGenerator: clientCores },
    },
    steady: { claims: steady.length, errors: steadyErrors, latencyMs: steadyStats },
    pages: { walked: pages.length, firstMs: firstPages, deepestMs: deepPages },
    check,
  };
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(path.join(ROOT, `bench/results/worklist-${STAMP}.json`), JSON.stringify(result, null, 2));
  log(`\nmachine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}\n${machine.postgres}\ncommit ${machine.commit}, ${machine.date}`);
  log(`\n| measure | result | target |\n|---|---|---|`);
  log(`| claim-next, ${CLAIMERS} claimers flat out | ${Math.round(burstRate).toLocaleString('en')} claims/s (p99 ${result.burst.latencyMs.p99} ms) | ≥ 2,000 claims/s |`);
  log(`| claim-next at a steady ${RATE}/s | p50 ${steadyStats.p50} ms, p99 ${steadyStats.p99} ms | p99 ≤ 25 ms |`);
  log(
    `| list page (50) by cursor, pages 1–20 / ${pages.length - 19}–${pages.length} | p50 ${firstPages.p50} / ${deepPages.p50} ms, p99 ${firstPages.p99} / ${deepPages.p99} ms | |`,
  );
  return burstRate >= 2000 && steadyStats.p99 <= 25 && burstErrors === 0 && steadyErrors === 0 ? 0 : 3;
}

let code = 1;
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));
main()
  .then((c) => (code = c))
  .catch((e) => console.error(`bench:worklist failed: ${e.stack ?? e.message}`))
  .finally(() => cleanup().then(() => process.exit(code)));
