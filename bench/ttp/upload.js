#!/usr/bin/env node
/**
 * TTP snapshot upload benchmark: `npm run build && npm run bench:ttp-upload`.
 *
 * A database of its own, the built API as a child process, one provider with one location, and a
 * CSV of BENCH_ROWS entries (default 1,000,000; synthetic BSNs, so every row goes through both
 * pseudonymisation stages) written to a temporary file first. It uploads the file twice (the
 * second replaces the first, deleting its entries in the same transaction) as a stream over HTTP
 * and reports rows/s per upload and the API's peak resident memory (VmHWM).
 * Targets: ≥ 60,000 rows/s, peak memory ≤ 300 MB. Exit 0 met, 1 failure, 2 not built, 3 missed.
 */
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const { createReadStream, createWriteStream, existsSync, readFileSync, rmSync, statSync } = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const DIST = { api: path.join(ROOT, 'dist/apps/api/src/main.js'), cli: path.join(ROOT, 'dist/apps/cli/src/main.js'), core: path.join(ROOT, 'dist/libs/core/src/index.js') };
if (!Object.values(DIST).every(existsSync)) {
  console.error('bench:ttp-upload needs a build: run `npm run build` first.');
  process.exit(2);
}
const { Client } = require('pg');
const { syntheticBsn } = require(DIST.core);

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const PG = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const STAMP = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').toLowerCase();
const DB_NAME = `ggz_bench_ttp_${STAMP}`;
const FILE = path.join(os.tmpdir(), `ggz-bench-snapshot-${STAMP}.csv`);
const dbUrl = (name) => `${PG.replace(/\/+$/, '')}/${name}`;
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

function env(extra = {}) {
  const e = { ...process.env };
  delete e.NODE_ENV;
  return { ...e, DATABASE_URL: dbUrl(DB_NAME), QUEUE_PREFIX: `bench_ttp_${STAMP}`, LOG_LEVEL: 'warn', MIGRATIONS_RUN: 'true', ...extra };
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

function peakMemoryMb(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : null;
}

function upload(port, token) {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/ttp/snapshots',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv', 'content-length': statSync(FILE).size },
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(body), seconds: (performance.now() - t) / 1000 }));
      },
    );
    req.on('error', reject);
    createReadStream(FILE).pipe(req);
  });
}

async function main() {
  // The file first, so its writing is not measured.
  await new Promise((resolve, reject) => {
    const out = createWriteStream(FILE);
    out.on('error', reject);
    out.on('finish', resolve);
    out.write('clientRef,bsn,prePseudonym,location,diagnosisGroup,registeredOn,intakeOn,stage,waitsForThisProvider\n');
    let s = '';
    for (let i = 0; i < ROWS; i++) {
      const treated = i % 3 === 0;
      s += `K${i.toString(36).padStart(6, '0')},${syntheticBsn(10_000_000 + i * 37)},,a,depressie,2026-09-01,${treated ? '2026-10-01' : ''},${treated ? 'waiting-treatment' : 'waiting-intake'},${i % 7 === 0}\n`;
      if (s.length > 1 << 20) {
        out.write(s);
        s = '';
      }
    }
    out.end(s);
  });
  console.log(`${ROWS.toLocaleString('en')} rows, ${(statSync(FILE).size / 2 ** 20).toFixed(1)} MB of CSV`);

  await withPg('postgres', (c) => c.query(`CREATE DATABASE "${DB_NAME}"`));
  dbCreated = true;
  const port = await freePort();
  api = spawn(process.execPath, [DIST.api], { cwd: ROOT, env: env({ PORT: String(port), HOST: '127.0.0.1' }), stdio: 'ignore' });
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
  await sleep(1000); // migrations run at start; readiness would also need Redis
  await withPg(DB_NAME, async (c) => {
    await c.query(`INSERT INTO provider (agb, name) VALUES ('73770001', 'Bench')`);
    await c.query(
      `INSERT INTO provider_location (agb, code, name, postcode, municipality, region, diagnosis_groups) VALUES ('73770001', 'a', 'A', '3511AB', 'Utrecht', 'utrecht', '{depressie}')`,
    );
  });
  const token = execFileSync(process.execPath, [DIST.cli, 'token', '--role', 'provider', '--agb', '73770001'], { cwd: ROOT, env: env(), encoding: 'utf8' }).trim();
  const before = peakMemoryMb(api.pid);
  const results = [];
  for (let i = 0; i < 2; i++) {
    const r = await upload(port, token);
    if (r.status !== 201 || r.body.entries !== ROWS) throw new Error(`upload ${i + 1}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    results.push(r.seconds);
    console.log(`upload ${i + 1}${i ? ' (replacing the first)' : ''}: ${r.seconds.toFixed(1)} s = ${Math.round(ROWS / r.seconds).toLocaleString('en')} rows/s`);
  }
  const peak = peakMemoryMb(api.pid);
  const stored = await withPg(DB_NAME, async (c) => (await c.query('SELECT count(*)::int AS n FROM ttp.snapshot_entry')).rows[0].n);
  if (stored !== ROWS) throw new Error(`expected ${ROWS} entries in force, found ${stored}`);
  const rate = Math.round(ROWS / Math.max(...results));
  const cpu = os.cpus();
  console.log(`API memory: ${before} MB at start, peak ${peak} MB`);
  console.log(`machine: ${cpu[0]?.model}, ${cpu.length} cores, Node ${process.version}, ${new Date().toISOString()}`);
  console.log(
    `\n| measure | result | target |\n|---|---|---|\n| upload of ${ROWS.toLocaleString('en')} CSV rows (slowest of 2) | ${rate.toLocaleString('en')} rows/s | ≥ 60,000 rows/s |\n| API peak memory | ${peak} MB | ≤ 300 MB |`,
  );
  return rate >= 60_000 && peak <= 300 ? 0 : 3;
}

let code = 1;
main()
  .then((c) => (code = c))
  .catch((e) => console.error(`bench:ttp-upload failed: ${e.stack ?? e.message}`))
  .finally(async () => {
    if (api && api.exitCode === null) {
      api.kill('SIGTERM');
      await new Promise((r) => api.once('exit', r));
    }
    if (dbCreated) await withPg('postgres', (c) => c.query(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`)).catch(() => undefined);
    rmSync(FILE, { force: true });
    process.exit(code);
  });
