#!/usr/bin/env node
/**
 * Mediation report benchmark: `npm run build && node bench/report/run.js`.
 *
 * A database of its own, the built API as a child process, and a year of national data written
 * straight to the tables:
 *
 *   registry     BENCH_PROVIDERS providers (one location, two diagnosis groups each); 80% publish
 *                figures every month, the rest never;
 *   referrals    BENCH_REFERRALS over the last 12 months, over 10 insurers (the largest with 30%),
 *                2% to AGB codes not in the registry; verdicts 35% above, 55% within, 10% no-data;
 *   evaluations  BENCH_EVALUATIONS per referral on average (the intake one plus re-evaluations, as
 *                the daily run stores them), each with an explanation of realistic size (~1.3 kB);
 *   tasks        one per above-norm referral; 80% closed (half of them accepted alternatives with
 *                their expected weeks), 85% with a first contact 0–9 days after creation;
 *   TTP          one finished linkage run per month with cleaned-wait cells for every provider.
 *
 * Then GET /v1/reports/mediation for the default 12 months, BENCH_REPEAT times each, for the
 * largest insurer's mediation lead and for an admin (national), JSON and CSV; latency from
 * request to the last byte. Target: p50 ≤ 1 s for the national report.
 *
 * Environment (optional): BENCH_REFERRALS=240000, BENCH_EVALUATIONS=3, BENCH_PROVIDERS=500,
 * BENCH_REPEAT=5, BENCH_PG_URL, BENCH_REDIS_URL; BENCH_KEEP=1 keeps the database afterwards (to look
 * at query plans), BENCH_DB=<name> reuses such a kept database instead of seeding a new one.
 * Exit codes: 0 target met; 1 failure; 2 not built; 3 target missed.
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
  console.error('bench/report needs a build: run `npm run build` first.');
  process.exit(2);
}
const { Client } = require('pg');

const int = (name, fallback) => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number`);
  return n;
};
const REFERRALS = int('BENCH_REFERRALS', 240_000);
const EVALUATIONS = int('BENCH_EVALUATIONS', 3);
const PROVIDERS = int('BENCH_PROVIDERS', 500);
const REPEAT = int('BENCH_REPEAT', 5);
// The largest insurer first: 30%, then the others.
const INSURERS = ['3311', '7095', '7119', '3332', '3343', '3335', '0101', '3353', '3358', '3361'];
const WEIGHTS = [30, 20, 15, 10, 7, 6, 4, 3, 3, 2];

const PG = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const STAMP = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
const DB_NAME = process.env.BENCH_DB ?? `ggz_bench_report_${STAMP.toLowerCase()}`;
const KEEP = process.env.BENCH_KEEP === '1' || process.env.BENCH_DB !== undefined;
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
  if (KEEP) console.log(`database kept: ${DB_NAME}`);
  else if (dbCreated) await withPg('postgres', (c) => c.query(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`)).catch((e) => console.error(`cleanup: ${e.message}`));
}

function env(extra = {}) {
  const e = { ...process.env };
  delete e.NODE_ENV;
  return { ...e, DATABASE_URL: dbUrl(DB_NAME), REDIS_URL, QUEUE_PREFIX: `bench_report_${STAMP}`, LOG_LEVEL: 'warn', MIGRATIONS_RUN: 'true', ...extra };
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
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, min: +s[0].toFixed(1), p50: +pct(s, 0.5).toFixed(1), max: +s.at(-1).toFixed(1) };
};

async function seed(c) {
  const t0 = performance.now();
  // Registry: providers 73000000 + i, one location each treating depressie and angst.
  await c.query(`INSERT INTO provider (agb, name) SELECT '73' || lpad(i::text, 6, '0'), 'Bench ' || i FROM generate_series(1, $1) i`, [PROVIDERS]);
  await c.query(
    `INSERT INTO provider_location (agb, code, name, postcode, municipality, region, diagnosis_groups)
     SELECT agb, 'a', name || ' a', '3511AB', 'Utrecht', 'utrecht', '{depressie,angst}' FROM provider`,
  );
  // 80% publish every month of the year (submitted on the 3rd of the month after).
  await c.query(
    `INSERT INTO wait_time (location_id, diagnosis_group, month, aanmeld_weeks, behandel_weeks, submitted_at, submitted_by)
     SELECT l.id, g, date_trunc('month', now() - make_interval(months => m))::date, 2 + (abs(hashtext(l.id::text || g)) % 80) / 10.0,
            4 + (abs(hashtext(g || l.id::text)) % 120) / 10.0, date_trunc('month', now() - make_interval(months => m)) + interval '1 month 2 days', 'bench'
       FROM provider_location l, unnest('{depressie,angst}'::text[]) g, generate_series(0, 12) m
      WHERE abs(hashtext(l.agb)) % 10 < 8`,
  );
  log(`registry: ${PROVIDERS} providers with figures for 80% (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  // Referrals over the last 365 days; insurer by weight; 2% to unknown AGB codes.
  let t = performance.now();
  const cumulative = WEIGHTS.map((_, i) => WEIGHTS.slice(0, i + 1).reduce((a, b) => a + b, 0));
  await c.query(
    `INSERT INTO referral (uzovi, message_id, content_fingerprint, bsn_ciphertext, bsn_key_id, bsn_blind_index, verwijsdatum, klachtenprofiel, agb,
       consent_id, consent_given_at, consent_scope, consent_channel, sender, status, verdict, received_at, evaluated_at, status_changed_at)
     SELECT ins.uzovi, 'r-' || n, md5('f' || n) || md5(n || 'f'), '\\x00'::bytea, 'bench', md5('b' || n) || md5(n || 'b'),
            (at - interval '2 days')::date, CASE WHEN n % 3 = 0 THEN 'angst' ELSE 'depressie' END,
            CASE WHEN n % 50 = 0 THEN '79' || lpad((n % 997)::text, 6, '0') ELSE '73' || lpad((1 + n % $2)::text, 6, '0') END,
            'c-' || n, at, 'zorgbemiddeling', 'bench', 'bench', 'evaluated',
            CASE WHEN n % 50 = 0 OR n % 10 = 1 THEN 'no-data' WHEN n % 20 < 7 THEN 'above-norm' ELSE 'within-norm' END, at, at, at
       FROM generate_series(1, $1) n
       CROSS JOIN LATERAL (SELECT now() - make_interval(secs => (abs(hashtext('t' || n)) % 31536000)) AS at) ts
       CROSS JOIN LATERAL (SELECT ($3::text[])[1 + (SELECT count(*) FROM unnest($4::int[]) w WHERE w <= abs(hashtext('u' || n)) % 100)] AS uzovi) ins`,
    [REFERRALS, PROVIDERS, INSURERS, cumulative],
  );
  log(`referrals: ${REFERRALS.toLocaleString('en')} (${((performance.now() - t) / 1000).toFixed(1)} s)`);

  // Evaluations: the intake one, then on average EVALUATIONS - 1 re-evaluations a day apart.
  t = performance.now();
  await c.query(
    `INSERT INTO referral_evaluation (referral_id, evaluated_at, evaluation_date, trigger, verdict, phase, norm_set_id, explanation)
     SELECT r.id, r.received_at + make_interval(days => k), (r.received_at + make_interval(days => k))::date, CASE WHEN k = 0 THEN 'intake' ELSE 'daily' END,
            r.verdict, 'phase-1', NULL,
            jsonb_build_object(
              'referralDate', r.verwijsdatum, 'evaluationDate', (r.received_at + make_interval(days => k))::date, 'diagnosisGroup', r.klachtenprofiel, 'agb', r.agb,
              'normSet', jsonb_build_object('id', gen_random_uuid(), 'name', 'Treeknorm GGZ', 'sector', 'ggz', 'validFrom', '2000-01-01', 'validUntil', null,
                                            'maxWeeks', jsonb_build_object('aanmelding', 4, 'behandeling', 10, 'totaal', 14)),
              'policy', jsonb_build_object('phase1From', '2026-01-01', 'phase2From', null, 'version', 1),
              'figuresFrom', '2026-01-01',
              'waits', CASE WHEN r.verdict = 'no-data' THEN '[]'::jsonb ELSE jsonb_build_array(
                         jsonb_build_object('locationId', gen_random_uuid(), 'month', '2026-10', 'aanmeldWeeks', 6.5, 'behandelWeeks', 11),
                         jsonb_build_object('locationId', gen_random_uuid(), 'month', '2026-10', 'aanmeldWeeks', 7, 'behandelWeeks', 12.5)) END,
              'measured', null,
              'result', CASE WHEN r.verdict = 'no-data' THEN jsonb_build_object('verdict', 'no-data', 'accruedWeeks', 0.3, 'stages', '[]'::jsonb, 'aboveNormStages', '[]'::jsonb, 'maxExceedanceWeeks', 0)
                        ELSE jsonb_build_object('verdict', r.verdict, 'accruedWeeks', 0.3,
                          'stages', (SELECT jsonb_agg(jsonb_build_object('stage', s, 'expectedWeeks', 12, 'normWeeks', 10, 'exceedsByWeeks', 2, 'locationId', gen_random_uuid()))
                                       FROM unnest('{aanmelding,behandeling,totaal}'::text[]) s),
                          'aboveNormStages', CASE WHEN r.verdict = 'above-norm' THEN (CASE (abs(hashtext(r.id::text)) % 3) WHEN 0 THEN '["aanmelding","totaal"]' WHEN 1 THEN '["behandeling"]' ELSE '["aanmelding","behandeling","totaal"]' END)::jsonb ELSE '[]'::jsonb END,
                          'maxExceedanceWeeks', 2) END,
              'mediation', CASE WHEN r.verdict = 'above-norm' THEN 'task-created' ELSE 'not-offered' END, 'alternatives', 3)
       FROM referral r CROSS JOIN LATERAL generate_series(0, (abs(hashtext('e' || r.id::text)) % (2 * $1 - 1))) k`,
    [EVALUATIONS],
  );
  const [{ n: evaluations, size }] = (await c.query(`SELECT count(*)::int AS n, pg_size_pretty(pg_total_relation_size('referral_evaluation')) AS size FROM referral_evaluation`))
    .rows;
  log(`evaluations: ${evaluations.toLocaleString('en')}, ${size} (${((performance.now() - t) / 1000).toFixed(1)} s)`);

  // Tasks for the above-norm referrals: outcomes, first contacts, accepted alternatives; five
  // ranked alternatives each, as the evaluation stores them (they make the rows wide).
  t = performance.now();
  const alternatives = JSON.stringify(
    Array.from({ length: 5 }, (_, i) => ({
      rank: i + 1,
      locationId: '00000000-0000-4000-8000-00000000000' + i,
      agb: '7300000' + i,
      providerName: `Bench provider ${i}`,
      locationName: `Bench provider ${i} a`,
      region: 'utrecht',
      municipality: 'Utrecht',
      aanmeldWeeks: 3,
      behandelWeeks: 6,
      totalWeeks: 9,
      month: '2026-10',
      withinNorm: true,
      sameRegion: true,
      reason: 'within the Treeknorm (aanmelding 3 wk ≤ 4, behandeling 6 wk ≤ 10, totaal 9 wk ≤ 14); same region (Utrecht)',
    })),
  );
  await c.query(
    `INSERT INTO mediation_task (referral_id, uzovi, status, priority, alternatives, created_at, created_by_evaluation_id, due_date, assignee,
       first_contact_at, contact_attempts, outcome, outcome_details, closed_at, referred_weeks)
     SELECT r.id, r.uzovi, CASE WHEN o.outcome IS NULL THEN 'open' ELSE 'closed' END, 3, $1::jsonb, r.received_at + interval '1 minute', gen_random_uuid(),
            (r.received_at + interval '3 days')::date, NULL,
            CASE WHEN h % 100 < 85 THEN r.received_at + make_interval(days => h % 10, hours => 2) END, CASE WHEN h % 100 < 85 THEN 1 ELSE 0 END,
            o.outcome, CASE WHEN o.outcome = 'accepted-alternative' THEN jsonb_build_object('locationId', gen_random_uuid(), 'expectedWeeks', 6 + h % 6) END,
            CASE WHEN o.outcome IS NOT NULL THEN r.received_at + make_interval(days => 10 + h % 10) END, 17.5
       FROM referral r
       CROSS JOIN LATERAL (SELECT abs(hashtext('k' || r.id::text)) AS h) hh
       CROSS JOIN LATERAL (SELECT CASE WHEN h % 10 >= 8 THEN NULL ELSE ('{accepted-alternative,accepted-alternative,accepted-alternative,accepted-alternative,prefers-to-wait,already-in-care,unreachable,declined}'::text[])[1 + h % 8] END AS outcome) o
      WHERE r.verdict = 'above-norm'`,
    [alternatives],
  );
  const [{ n: tasks }] = (await c.query(`SELECT count(*)::int AS n FROM mediation_task`)).rows;
  log(`tasks: ${tasks.toLocaleString('en')} (${((performance.now() - t) / 1000).toFixed(1)} s)`);

  // The TTP: a finished run at the end of each month, with a cell per provider and group.
  t = performance.now();
  await c.query(
    `INSERT INTO ttp.run (trigger, requested_by, status, requested_at, started_at, finished_at, key_version, as_of, inputs_key, counts)
     SELECT 'nightly', 'bench', 'done', e, e, e, 1, e::date, md5('run' || m) || md5(m || 'run'), '{}'
       FROM generate_series(0, 12) m CROSS JOIN LATERAL (SELECT date_trunc('month', now() - make_interval(months => m)) + interval '27 days' AS e) x
      WHERE e < now()`,
  );
  await c.query(
    `INSERT INTO ttp.run_cleaned_wait (run_id, agb, location, diagnosis_group, entries, waiting_intake, waiting_treatment, left_out, flagged)
     SELECT run.id, l.agb, l.code, g, 20, 12, 8, 0, abs(hashtext(run.id::text || l.agb || g)) % 7 = 0
       FROM ttp.run run, provider_location l, unnest('{depressie,angst}'::text[]) g`,
  );
  log(`ttp: runs and cleaned-wait cells (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  t = performance.now();
  await c.query('VACUUM ANALYZE');
  log(`vacuum analyze (${((performance.now() - t) / 1000).toFixed(1)} s); seeding took ${((performance.now() - t0) / 1000).toFixed(0)} s in all`);
}

async function timed(base, auth, query = '') {
  const t = performance.now();
  const res = await fetch(`${base}/v1/reports/mediation${query}`, { headers: { authorization: auth } });
  const body = await res.text();
  const ms = performance.now() - t;
  if (res.status !== 200) throw new Error(`report ${query}: ${res.status} ${body.slice(0, 300)}`);
  return { ms, body };
}

async function main() {
  if (!process.env.BENCH_DB) {
    await withPg('postgres', (c) => c.query(`CREATE DATABASE "${DB_NAME}"`));
    dbCreated = true;
  }
  const port = await freePort();
  api = spawn(process.execPath, [DIST.api], { cwd: ROOT, env: env({ PORT: String(port), HOST: '127.0.0.1' }), stdio: ['ignore', 'pipe', 'pipe'] });
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
  if (!process.env.BENCH_DB) await withPg(DB_NAME, seed);

  const leadAuth = `Bearer ${tokenFor(['--role', 'mediation-lead', '--uzovi', INSURERS[0], '--subject', 'bench-lead'])}`;
  const adminAuth = `Bearer ${tokenFor(['--role', 'admin', '--subject', 'bench-admin'])}`;
  const results = {};
  for (const [name, auth, query] of [
    ['insurer (30%), JSON', leadAuth, ''],
    ['insurer (30%), CSV', leadAuth, '?format=csv'],
    ['national, JSON', adminAuth, ''],
    ['national, CSV', adminAuth, '?format=csv'],
  ]) {
    const first = await timed(base, auth, query);
    const runs = [];
    for (let i = 0; i < REPEAT; i++) runs.push((await timed(base, auth, query)).ms);
    results[name] = { firstMs: +first.ms.toFixed(1), ...stats(runs), bytes: first.body.length };
    log(`${name}: first ${first.ms.toFixed(0)} ms, then ${JSON.stringify(stats(runs))} ms; ${first.body.length.toLocaleString('en')} bytes`);
  }
  const sample = JSON.parse((await timed(base, adminAuth)).body).months.at(-2);
  log(
    `a national month: ${JSON.stringify({ month: sample.month, referrals: sample.referrals, tasks: sample.tasks.created, firstContact: sample.firstContact, weeksSaved: sample.weeksSaved, providers: sample.providers, accuracy: sample.accuracy })}`,
  );

  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    load: os.loadavg().map((l) => +l.toFixed(2)),
    node: process.version,
    postgres: await withPg('postgres', async (k) => (await k.query('SELECT version() AS v')).rows[0].v),
    date: new Date().toISOString(),
  };
  const out = { machine, settings: { referrals: REFERRALS, evaluationsPerReferral: EVALUATIONS, providers: PROVIDERS, repeat: REPEAT }, results };
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(path.join(ROOT, `bench/results/report-${STAMP}.json`), JSON.stringify(out, null, 2));
  log(`\nmachine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, load ${machine.load.join(' ')}, Node ${machine.node}\n${machine.postgres}\n${machine.date}`);
  log(`\n| report (12 months) | first | p50 of ${REPEAT} | target |\n|---|---|---|---|`);
  for (const [name, r] of Object.entries(results)) log(`| ${name} | ${r.firstMs} ms | ${r.p50} ms | ${name.startsWith('national') ? '≤ 1,000 ms' : ''} |`);
  return results['national, JSON'].p50 <= 1000 ? 0 : 3;
}

let code = 1;
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));
main()
  .then((c) => (code = c))
  .catch((e) => console.error(`bench/report failed: ${e.stack ?? e.message}`))
  .finally(() => cleanup().then(() => process.exit(code)));
