#!/usr/bin/env node
/**
 * TTP linkage benchmark: `npm run build && npm run bench:ttp-linkage`.
 *
 * A database of its own with the synthetic national registry (500 providers by default, with
 * their declared waiting times), the built API and worker as child processes, and a generated
 * national set of BENCH_ENTRIES snapshot entries (default 1,000,000) with ~20 % of the people on
 * several lists, uploaded by every provider through the API. Then BENCH_RUNS linkage runs (default
 * 3), each started as an operator would (POST /v1/ttp/runs) and timed until the worker has stored
 * all outputs: the insurer report, the feedback, the cleaned waiting times. Between runs one
 * provider re-sends its snapshot, so every run links afresh instead of pointing at the previous
 * one. Each run's counts are checked against the generator's ground truth.
 * Target: a full run ≤ 15 s. Exit 0 met, 1 failure, 2 not built, 3 missed.
 */
'use strict';

const { spawn } = require('node:child_process');
const { existsSync, readFileSync } = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const DIST = {
  api: path.join(ROOT, 'dist/apps/api/src/main.js'),
  worker: path.join(ROOT, 'dist/apps/worker/src/main.js'),
  core: path.join(ROOT, 'dist/libs/core/src/index.js'),
  ttp: path.join(ROOT, 'dist/libs/ttp/src/index.js'),
  waitlists: path.join(ROOT, 'dist/libs/waitlists/src/index.js'),
};
if (!Object.values(DIST).every(existsSync)) {
  console.error('bench:ttp-linkage needs a build: run `npm run build` first.');
  process.exit(2);
}
const { Client } = require('pg');
const { amsterdamDate } = require(DIST.core);
const { planSnapshots, snapshotCsv, groundTruth } = require(DIST.ttp);
const { generateDemoRegistry, loadDemoRegistry } = require(DIST.waitlists);

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 1_000_000);
const PROVIDERS = Number(process.env.BENCH_PROVIDERS ?? 500);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TARGET_SECONDS = 15;
const PG = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const STAMP = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').toLowerCase();
const DB_NAME = `ggz_bench_link_${STAMP}`;
const dbUrl = (name) => `${PG.replace(/\/+$/, '')}/${name}`;
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

