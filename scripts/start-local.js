#!/usr/bin/env node
/**
 * The newcomer's command (`npm start`): builds if needed, creates the local database, starts
 * the API and the worker on local defaults, loads synthetic demo referrals through the real
 * intake path, and prints where to look. Ctrl-C stops both processes gracefully.
 */
const { spawn, execFileSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const node = process.execPath;
const cli = join(root, 'dist/apps/cli/src/main.js');
const port = process.env.PORT || '3000';
const base = `http://127.0.0.1:${port}`;

execFileSync(node, [join(__dirname, 'ensure-built.js')], { stdio: 'inherit', cwd: root });
execFileSync(node, [cli, 'db:create'], { stdio: 'inherit', cwd: root });
// The owner (DATABASE_URL) migrates; the API and the worker then run as the least-privilege roles
// the migrations made, as in production (docs/SECURITY.md, "Database roles").
execFileSync(node, [cli, 'migration:run'], { stdio: 'inherit', cwd: root });
const ownerUrl = require(join(root, 'dist/libs/platform/src/index.js')).loadConfig(process.env).databaseUrl;
/** DATABASE_URL as `role`, with its password from GGZ_<ROLE>_DB_PASSWORD if set (local trust authentication needs none). */
function asRole(role) {
  const u = new URL(ownerUrl);
  u.username = role;
  u.password = process.env[`${role.toUpperCase()}_DB_PASSWORD`] || '';
  return u.toString();
}
const roleEnv = {
  api: { DATABASE_URL: asRole('ggz_api'), MIGRATIONS_RUN: 'false' },
  worker: { DATABASE_URL: asRole('ggz_worker'), RETENTION_DATABASE_URL: asRole('ggz_retention'), MIGRATIONS_RUN: 'false' },
};

const children = [];
function start(name, file) {
  const child = spawn(node, [join(root, file)], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...roleEnv[name] } });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal || code}); stopping`);
      stop(code || 1);
    }
  });
  children.push(child);
  return child;
}

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

async function waitReady(timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const res = await fetch(`${base}/health/ready`);
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the API did not become ready at ${base} within ${timeoutMs / 1000} s`);
}

/**
 * Synthetic waiting-list snapshots of 60 demo providers (6,000 entries, a fifth of the people on
 * several lists), uploaded as each provider would, and a linkage run started as the TTP operator.
 * Same day, same snapshots; uploading them again only replaces them.
 */
let ttpAgb = '';
async function seedTtp() {
  const { amsterdamDate } = require(join(root, 'dist/libs/core/src/index.js'));
  const { loadConfig, TokenService } = require(join(root, 'dist/libs/platform/src/index.js'));
  const { planSnapshots, snapshotCsv } = require(join(root, 'dist/libs/ttp/src/index.js'));
  const { generateDemoRegistry } = require(join(root, 'dist/libs/waitlists/src/index.js'));
  const config = loadConfig(process.env);
  const tokens = new TokenService(config.jwt);
  const today = amsterdamDate(new Date());
  const registry = generateDemoRegistry({ today, providers: 400 });
  const plan = planSnapshots({ today, locations: registry.locations, entries: 6000, providers: 60, dupRate: 0.2, stage1Key: config.ttp.stage1Key });
  for (const [i, p] of plan.providers.entries()) {
    const res = await fetch(`${base}/v1/ttp/snapshots`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.mint({ role: 'provider', agb: p.agb })}`, 'content-type': 'text/csv' },
      body: snapshotCsv(plan, i),
    });
    if (res.status !== 201) throw new Error(`snapshot of ${p.agb}: ${res.status} ${(await res.text()).slice(0, 200)}`);
  }
  ttpAgb = plan.providers[0].agb;
  const operator = { authorization: `Bearer ${tokens.mint({ role: 'ttp-operator', subject: 'demo' })}` };
  const started = await fetch(`${base}/v1/ttp/runs`, { method: 'POST', headers: operator });
  if (started.status >= 300) throw new Error(`linkage run: ${started.status}`);
  let run = await started.json();
  // The worker links them; a same-day re-start gets the earlier run back at once (sameAs).
  for (const end = Date.now() + 120_000; (run.status === 'queued' || run.status === 'running') && Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 500));
    run = await (await fetch(`${base}/v1/ttp/runs/${run.id}`, { headers: operator })).json();
  }
  const sent = `${plan.providers.length} providers sent ${plan.entries.toLocaleString('en')} waiting-list entries`;
  if (run.status !== 'done') return `${sent}; the linkage run is ${run.status}${run.error ? ` (${run.error})` : ''}`;
  const c = run.counts;
  return `${sent}; linkage run ${run.status}: ${c.distinctPeople.toLocaleString('en')} distinct people, ${c.peopleOnSeveralLists.toLocaleString('en')} of them on more than one list, ${c.flaggedCells} cells whose declared wait differs from the measured one`;
}

/** Waits until the worker has evaluated every demo referral (at most a minute); returns the worklist counts per insurer. */
async function worklistCounts(uzovis, tok) {
  const { Client } = require('pg');
  const { loadConfig } = require(join(root, 'dist/libs/platform/src/index.js'));
  const db = new Client({ connectionString: loadConfig(process.env).databaseUrl });
  await db.connect();
  try {
    for (const end = Date.now() + 60_000; Date.now() < end;) {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM referral WHERE status = 'pending' AND message_id LIKE 'demo-%'`);
      if (rows[0].n === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await db.end();
  }
  const lines = [];
  for (const uzovi of uzovis) {
    const res = await fetch(`${base}/v1/worklist/counts`, { headers: { authorization: `Bearer ${tok(['--role', 'mediation-lead', '--uzovi', uzovi])}` } });
    const c = await res.json();
    lines.push(
      `   insurer ${uzovi}: ${c.byStatus.open} open (${c.unassignedOpen} unassigned), ${c.byStatus['in-progress']} in progress, ${c.byStatus.closed} closed, ${c.overdue} overdue`,
    );
  }
  return lines.join('\n');
}

