/**
 * The provider command-line tool end to end: the BUILT tool (dist/apps/provider-cli) runs as a
 * child process with nothing but GGZ_API_URL, GGZ_TOKEN and GGZ_STAGE1_KEY in its environment —
 * no database, Redis or server secrets — against the real API and worker.
 *
 * Three providers share people. P1 pseudonymises its CSV with the tool and uploads the result;
 * P2 uploads NDJSON with --pseudonymise (through a recording proxy: no BSN crosses the wire); P3
 * uploads its BSNs as they are, so the service does stage 1. The stored pseudonyms of the same
 * person then agree across the three: the tool's stage 1 is the service's. After a linkage run
 * each provider's feedback lists its own references only. Every exit code is checked.
 *
 * A linkage run links every snapshot in force, so this file works in a database of its own.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request, Server } from 'node:http';
import { createServer as createNetServer, Server as NetServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { amsterdamDate, isValidBsn, stage1PrePseudonym, stage1Pseudonymiser, syntheticBsn } from '@app/core';
import { ensureDatabase } from '@app/platform';
import { SNAPSHOT_CSV_HEADER } from '@app/ttp';
import { RunningApi, RunningWorker, startApi, startWorker, token } from './support/harness';
import { addProvider } from './support/registry';
import { replayThenDrop } from './support/replay';
import { ageSnapshots, runLinkage } from './support/ttp';

const ROOT = join(__dirname, '..');
const url = (() => {
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.pathname = `${u.pathname}_cli${randomBytes(3).toString('hex')}`;
  return u.toString();
})();
const env = { DATABASE_URL: url, QUEUE_PREFIX: `${process.env.TEST_QUEUE_PREFIX}_cli`, TTP_LINKAGE_CRON: 'off' };

const P1 = '73920001';
const P2 = '73920002';
const P3 = '73920003';
const provider = (agb: string) => token('provider', { agb, subject: `provider-${agb}` });
const daysBefore = (n: number) => amsterdamDate(new Date(Date.now() - n * 86_400_000));

// 300 people; P1 has them all, P2 people 0–99, P3 people 50–149.
let seed = 61_000_000 + Math.floor(Math.random() * 1_000_000) * 7;
const people = Array.from({ length: 300 }, () => syntheticBsn((seed += 13)));
const ref = (p: string, i: number) => `${p}-${String(i).padStart(4, '0')}`;
const csvRow = (clientRef: string, bsn: string, pre = '', registeredDaysAgo = 40) =>
  [clientRef, bsn, pre, 'a', 'depressie', daysBefore(registeredDaysAgo), '', 'waiting-intake', 'false'].join(',');

let api: RunningApi;
let worker: RunningWorker;
let db: Client;
let dir: string;
let cliPath: string;
let stage1KeyB64: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built tool with only the given environment (and PATH), optionally feeding stdin. */
function cli(args: string[], envVars: Record<string, string> = {}, stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [cliPath, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', NODE_PATH: join(ROOT, 'node_modules'), ...envVars },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c) => (stdout += c));
    child.stderr!.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin!.end(stdin ?? '');
  });
}

const asProvider = (agb: string, extra: Record<string, string> = {}) => ({ GGZ_API_URL: api.url, GGZ_TOKEN: provider(agb), GGZ_STAGE1_KEY: stage1KeyB64, ...extra });

async function inForce(agb: string): Promise<{ snapshotId: string; entries: Map<string, string> } | null> {
  const { rows } = await db.query(
    `SELECT c.snapshot_id, e.client_ref, e.pseudonym FROM ttp.current_snapshot c JOIN ttp.snapshot_entry e ON e.snapshot_id = c.snapshot_id WHERE c.agb = $1`,
    [agb],
  );
  if (rows.length === 0) return null;
  return { snapshotId: rows[0].snapshot_id, entries: new Map(rows.map((r) => [r.client_ref, r.pseudonym])) };
}