function env(extra = {}) {
  const e = { ...process.env };
  delete e.NODE_ENV;
  return {
    ...e,
    DATABASE_URL: dbUrl(DB_NAME),
    QUEUE_PREFIX: `bench_link_${STAMP}`,
    LOG_LEVEL: 'warn',
    MIGRATIONS_RUN: 'true',
    TTP_LINKAGE_CRON: 'off',
    DAILY_REEVALUATION: 'false',
    ...extra,
  };
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

const { loadConfig, TokenService } = require(path.join(ROOT, 'dist/libs/platform/src/index.js'));
const config = () => loadConfig(env());
const mint = (claims) => new TokenService(config().jwt).mint(claims);

async function call(port, method, p, tok, body, type = 'application/json') {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { method, headers: { authorization: `Bearer ${tok}`, ...(body ? { 'content-type': type } : {}) }, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function main() {
  const today = amsterdamDate(new Date());
  await withPg('postgres', (c) => c.query(`CREATE DATABASE "${DB_NAME}"`));
  dbCreated = true;
  const port = await freePort();
  children.push(spawn(process.execPath, [DIST.api], { cwd: ROOT, env: env({ PORT: String(port), HOST: '127.0.0.1' }), stdio: 'ignore' }));
  for (let t = Date.now(); ;) {
    if (
      await fetch(`http://127.0.0.1:${port}/health/live`)
        .then((r) => r.ok)
        .catch(() => false)
    )
      break;
    if (Date.now() - t > 60_000) throw new Error('the API did not start');
    await sleep(200);
  }
  await sleep(1000); // migrations run at start
  children.push(spawn(process.execPath, [DIST.worker], { cwd: ROOT, env: env(), stdio: 'ignore' }));

  const registry = generateDemoRegistry({ today, providers: PROVIDERS });
  await withPg(DB_NAME, (c) => loadDemoRegistry({ query: async (sql, params) => (await c.query(sql, params)).rows }, registry));
  const stage1Key = config().ttp.stage1Key;
  let t = performance.now();
  const plan = planSnapshots({ today, locations: registry.locations, entries: ENTRIES, providers: PROVIDERS, dupRate: 0.2, repeatRate: 0.01, stage1Key });
  const truth = groundTruth(plan);
  const several = truth.national.distinctPeople - truth.national.peopleOn['1'];
  console.log(
    `generated ${ENTRIES.toLocaleString('en')} entries at ${plan.providers.length} providers: ${truth.national.distinctPeople.toLocaleString('en')} people, ` +
      `${several.toLocaleString('en')} on several lists (${((100 * several) / truth.national.distinctPeople).toFixed(1)} %), in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  t = performance.now();
  const queue = [...plan.providers.keys()];
  const tokens = new Map(plan.providers.map((p) => [p.agb, mint({ role: 'provider', agb: p.agb })]));
  const send = async (i) => {
    const p = plan.providers[i];
    const res = await call(port, 'POST', '/v1/ttp/snapshots', tokens.get(p.agb), snapshotCsv(plan, i), 'text/csv');
    if (res.status !== 201) throw new Error(`upload ${p.agb}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  };
  await Promise.all(
    [1, 2].map(async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) await send(i);
    }),
  );
  console.log(`uploaded by ${plan.providers.length} providers in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const operator = mint({ role: 'ttp-operator', subject: 'bench' });
  const results = [];
  for (let r = 0; r < RUNS; r++) {
    if (r > 0) await send(plan.providers.length - 1); // new inputs: the run links afresh
    const start = performance.now();
    const res = await call(port, 'POST', '/v1/ttp/runs', operator);
    if (res.status !== 202) throw new Error(`run ${r + 1}: ${res.status} ${JSON.stringify(res.body)}`);
    let run;
    for (;;) {
      run = (await call(port, 'GET', `/v1/ttp/runs/${res.body.id}`, operator)).body;
      if (run.status === 'done' || run.status === 'failed') break;
      await sleep(50);
    }
    const seconds = (performance.now() - start) / 1000;
    if (run.status !== 'done') throw new Error(`run ${r + 1} failed: ${run.error}`);
    const c = run.counts;
    if (c.entries !== ENTRIES || c.distinctPeople !== truth.national.distinctPeople || c.peopleOnSeveralLists !== several) {
      throw new Error(`run ${r + 1} counts differ from the ground truth: ${JSON.stringify(c)}`);
    }
    results.push(seconds);
    console.log(
      `run ${r + 1}: ${seconds.toFixed(2)} s from request to stored outputs; in the worker ${JSON.stringify(run.timings)}; ${c.feedbackEntries.toLocaleString('en')} feedback entries, ${c.cleanedCells} cleaned cells (${c.flaggedCells} flagged)`,
    );
  }
  const [report, waits] = await Promise.all([
    call(port, 'GET', '/v1/ttp/report', mint({ role: 'mediation-lead', uzovi: ['3311'] })),
    call(port, 'GET', '/v1/ttp/cleaned-waits', mint({ role: 'mediation-lead', uzovi: ['3311'] })),
  ]);
  if (report.status !== 200 || waits.status !== 200) throw new Error(`outputs: ${report.status} / ${waits.status}`);
  const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${children[1].pid}/status`, 'utf8'));
  console.log(`worker peak memory: ${peak ? Math.round(Number(peak[1]) / 1024) : '?'} MB`);
  const cpu = os.cpus();
  const worst = Math.max(...results);
  console.log(`report: ${report.body.providers.length} providers, ${report.body.regions.length} regions; cleaned waits: ${waits.body.cells.length} cells`);
  console.log(`machine: ${cpu[0]?.model}, ${cpu.length} cores, Node ${process.version}, ${new Date().toISOString()}`);
  console.log(
    `\n| measure | result | target |\n|---|---|---|\n| full linkage run, ${ENTRIES.toLocaleString('en')} entries / ${plan.providers.length} providers (slowest of ${RUNS}) | ${worst.toFixed(2)} s | ≤ ${TARGET_SECONDS} s |`,
  );
  return worst <= TARGET_SECONDS ? 0 : 3;
}

let code = 1;
main()
  .then((c) => (code = c))
  .catch((e) => console.error(`bench:ttp-linkage failed: ${e.stack ?? e.message}${e.cause ? ` (${e.cause.message ?? e.cause})` : ''}`))
  .finally(async () => {
    for (const child of children) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
    if (dbCreated && process.env.BENCH_KEEP_DB) console.log(`kept database ${DB_NAME} (BENCH_KEEP_DB)`);
    else if (dbCreated) await withPg('postgres', (c) => c.query(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`)).catch(() => undefined);
    process.exit(code);
  });