(async () => {
  start('api', 'dist/apps/api/src/main.js');
  await waitReady();
  start('worker', 'dist/apps/worker/src/main.js');
  const seeded = execFileSync(node, [cli, 'seed:demo'], { cwd: root, encoding: 'utf8' });
  process.stdout.write(seeded);
  const example = /example referral for insurer 3311: (\S+)/.exec(seeded)?.[1];
  const ttp = await seedTtp().catch((e) => `(the TTP demo could not be loaded: ${e.message})`);
  const tok = (args) => execFileSync(node, [cli, 'token', ...args], { cwd: root, encoding: 'utf8' }).trim();
  const counts = await worklistCounts(['3311', '7095', '7119', '3332'], tok).catch((e) => `   (the worklist counts could not be read: ${e.message})`);
  const mediator = tok(['--role', 'mediator', '--uzovi', '3311', '--subject', 'demo-mediator']);
  console.log(`
────────────────────────────────────────────────────────────────────────
 GGZ wachttijd-bemiddeling is running on local defaults
   API            ${base}
   API docs       ${base}/docs   (OpenAPI JSON at ${base}/docs-json)
   readiness      ${base}/health/ready
 Demo data: a synthetic national registry (400 providers with locations in all
 31 regions, contracts, waiting times) and a week of synthetic referrals (240)
 for insurers 3311, 7095, 7119 and 3332; the worker evaluated them against the
 Treeknorm and gave those above it a mediation task with alternatives:
${counts}

 A mediator token for insurer 3311 (valid 8 hours):
   export TOKEN=${mediator}
   curl -s -H "Authorization: Bearer $TOKEN" ${base}/v1/auth/whoami
   curl -s -H "Authorization: Bearer $TOKEN" ${base}/v1/referrals/${example}
   curl -s -H "Authorization: Bearer $TOKEN" ${base}/v1/referrals/${example}/evaluations
   curl -s -H "Authorization: Bearer $TOKEN" "${base}/v1/providers?region=utrecht&diagnosisGroup=angst"
 The worklist:
   curl -s -H "Authorization: Bearer $TOKEN" ${base}/v1/worklist/counts
   curl -s -H "Authorization: Bearer $TOKEN" -X POST ${base}/v1/worklist/claim-next

 The TTP: ${ttp}
   export OP=$(npm run -s token -- --role ttp-operator)
   curl -s -H "Authorization: Bearer $OP" ${base}/v1/ttp/runs
   curl -s -H "Authorization: Bearer $TOKEN" ${base}/v1/ttp/report          (add ?format=csv)
   curl -s -H "Authorization: Bearer $TOKEN" "${base}/v1/ttp/cleaned-waits?diagnosisGroup=angst"
   export PROV=$(npm run -s token -- --role provider --agb ${ttpAgb})
   curl -s -H "Authorization: Bearer $PROV" ${base}/v1/ttp/feedback

 The evaluation report (per month; national with an admin token):
   export LEAD=$(npm run -s token -- --role mediation-lead --uzovi 3311)
   curl -s -H "Authorization: Bearer $LEAD" ${base}/v1/reports/mediation      (add ?format=csv)
 Operations (admin):
   export ADMIN=$(npm run -s token -- --role admin)
   curl -s -H "Authorization: Bearer $ADMIN" ${base}/metrics      (the worker's: http://127.0.0.1:9464/metrics)
   queue dashboard: ${base}/admin/queues   (sign in with $ADMIN)

 Send a referral as JSON (README, "A walk through the API") or as FHIR (docs/FHIR.md):
   export RS=$(npm run -s token -- --role referral-service --uzovi 3311)
 Providers script uploads with the provider tool: npm run cli -- --help
 Ctrl-C stops the API and the worker.
────────────────────────────────────────────────────────────────────────
`);
})().catch((e) => {
  console.error(e.message);
  stop(1);
});
