/**
 * The access log against someone who can rewrite its table (security review, item 2): the hash
 * chain alone cannot tell entries removed and the rest re-sealed from a log never touched, so the
 * worker signs the chain head with a key the database does not hold (AUDIT_CHECKPOINT_KEY), and
 * verification — GET /v1/audit/verify and `npm run audit:verify` — checks those checkpoints.
 * The tampering below is done as the superuser, who can switch the guard off: the one actor the
 * roles cannot stop, and so the one the checkpoints are for.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { AuditService, ensureDatabase } from '@app/platform';
import { http, RunningApi, startApi, startWorker, token, waitFor } from './support/harness';
import { replayThenDrop } from './support/replay';

const ROOT = join(__dirname, '..');
const url = (() => {
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.pathname = `${u.pathname}_ck${randomBytes(3).toString('hex')}`;
  return u.toString();
})();
let api: RunningApi;
let db: Client;
let audit: AuditService;
let key: Buffer;
let cliDir: string;
const auditor = () => token('auditor', { uzovi: ['8702'], subject: 'auditor-ck' });
const verifyRoute = async () => (await http(api.url, 'GET', '/v1/audit/verify', { token: auditor() })).body;

/** The operations CLI as built (`npm run audit:verify`), against this file's database as its owner. */
async function cliVerify(): Promise<{ code: number; out: string }> {
  const env = { PATH: process.env.PATH ?? '', NODE_PATH: join(ROOT, 'node_modules'), NODE_ENV: 'test', DATABASE_URL: url, LOG_LEVEL: 'error' };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(cliDir, 'dist/apps/cli/src/main.js'), 'audit:verify'], { cwd: ROOT, env });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

async function addEntries(n: number, actor = 'mediator-ck'): Promise<void> {
  await db.query(
    `INSERT INTO access_log (actor, actor_role, organisation, action, resource, purpose, outcome)
     SELECT $1, 'mediator', '8702', 'read', 'task/ck-' || g, 'zorgbemiddeling', 'allowed' FROM generate_series(1, $2) g`,
    [actor, n],
  );
  while ((await audit.seal()) > 0);
}

/** As the superuser: the guard off for the statements in `fn`. */
async function withoutGuard(table: 'access_log' | 'access_log_checkpoint', fn: () => Promise<unknown>): Promise<void> {
  const trigger = table === 'access_log' ? 'tr_access_log_append_only' : 'tr_access_log_checkpoint_append_only';
  await db.query(`ALTER TABLE ${table} DISABLE TRIGGER ${trigger}`);
  try {
    await fn();
  } finally {
    await db.query(`ALTER TABLE ${table} ENABLE TRIGGER ${trigger}`);
  }
}

