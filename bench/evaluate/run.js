#!/usr/bin/env node
/**
 * Evaluation benchmark: `npm run build && npm run bench:evaluate`.
 *
 * Against a database and Redis prefix of its own, with the synthetic national demo registry
 * (400 providers) loaded, it measures two things through the real, built processes:
 *
 *   throughput   100,000 pending referrals (spread over the registry's providers, diagnosis groups
 *                and the four big insurers, referred 0–8 weeks ago) are enqueued the way the
 *                service does (jobs of EVALUATION_BATCH_SIZE ids); the clock runs from the first
 *                enqueue until no referral is pending. Target ≥ 2,000 evaluations/s.
 *   re-evaluate  10,000 open referrals to one provider and diagnosis group, evaluated; then the
 *                provider publishes new figures through the API (POST /v1/providers/:agb/wait-times);
 *                the clock runs from that request until all 10,000 carry a new evaluation.
 *                Target ≤ 10 s.
 *
 * Referral rows are written straight to the table with placeholder ciphertext (the evaluation
 * never reads the BSN): what is measured is the evaluation, not intake.
 *
 * Environment (all optional): BENCH_REFERRALS=100000, BENCH_REEVALUATE=10000, BENCH_PROVIDERS=400,
 * BENCH_PG_URL=postgres://postgres@127.0.0.1:5432, BENCH_REDIS_URL=redis://127.0.0.1:6379, and
 * WORKER_CONCURRENCY, EVALUATION_BATCH_SIZE, DATABASE_POOL_SIZE passed through to the worker.
 *
 * Exit codes: 0 targets met; 1 a check failed or the bench failed; 2 not built; 3 a target missed.
 */
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const { existsSync, mkdirSync, writeFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const DIST = {
  api: path.join(ROOT, 'dist/apps/api/src/main.js'),
  worker: path.join(ROOT, 'dist/apps/worker/src/main.js'),
  cli: path.join(ROOT, 'dist/apps/cli/src/main.js'),
  core: path.join(ROOT, 'dist/libs/core/src/index.js'),
  registry: path.join(ROOT, 'dist/libs/waitlists/src/demo-registry.js'),
};
const missing = Object.values(DIST).filter((p) => !existsSync(p));
if (missing.length) {
  console.error(`bench:evaluate needs a build; missing: ${missing.map((p) => path.relative(ROOT, p)).join(', ')}. Run \`npm run build\` first.`);
  process.exit(2);
}

const { Client } = require('pg');
const IORedis = require('ioredis');
const { Queue } = require('bullmq');
const { amsterdamDate } = require(DIST.core);
const { generateDemoRegistry, loadDemoRegistry } = require(DIST.registry);

const int = (name, fallback) => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number`);
  return n;
};
const REFERRALS = int('BENCH_REFERRALS', 100_000);
const REEVALUATE = int('BENCH_REEVALUATE', 10_000);
const PROVIDERS = int('BENCH_PROVIDERS', 400);
const BATCH = int('EVALUATION_BATCH_SIZE', 200);
const TARGET_RATE = 2000;
const TARGET_REEVALUATE_S = 10;

const PG = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const STAMP = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
const DB_NAME = `ggz_bench_eval_${STAMP.toLowerCase()}`;
const QUEUE_PREFIX = `bench_eval_${STAMP}`;
const dbUrl = (name) => `${PG.replace(/\/+$/, '')}/${name}`;
const log = (...a) => console.log(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const children = [];
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
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
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

function env(extra = {}) {
  const e = { ...process.env };
  delete e.NODE_ENV;
  // The registry is loaded straight into the tables; its catch-up would re-evaluate everything once: off.
  return {
    ...e,
    DATABASE_URL: dbUrl(DB_NAME),
    REDIS_URL,
    QUEUE_PREFIX,
    LOG_LEVEL: 'warn',
    MIGRATIONS_RUN: 'true',
    DAILY_REEVALUATION: 'false',
    EVALUATION_CATCH_UP_SECONDS: '0',
    ...extra,
  };
}

function start(file, extra) {
  const child = spawn(process.execPath, [file], { cwd: ROOT, env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = [];
  const keep = (b) => {
    tail.push(...b.toString().split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 30));
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.tail = tail;
  children.push(child);
  return child;
}

async function machine() {
  const pgVersion = await withPg('postgres', async (c) => (await c.query('SELECT version() AS v')).rows[0].v);
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres: pgVersion,
    date: new Date().toISOString(),
    commit: sh('git', ['rev-parse', '--short', 'HEAD']) + (sh('git', ['status', '--porcelain', '--untracked-files=no']) ? ' (+ uncommitted changes)' : ''),
  };
}

/** Inserts `n` pending referrals for the given (agb, group, uzovi) picks; returns their ids. */
async function insertReferrals(c, picks, today, tag) {
  const ids = [];
  for (let i = 0; i < picks.length; i += 10_000) {
    const part = picks.slice(i, i + 10_000);
    const res = await c.query(
      `INSERT INTO referral (uzovi, message_id, content_fingerprint, bsn_ciphertext, bsn_key_id, bsn_blind_index, verwijsdatum,
         klachtenprofiel, agb, consent_id, consent_given_at, consent_scope, consent_channel, sender)
       SELECT p.uzovi, $5 || '-' || p.n, md5($5 || p.n) || md5(p.n || $5), decode(md5(p.n::text), 'hex'), 'bench',
              md5('bi' || $5 || p.n) || md5(p.n || 'bi'), $4::date - p.days, p.grp, p.agb, 'c-' || p.n, now(), 'zorgbemiddeling', 'bench', 'bench'
         FROM unnest($1::text[], $2::text[], $3::text[], $6::int[], $7::int[]) AS p(agb, grp, uzovi, n, days)
       RETURNING id`,
      [part.map((p) => p.agb), part.map((p) => p.group), part.map((p) => p.uzovi), today, tag, part.map((_, k) => i + k), part.map((p) => p.days)],
    );
    ids.push(...res.rows.map((r) => r.id));
  }
  return ids;
}

async function enqueue(queue, ids, round) {
  const jobs = [];
  for (let i = 0; i < ids.length; i += BATCH) {
    const part = ids.slice(i, i + BATCH);
    const jobId = `b-${createHash('sha256')
      .update(`${round}|${part.join(',')}`)
      .digest('hex')
      .slice(0, 40)}`;
    jobs.push({ name: 'evaluate-referrals', data: { referralIds: part }, opts: { jobId, attempts: 5, removeOnComplete: true, removeOnFail: true } });
  }
  for (let i = 0; i < jobs.length; i += 500) await queue.addBulk(jobs.slice(i, i + 500));
}

async function waitUntil(c, sql, params, timeoutS, label) {
  const end = Date.now() + timeoutS * 1000;
  for (;;) {
    if ((await c.query(sql, params)).rows[0].done) return;
    if (Date.now() > end) throw new Error(`${label}: not done within ${timeoutS} s`);
    for (const ch of children) if (ch.exitCode !== null) throw new Error(`a child process exited:\n${ch.tail.join('\n')}`);
    await sleep(100);
  }
}

async function main() {
  const today = amsterdamDate(new Date());
  await withPg('postgres', (c) => c.query(`CREATE DATABASE "${DB_NAME}"`));
  dbCreated = true;
  const port = await freePort();
  start(DIST.api, { PORT: String(port), HOST: '127.0.0.1' });
  const base = `http://127.0.0.1:${port}`;
  for (let t = Date.now(); ;) {
    const ok = await fetch(`${base}/health/ready`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) break;
    if (Date.now() - t > 60_000) throw new Error(`the API did not become ready:\n${children[0].tail.join('\n')}`);
    await sleep(200);
  }

  const c = new Client({ connectionString: dbUrl(DB_NAME) });
  await c.connect();
  const registry = generateDemoRegistry({ today, providers: PROVIDERS, seed: 1 });
  const loaded = await loadDemoRegistry({ query: async (s, p) => (await c.query(s, p)).rows }, registry);
  log(`registry: ${loaded.providers} providers, ${loaded.locations} locations, ${loaded.contracts} contracts, ${loaded.waits} waiting-time rows`);

  // Throughput: referrals spread over every (provider, group) the registry has, and four insurers.
  const pairs = [];
  for (const l of registry.locations) for (const g of l.diagnosisGroups) pairs.push({ agb: l.agb, group: g });
  const insurers = ['3311', '7095', '7119', '3332'];
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const picks = Array.from({ length: REFERRALS }, () => ({ ...pairs[Math.floor(rnd() * pairs.length)], uzovi: insurers[Math.floor(rnd() * 4)], days: Math.floor(rnd() * 57) }));
  const ids = await insertReferrals(c, picks, today, 'tp');
  await c.query('VACUUM ANALYZE');
  log(`inserted ${ids.length} pending referrals`);

  const workerEnv = { SWEEPER_DELAY_SECONDS: '86400', SWEEPER_INTERVAL_SECONDS: '3600' };
  start(DIST.worker, workerEnv);
  await sleep(1500); // let the worker connect before the clock starts
  const queue = new Queue('evaluate-referral', { connection: new IORedis(REDIS_URL, { maxRetriesPerRequest: null }), prefix: QUEUE_PREFIX });

  const t0 = performance.now();
  await enqueue(queue, ids, 'tp');
  const enqueuedMs = performance.now() - t0;
  await waitUntil(c, `SELECT NOT EXISTS (SELECT 1 FROM referral WHERE status = 'pending') AS done`, [], 600, 'throughput');
  const seconds = (performance.now() - t0) / 1000;
  const rate = ids.length / seconds;
  const check = (
    await c.query(`SELECT (SELECT count(*)::int FROM referral_evaluation) AS evaluations, (SELECT count(*)::int FROM mediation_task) AS tasks,
                          (SELECT json_object_agg(verdict, n) FROM (SELECT verdict, count(*)::int AS n FROM referral GROUP BY 1) v) AS verdicts`)
  ).rows[0];
  if (check.evaluations !== ids.length) throw new Error(`expected ${ids.length} evaluations, found ${check.evaluations}`);
  log(
    `throughput: ${ids.length} evaluated in ${seconds.toFixed(1)} s = ${Math.round(rate)} evaluations/s (enqueue took ${Math.round(enqueuedMs)} ms); tasks ${check.tasks}; verdicts ${JSON.stringify(check.verdicts)}`,
  );

  // Re-evaluation: 10,000 open referrals to the provider and group with the most locations.
  const byPair = new Map();
  for (const l of registry.locations) for (const g of l.diagnosisGroups) byPair.set(`${l.agb}|${g}`, [...(byPair.get(`${l.agb}|${g}`) ?? []), l.code]);
  const [key, codes] = [...byPair.entries()].sort((a, b) => b[1].length - a[1].length)[0];
  const [agb, group] = key.split('|');
  const reIds = await insertReferrals(
    c,
    Array.from({ length: REEVALUATE }, (_, k) => ({ agb, group, uzovi: insurers[k % 4], days: k % 20 })),
    today,
    're',
  );
  await enqueue(queue, reIds, 're');
  await waitUntil(c, `SELECT NOT EXISTS (SELECT 1 FROM referral WHERE status = 'pending') AS done`, [], 300, 'first evaluation of the re-evaluation set');
  const token = execFileSync(process.execPath, [DIST.cli, 'token', '--role', 'provider', '--agb', agb], { cwd: ROOT, env: env(), encoding: 'utf8' }).trim();
  const month = today.slice(0, 7);
  const r0 = performance.now();
  const res = await fetch(`${base}/v1/providers/${agb}/wait-times`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ month, figures: codes.map((code) => ({ location: code, diagnosisGroup: group, aanmeldWeeks: 9.5, behandelWeeks: 4 })) }),
  });
  const receipt = await res.json();
  const postMs = performance.now() - r0;
  if (res.status !== 201) throw new Error(`publishing figures answered ${res.status}: ${JSON.stringify(receipt)}`);
  await waitUntil(
    c,
    `SELECT (SELECT count(DISTINCT referral_id) FROM referral_evaluation WHERE trigger = 'wait-times') >= $1
        AND NOT EXISTS (SELECT 1 FROM referral WHERE status = 'pending') AS done`,
    [reIds.length],
    300,
    're-evaluation',
  );
  const reSeconds = (performance.now() - r0) / 1000;
  log(
    `re-evaluate: provider ${agb} (${codes.length} locations, ${group}): ${receipt.reevaluating} open referrals re-evaluated in ${reSeconds.toFixed(2)} s (the POST itself ${Math.round(postMs)} ms)`,
  );

  await queue.close();
  await c.end();
  const m = await machine();
  const result = {
    machine: m,
    settings: { referrals: REFERRALS, reevaluate: REEVALUATE, providers: PROVIDERS, batch: BATCH, workerConcurrency: process.env.WORKER_CONCURRENCY ?? '10 (default)' },
    throughput: { referrals: ids.length, seconds: Number(seconds.toFixed(2)), perSecond: Math.round(rate), target: TARGET_RATE, tasks: check.tasks, verdicts: check.verdicts },
    reevaluate: { referrals: receipt.reevaluating, seconds: Number(reSeconds.toFixed(2)), postMs: Math.round(postMs), target: TARGET_REEVALUATE_S },
  };
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(path.join(ROOT, `bench/results/evaluate-${STAMP}.json`), JSON.stringify(result, null, 2));
  log(`\nmachine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}\n${m.postgres}\ncommit ${m.commit}, ${m.date}`);
  log(`\n| measure | result | target |\n|---|---|---|`);
  log(
    `| evaluations/s through the queue (${ids.length.toLocaleString('en')} pending) | ${result.throughput.perSecond.toLocaleString('en')} | ≥ ${TARGET_RATE.toLocaleString('en')} |`,
  );
  log(`| re-evaluate ${receipt.reevaluating.toLocaleString('en')} open referrals after new figures | ${result.reevaluate.seconds} s | ≤ ${TARGET_REEVALUATE_S} s |`);
  return rate >= TARGET_RATE && reSeconds <= TARGET_REEVALUATE_S ? 0 : 3;
}

let code = 1;
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));
main()
  .then((c) => (code = c))
  .catch((e) => console.error(`bench:evaluate failed: ${e.stack ?? e.message}`))
  .finally(() => cleanup().then(() => process.exit(code)));
