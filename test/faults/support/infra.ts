/**
 * The fault suite's own PostgreSQL cluster and Redis server: throwaway instances on free ports
 * in a temporary directory, so the suite may kill, restart and flush them while other people run
 * tests against the shared Postgres (5432) and Redis (6379), which it never touches.
 *
 * Postgres refuses to run as root, so when the suite runs as root the cluster's commands run as
 * the `postgres` OS user (runuser, else su); otherwise as the current user. The binaries come
 * from PG_BIN, else the newest /usr/lib/postgresql/<v>/bin, else the PATH.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** What the global setup hands to the test files (through the environment). */
export const ENV = {
  dir: 'FAULTS_DIR',
  pgPort: 'FAULTS_PG_PORT',
  redisPort: 'FAULTS_REDIS_PORT',
  logDir: 'FAULTS_LOG_DIR',
  dist: 'FAULTS_DIST',
} as const;
export const TEMPLATE_DB = 'faults_template';

export function pgBin(tool: string): string {
  if (process.env.PG_BIN) return join(process.env.PG_BIN, tool);
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', tool)))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length) return join(base, versions[0], 'bin', tool);
  }
  return tool;
}

const isRoot = () => process.getuid?.() === 0;

function pgCommand(tool: string, args: string[]): [string, string[]] {
  const bin = pgBin(tool);
  if (!isRoot()) return [bin, args];
  if (['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].some(existsSync)) return ['runuser', ['-u', 'postgres', '--', bin, ...args]];
  return ['su', ['postgres', '-s', '/bin/sh', '-c', [bin, ...args].map(shellQuote).join(' ')]];
}

/** Runs a Postgres tool as the user that owns the cluster; rejects with its output on failure. */
export function asPgUser(tool: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const [cmd, argv] = pgCommand(tool, args);
  return new Promise((resolve, reject) => {
    // Asynchronous, so the load a scenario runs meanwhile is not frozen by a restart.
    execFile(cmd, argv, { encoding: 'utf8', timeout: timeoutMs, cwd: '/' }, (err, stdout, stderr) =>
      err ? reject(new Error(`${tool} ${args.join(' ')} failed (${err.code ?? err.signal}): ${stderr || stdout}`)) : resolve(stdout),
    );
  });
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface Infra {
  dir: string;
  pgPort: number;
  redisPort: number;
}

export function infraFromEnv(): Infra {
  const dir = process.env[ENV.dir];
  if (!dir) throw new Error('run the fault suite through jest (`npm run test:faults`): its global setup starts Postgres and Redis');
  return { dir, pgPort: Number(process.env[ENV.pgPort]), redisPort: Number(process.env[ENV.redisPort]) };
}

const pgData = (i: Infra) => join(i.dir, 'pg');

export async function pgInit(i: Infra): Promise<void> {
  if (isRoot())
    chownSync(i.dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()));
  await asPgUser('initdb', ['-D', pgData(i), '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
}

/**
 * Starts the cluster and waits until it accepts connections. fsync is off (the cluster is thrown
 * away and the machine does not crash: written WAL survives a Postgres crash in the page cache);
 * synchronous_commit stays on — with it off, a crash loses commits already answered, which the
 * restart scenario rightly reports as lost referrals.
 */
export async function pgStart(i: Infra): Promise<void> {
  const opts = `-p ${i.pgPort} -k ${i.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`;
  await asPgUser('pg_ctl', ['-D', pgData(i), '-l', join(i.dir, 'pg.log'), '-o', opts, '-w', '-t', '60', 'start']);
}

/** `immediate` is a crash (no shutdown checkpoint, clients cut off); `fast` a clean stop. */
export async function pgStop(i: Infra, mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
  await asPgUser('pg_ctl', ['-D', pgData(i), '-m', mode, '-w', '-t', '60', 'stop']);
}

export function pgRunning(i: Infra): boolean {
  return existsSync(join(pgData(i), 'postmaster.pid'));
}

export const pgUrl = (i: Infra, db: string) => `postgres://postgres@127.0.0.1:${i.pgPort}/${db}`;
export const redisUrl = (i: Infra) => `redis://127.0.0.1:${i.redisPort}`;

const redisPidFile = (i: Infra) => join(i.dir, 'redis.pid');

/** A Redis server that keeps nothing on disk: a restart comes back empty, as after a crash. */
export function redisStart(i: Infra): void {
  execFileSync(
    'redis-server',
    [
      '--port',
      String(i.redisPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'yes',
      '--pidfile',
      redisPidFile(i),
      '--dir',
      i.dir,
      '--logfile',
      join(i.dir, 'redis.log'),
    ],
    { stdio: 'ignore' },
  );
}

export async function redisStop(i: Infra): Promise<void> {
  const pid = existsSync(redisPidFile(i)) ? Number(readFileSync(redisPidFile(i), 'utf8').trim()) : 0;
  spawnSync('redis-cli', ['-p', String(i.redisPort), 'shutdown', 'nosave'], { stdio: 'ignore', timeout: 10_000 });
  for (const end = Date.now() + 10_000; pid && Date.now() < end;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (pid) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export async function waitForRedis(i: Infra, timeoutMs = 10_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; ;) {
    const res = spawnSync('redis-cli', ['-p', String(i.redisPort), 'ping'], { encoding: 'utf8', timeout: 2000 });
    if (res.stdout?.trim() === 'PONG') return;
    if (Date.now() > end) throw new Error('redis did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}