beforeAll(async () => {
  // The built CLI, copied so a rebuild of the shared dist/ cannot pull files from under the test.
  execFileSync(process.execPath, [join(ROOT, 'scripts/ensure-built.js')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  cliDir = mkdtempSync(join(tmpdir(), 'ggz-cli-'));
  for (const d of ['apps/cli', 'libs', 'migrations']) cpSync(join(ROOT, 'dist', d), join(cliDir, 'dist', d), { recursive: true });
  if (!existsSync(join(cliDir, 'dist/apps/cli/src/main.js'))) throw new Error('the CLI was not built');
  await ensureDatabase(url);
  api = await startApi({ DATABASE_URL: url });
  audit = api.app.get(AuditService);
  key = api.config.audit.checkpointKey;
  db = new Client({ connectionString: url });
  await db.connect();
}, 300_000);

afterAll(async () => {
  await api?.close();
  await db?.end();
  await replayThenDrop(url);
  if (cliDir) rmSync(cliDir, { recursive: true, force: true });
});

it('the worker signs the chain head on start and then every AUDIT_CHECKPOINT_SECONDS, and logs each checkpoint', async () => {
  await addEntries(5);
  const worker = await startWorker({ DATABASE_URL: url, AUDIT_CHECKPOINT_SECONDS: '1' });
  try {
    await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM access_log_checkpoint`)).rows[0].n >= 3, 15_000);
  } finally {
    await worker.close();
  }
  const { rows } = await db.query(`SELECT seq::text AS seq, hash, prev_signature, signature FROM access_log_checkpoint ORDER BY id`);
  const [head] = (await db.query(`SELECT seq::text AS seq, hash FROM access_log ORDER BY seq DESC LIMIT 1`)).rows;
  expect(rows[rows.length - 1]).toMatchObject({ seq: head.seq, hash: head.hash });
  // Each links to the one before; the first to the genesis value.
  expect(rows[0].prev_signature).toBe('0'.repeat(64));
  for (let i = 1; i < rows.length; i++) expect(rows[i].prev_signature).toBe(rows[i - 1].signature);
  // The log holds a copy outside the database.
  const logged = worker.logs.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'access-log checkpoint');
  expect(logged.map((l) => l.signature)).toEqual(rows.map((r) => r.signature));
  expect(await verifyRoute()).toMatchObject({ intact: true, brokenAt: null, checkpointProblem: null, checkpoints: rows.length });
  expect(await cliVerify()).toEqual({ code: 0, out: expect.stringMatching(/access log intact: \d+ entries and \d+ signed checkpoints verified/) });
});

it('a checkpoint signed with another key is found; so is one removed from between the others', async () => {
  expect(await audit.verify({ checkpointKey: randomBytes(32) })).toMatchObject({ checkpointProblem: expect.stringMatching(/signature does not match/), checkpoints: 0 });

  // A forged checkpoint appended by someone without the key.
  const [last] = (await db.query(`SELECT seq::text AS seq, hash, signature FROM access_log_checkpoint ORDER BY id DESC LIMIT 1`)).rows;
  const at = new Date().toISOString().replace('Z', '000Z');
  const forged = createHmac('sha256', randomBytes(32)).update(`ggz-access-log-checkpoint|${last.seq}|${last.hash}|${at}|${last.signature}`).digest('hex');
  const { rows } = await db.query(`INSERT INTO access_log_checkpoint (at, seq, hash, prev_signature, signature) VALUES ($1, $2, $3, $4, $5) RETURNING id::text AS id`, [
    at,
    last.seq,
    last.hash,
    last.signature,
    forged,
  ]);
  expect(await verifyRoute()).toMatchObject({
    intact: false,
    brokenAt: null,
    checkpointProblem: expect.stringMatching(new RegExp(`^checkpoint ${rows[0].id} .*signature does not match`)),
  });
  await withoutGuard('access_log_checkpoint', () => db.query(`DELETE FROM access_log_checkpoint WHERE id = $1`, [rows[0].id]));
  expect(await verifyRoute()).toMatchObject({ intact: true });

  // The one in the middle taken out (and put back exactly as it was: `at` as text, to the microsecond).
  const all = (await db.query(`SELECT id, at::text AS at, seq, hash, prev_signature, signature FROM access_log_checkpoint ORDER BY id`)).rows;
  const middle = all[1];
  await withoutGuard('access_log_checkpoint', () => db.query(`DELETE FROM access_log_checkpoint WHERE id = $1`, [middle.id]));
  expect(await verifyRoute()).toMatchObject({ intact: false, checkpointProblem: expect.stringMatching(/does not link to the checkpoint before it/) });
  await db.query(`INSERT INTO access_log_checkpoint (id, at, seq, hash, prev_signature, signature) OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6)`, [
    middle.id,
    middle.at,
    middle.seq,
    middle.hash,
    middle.prev_signature,
    middle.signature,
  ]);
  expect(await verifyRoute()).toMatchObject({ intact: true });
});

it('nobody may change or remove a checkpoint without switching the guard off', async () => {
  await expect(db.query(`UPDATE access_log_checkpoint SET seq = 0`)).rejects.toThrow(/append-only/);
  await expect(db.query(`DELETE FROM access_log_checkpoint`)).rejects.toThrow(/append-only/);
  await expect(db.query(`TRUNCATE access_log_checkpoint`)).rejects.toThrow(/append-only/);
});

it('a newest checkpoint older than twice the interval is reported: entries after it are not vouched for', async () => {
  await new Promise((r) => setTimeout(r, 2200));
  expect(await audit.verify({ checkpointKey: key, checkpointSeconds: 1 })).toMatchObject({
    brokenAt: null,
    checkpointProblem: expect.stringMatching(/older than twice AUDIT_CHECKPOINT_SECONDS/),
  });
  // With the configured interval (60 s) the same log is fine.
  expect(await audit.verify({ checkpointKey: key, checkpointSeconds: 60 })).toMatchObject({ checkpointProblem: null });
});

it('entries removed and the chain re-sealed: the chain verifies, the checkpoints do not — in the API and the CLI', async () => {
  await addEntries(10, 'mediator-late');
  await audit.checkpoint(key);
  expect(await verifyRoute()).toMatchObject({ intact: true });

  // The superuser removes two entries, unseals everything and lets the service seal it again.
  await withoutGuard('access_log', async () => {
    await db.query(`DELETE FROM access_log WHERE id IN (SELECT id FROM access_log WHERE actor = 'mediator-late' ORDER BY id LIMIT 2)`);
    await db.query(`UPDATE access_log SET seq = NULL, prev_hash = NULL, hash = NULL`);
  });
  while ((await audit.seal()) > 0);

  const result = await verifyRoute();
  // The chain alone is fooled …
  expect(result).toMatchObject({ brokenAt: null, reason: null, unsealed: 0 });
  // … the signed checkpoints are not.
  expect(result).toMatchObject({ intact: false, checkpointProblem: expect.stringMatching(/is not the one signed|no longer reaches this position/) });
  const cli = await cliVerify();
  expect(cli.code).toBe(1);
  expect(cli.out).toMatch(/access log checkpoints do NOT hold: checkpoint \d+ \(position \d+/);
});