beforeAll(async () => {
  // The built tool: build if dist/ is missing or stale, then run a private copy of it, so that a
  // rebuild of the shared dist/ (which empties it first) cannot pull files from under a test.
  dir = mkdtempSync(join(tmpdir(), 'ggz-provider-cli-'));
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync(process.execPath, [join(ROOT, 'scripts/ensure-built.js')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
      cpSync(join(ROOT, 'dist/apps/provider-cli'), join(dir, 'dist/apps/provider-cli'), { recursive: true });
      cpSync(join(ROOT, 'dist/libs'), join(dir, 'dist/libs'), { recursive: true });
      cliPath = join(dir, 'dist/apps/provider-cli/src/main.js');
      if (!existsSync(cliPath)) throw new Error('the provider tool was not built');
      break;
    } catch (e) {
      if (attempt >= 3) throw e;
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
  await ensureDatabase(url);
  api = await startApi(env);
  worker = await startWorker(env);
  db = new Client({ connectionString: url });
  await db.connect();
  for (const agb of [P1, P2, P3]) await addProvider(db, { agb, name: `GGZ ${agb}`, locations: [{ code: 'a', region: 'utrecht', groups: ['depressie', 'angst'] }] });
  stage1KeyB64 = api.config.ttp.stage1Key.toString('base64');
}, 300_000);

afterAll(async () => {
  await worker?.close();
  await api?.close();
  await db?.end();
  await replayThenDrop(url);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('pseudonymise, upload, feedback', () => {
  let p1Pre: string[][];
  let proxy: Server;
  let sentThroughProxy = '';

  beforeAll(async () => {
    // P1: every person, as BSNs.
    writeFileSync(join(dir, 'p1.csv'), [SNAPSHOT_CSV_HEADER, ...people.map((b, i) => csvRow(ref('P1', i), b))].join('\n') + '\n');
    // P2: people 0–99 as NDJSON with BSNs.
    writeFileSync(
      join(dir, 'p2.ndjson'),
      people
        .slice(0, 100)
        .map((b, i) =>
          JSON.stringify({
            clientRef: ref('P2', i),
            bsn: b,
            location: 'a',
            diagnosisGroup: 'angst',
            registeredOn: daysBefore(30),
            intakeOn: null,
            stage: 'waiting-intake',
            waitsForThisProvider: true,
          }),
        )
        .join('\n') + '\n',
    );
    // P3: people 50–149, BSNs sent as they are (the service does stage 1).
    writeFileSync(join(dir, 'p3.csv'), [SNAPSHOT_CSV_HEADER, ...people.slice(50, 150).map((b, i) => csvRow(ref('P3', i + 50), b))].join('\n') + '\n');

    // A forwarding proxy in front of the real API that keeps what the tool sends.
    proxy = createHttpServer((req, res) => {
      const up = request(api.url + req.url, { method: req.method, headers: req.headers }, (upRes) => {
        res.writeHead(upRes.statusCode!, upRes.headers);
        upRes.pipe(res);
      });
      req.on('data', (c: Buffer) => (sentThroughProxy += c.toString('utf8')));
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise<void>((r) => proxy.close(() => r())));

  it('pseudonymise: writes the snapshot with every BSN replaced by the service’s stage 1 of it, and nothing else changed', async () => {
    const run = await cli(['pseudonymise', 'p1.csv', '--out', 'p1-pre.csv'], { GGZ_STAGE1_KEY: stage1KeyB64 });
    expect(run).toMatchObject({ code: 0, stdout: '' });
    expect(run.stderr).toContain('pseudonymised 300 of 300 row(s); written to p1-pre.csv');
    const text = readFileSync(join(dir, 'p1-pre.csv'), 'utf8');
    for (const b of people) expect(text).not.toContain(b);
    const [header, ...lines] = text.trimEnd().split('\n');
    expect(header).toBe(SNAPSHOT_CSV_HEADER);
    p1Pre = lines.map((l) => l.split(','));
    expect(p1Pre).toHaveLength(300);
    // The service's stage 1 (both forms it has) for the same BSNs, under the key the service runs with.
    const serviceStage1 = stage1Pseudonymiser(api.config.ttp.stage1Key);
    p1Pre.forEach((f, i) => {
      expect(f[2]).toBe(stage1PrePseudonym(people[i], api.config.ttp.stage1Key));
      expect(f[2]).toBe(serviceStage1(people[i]));
      expect(lines[i]).toBe(csvRow(ref('P1', i), '', f[2]));
    });
    // The same from stdin to stdout; a row with a prePseudonym already passes unchanged.
    const piped = await cli(
      ['pseudonymise', '-', '--input-format', 'csv'],
      { GGZ_STAGE1_KEY: stage1KeyB64 },
      [SNAPSHOT_CSV_HEADER, csvRow('K1', people[0]), csvRow('K2', '', p1Pre[1][2])].join('\n') + '\n',
    );
    expect(piped.code).toBe(0);
    expect(piped.stdout).toBe([SNAPSHOT_CSV_HEADER, csvRow('K1', '', p1Pre[0][2]), csvRow('K2', '', p1Pre[1][2])].join('\n') + '\n');
  });

  it('upload: the pseudonymised snapshot is in force, as the receipt says', async () => {
    const run = await cli(['upload', 'p1-pre.csv', '--json'], asProvider(P1, { GGZ_STAGE1_KEY: '' }));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const receipt = JSON.parse(run.stdout);
    expect(receipt).toMatchObject({ agb: P1, entries: 300, asOf: amsterdamDate(new Date()), replaced: null });
    const current = await inForce(P1);
    expect(current?.snapshotId).toBe(receipt.snapshotId);
    expect(current?.entries.size).toBe(300);
  });

  it('upload --pseudonymise: NDJSON with BSNs goes out with prePseudonyms only (seen on the wire), with a progress bar on request', async () => {
    const run = await cli(['upload', 'p2.ndjson', '--pseudonymise', '--progress', '--api-url', `http://127.0.0.1:${(proxy.address() as { port: number }).port}`], asProvider(P2));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^snapshot [0-9a-f-]{36} in force for AGB ${P2}: 100 entries as of \\d{4}-\\d{2}-\\d{2} \\(key version 1; your first snapshot\\)\\n$`));
    expect(run.stderr).toMatch(/upload \|.*\| 100% \|/);
    expect(run.stderr).toContain('pseudonymised 100 of 100 row(s) on the way: no BSN was sent');
    const sent = sentThroughProxy
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(sent).toHaveLength(100);
    sent.forEach((e, i) => {
      expect(e).not.toHaveProperty('bsn');
      expect(e.prePseudonym).toBe(p1Pre[i][2]);
    });
    for (const b of people) expect(sentThroughProxy).not.toContain(b);
    expect((await inForce(P2))?.entries.size).toBe(100);
  });

  it('the three stage-1 routes give the same stored pseudonym for the same person: the tool’s stage 1 is the service’s', async () => {
    const run = await cli(['upload', 'p3.csv', '--no-progress'], asProvider(P3, { GGZ_STAGE1_KEY: '' }));
    expect(run.code).toBe(0);
    const [s1, s2, s3] = [await inForce(P1), await inForce(P2), await inForce(P3)];
    for (let i = 50; i < 100; i++) {
      const viaFile = s1!.entries.get(ref('P1', i));
      expect(viaFile).toMatch(/^[0-9a-f]{64}$/);
      expect(s2!.entries.get(ref('P2', i))).toBe(viaFile); // tool, on the fly
      expect(s3!.entries.get(ref('P3', i))).toBe(viaFile); // service, from the BSN
    }
    expect(s1!.entries.get(ref('P1', 0))).not.toBe(s1!.entries.get(ref('P1', 1)));
  });

  it('a refused upload exits 3 with the service’s report by row, line and field; the snapshot in force stays', async () => {
    const before = await inForce(P1);
    writeFileSync(
      join(dir, 'refused.csv'),
      [SNAPSHOT_CSV_HEADER, csvRow('R0', '', p1Pre[0][2]), csvRow('R1', '', p1Pre[1][2], -30), '', csvRow('R2', '', p1Pre[2][2]).replace(',a,', ',elders,')].join('\n') + '\n',
    );
    const run = await cli(['upload', 'refused.csv'], asProvider(P1));
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('the service refused the request (HTTP 400): The snapshot is refused: 2 invalid row(s)');
    expect(run.stderr).toContain('row 1 (line 3): registeredOn — must not be in the future');
    expect(run.stderr).toContain('row 2 (line 5): location — is not a location of this provider in the registry');
    expect(run.stderr).toMatch(/request id: \S+/);
    expect((await inForce(P1))?.snapshotId).toBe(before?.snapshotId);

    // A header the service does not know is refused by it too (the file goes up as it is).
    writeFileSync(join(dir, 'header.csv'), 'clientRef,bsn,shoeSize\nX,,42\n');
    const header = await cli(['upload', 'header.csv'], asProvider(P1));
    expect(header.code).toBe(3);
    expect(header.stderr).toContain('(header) — column "shoeSize" is not known');
  });

  it('feedback before any linkage run exits 3 with the service’s reason', async () => {
    const run = await cli(['feedback'], asProvider(P1));
    expect(run).toMatchObject({ code: 3, stdout: '' });
    expect(run.stderr).toContain('the service refused the request (HTTP 404): No linkage run');
  });

  it('feedback after a linkage run: own references only, as a table, CSV or JSON, with a token the tool minted', async () => {
    // Feedback names only people on a provider's list in two snapshots a week apart: a week
    // passes, and each provider sends the same list again.
    await ageSnapshots(db, 8);
    for (const [file, agb, extra] of [
      ['p1-pre.csv', P1, []],
      ['p2.ndjson', P2, ['--pseudonymise']],
      ['p3.csv', P3, []],
    ] as const)
      expect(await cli(['upload', file, ...extra], asProvider(agb))).toMatchObject({ code: 0 });
    expect((await runLinkage(api.url, 'ttp-op-cli')).status).toBe('done');

    const minted = await cli(['token', '--role', 'provider', '--agb', P1, '--subject', 'p1-cli']);
    expect(minted.code).toBe(0);
    const env1 = { GGZ_API_URL: api.url, GGZ_TOKEN: minted.stdout.trim() };

    // P1's people 0–149 also wait elsewhere: 0–49 and 100–149 on one other list, 50–99 on two.
    const expected = Array.from({ length: 150 }, (_, i) => ({ clientRef: ref('P1', i), otherLists: i >= 50 && i < 100 ? 2 : 1, otherStages: ['waiting-intake'] }));
    const json = await cli(['feedback', '--format', 'json'], env1);
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout);
    expect(body.linked).toBe(true);
    expect(body.entries).toEqual(expected);

    const table = await cli(['feedback'], env1);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^clientRef\s+otherLists\s+otherStages$/);
    expect(lines.slice(2).map((l) => l.split(/\s+/))).toEqual(expected.map((e) => [e.clientRef, String(e.otherLists), 'waiting-intake']));
    expect(table.stderr).toContain('150 of your clients also wait elsewhere');

    const csv = await cli(['feedback', '--format', 'csv'], env1);
    expect(csv.code).toBe(0);
    expect(csv.stdout).toBe(['clientRef,otherLists,otherStages', ...expected.map((e) => `${e.clientRef},${e.otherLists},waiting-intake`)].join('\n') + '\n');

    // Nothing of the other providers, for any of them.
    for (const out of [json.stdout, table.stdout, csv.stdout]) expect(out).not.toMatch(/P2-|P3-|73920002|73920003|[0-9a-f]{64}/);
    const p3 = await cli(['feedback', '--format', 'csv'], asProvider(P3));
    expect(
      p3.stdout
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[0]),
    ).toEqual(Array.from({ length: 100 }, (_, i) => ref('P3', i + 50)));
  });
});

describe('exit codes', () => {
  it('4 when the token is refused (401) or does not allow it (403)', async () => {
    const garbage = await cli(['feedback'], { GGZ_API_URL: api.url, GGZ_TOKEN: 'not-a-token' });
    expect(garbage.code).toBe(4);
    expect(garbage.stderr).toContain('the token was refused (HTTP 401)');
    const mediator = await cli(['upload', 'p3.csv'], { GGZ_API_URL: api.url, GGZ_TOKEN: token('mediator', { uzovi: ['3311'] }) });
    expect(mediator.code).toBe(4);
    expect(mediator.stderr).toContain('the token does not allow this (HTTP 403)');
  });

  it('5 when the service is down (connection refused) or silent (timeout)', async () => {
    const closed = createNetServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const down = await cli(['upload', 'p3.csv'], { GGZ_API_URL: `http://127.0.0.1:${port}`, GGZ_TOKEN: provider(P3) });
    expect(down.code).toBe(5);
    expect(down.stderr).toContain('is unavailable: connection refused');

    // A server that accepts the connection and never answers.
    const sockets: Socket[] = [];
    const silent: NetServer = createNetServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const slow = await cli(['feedback', '--timeout', '1'], { GGZ_API_URL: `http://127.0.0.1:${(silent.address() as { port: number }).port}`, GGZ_TOKEN: provider(P3) });
      expect(slow.code).toBe(5);
      expect(slow.stderr).toContain('did not answer within 1 s (timeout)');
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('6 for a missing file, an unreadable CSV and an invalid BSN (named by row, never shown); nothing is written or stored', async () => {
    const missing = await cli(['upload', 'nowhere.csv'], asProvider(P1));
    expect(missing).toMatchObject({ code: 6, stdout: '' });
    expect(missing.stderr).toContain('no such file: nowhere.csv');

    writeFileSync(join(dir, 'unclosed.csv'), `${SNAPSHOT_CSV_HEADER}\n"K1,${people[0]},,a,depressie,2026-01-01,,waiting-intake,false\n`);
    const unclosed = await cli(['pseudonymise', 'unclosed.csv'], { GGZ_STAGE1_KEY: stage1KeyB64 });
    expect(unclosed.code).toBe(6);
    expect(unclosed.stderr).toContain('row 0 (line 2): (row) — a quoted field is not closed');

    const wrong = people[7].slice(0, 8) + String((Number(people[7][8]) + 1) % 10);
    expect(isValidBsn(wrong)).toBe(false);
    writeFileSync(join(dir, 'invalid.csv'), [SNAPSHOT_CSV_HEADER, csvRow('V0', people[5]), csvRow('V1', wrong), csvRow('V2', '12345')].join('\n') + '\n');
    const invalid = await cli(['pseudonymise', 'invalid.csv', '-o', 'invalid-pre.csv'], { GGZ_STAGE1_KEY: stage1KeyB64 });
    expect(invalid.code).toBe(6);
    expect(invalid.stderr).toContain('row 1 (line 3): bsn — fails the elfproef (not a valid BSN)');
    expect(invalid.stderr).toContain('row 2 (line 4): bsn — must be 8 or 9 digits');
    expect(invalid.stderr).not.toContain(wrong);
    expect(existsSync(join(dir, 'invalid-pre.csv'))).toBe(false);

    // On the fly: the upload is broken off before it ends, so the service stores nothing.
    const before = await inForce(P1);
    const onTheFly = await cli(['upload', 'invalid.csv', '--pseudonymise'], asProvider(P1));
    expect(onTheFly.code).toBe(6);
    expect(onTheFly.stderr).toContain('row 1 (line 3): bsn — fails the elfproef (not a valid BSN)');
    expect(onTheFly.stderr).not.toContain(wrong);
    expect((await inForce(P1))?.snapshotId).toBe(before?.snapshotId);
  });

  it('2 for usage errors: unknown command or option, no token, no stage-1 key, a bad format; token is refused in production', async () => {
    const cases: [string[], Record<string, string>, string][] = [
      [[], {}, 'no command given'],
      [['uplaod', 'p3.csv'], {}, 'unknown command "uplaod"'],
      [['upload', 'p3.csv', '--colour'], asProvider(P3), "Unknown option '--colour'"],
      [['upload'], asProvider(P3), 'upload: which file?'],
      [['upload', 'p3.csv'], { GGZ_API_URL: api.url }, 'no token: set GGZ_TOKEN'],
      [['upload', 'p3.txt'], asProvider(P3), 'say --input-format csv'],
      [['upload', 'p3.csv', '--pseudonymise'], { GGZ_API_URL: api.url, GGZ_TOKEN: provider(P3) }, 'set GGZ_STAGE1_KEY'],
      [['pseudonymise', 'p3.csv'], { GGZ_STAGE1_KEY: 'c2hvcnQ=' }, 'GGZ_STAGE1_KEY must hold the stage-1 key as base64 of at least 32 bytes'],
      [['feedback', '--format', 'xml'], asProvider(P3), '--format must be table, csv or json'],
      [['feedback'], { GGZ_API_URL: 'ftp://example.org', GGZ_TOKEN: provider(P3) }, 'must start with http:// or https://'],
      [['token', '--role', 'chef'], {}, '--role must be one of'],
      [['token', '--role', 'provider', '--agb', P1], { NODE_ENV: 'production' }, 'refused when NODE_ENV=production'],
    ];
    for (const [args, envVars, message] of cases) {
      const run = await cli(args, envVars);
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(run.stderr).toContain(message);
    }
  });

  it('0 for --help of the tool and of each command', async () => {
    for (const args of [['--help'], ['help', 'upload'], ['pseudonymise', '--help'], ['upload', '-h'], ['feedback', '--help'], ['token', '--help']]) {
      const run = await cli(args);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^ggz-provider/);
    }
  });
});
