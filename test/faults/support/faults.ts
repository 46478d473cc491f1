/**
 * What the fault scenarios share: a database of the file's own (a copy of the migrated template)
 * in the suite's throwaway cluster, the built API and worker as child processes with their logs
 * captured, tokens, and the faults themselves (see infra.ts for Postgres and Redis).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Client } from 'pg';
import { amsterdamDate, syntheticBsn } from '@app/core';
import { loadConfig, Role, TokenService } from '@app/platform';
import { ENV, freePort, Infra, infraFromEnv, pgStart, pgStop, pgUrl, redisStart, redisStop, redisUrl, TEMPLATE_DB, waitForRedis } from './infra';

export const ROOT = join(__dirname, '../../..');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FaultEnv {
  infra: Infra;
  dbName: string;
  dbUrl: string;
  prefix: string;
  /** Environment of every child: this file's database and queue prefix, quick sweeper. */
  env: Record<string, string>;
}

/** A database and queue prefix of this test file's own; the caller's overrides go to every child. */
export async function faultEnv(name: string, overrides: Record<string, string> = {}): Promise<FaultEnv> {
  const infra = infraFromEnv();
  const suffix = randomBytes(3).toString('hex');
  const dbName = `faults_${name}_${suffix}`;
  await withPg(infra, 'postgres', (c) => c.query(`CREATE DATABASE "${dbName}" TEMPLATE "${TEMPLATE_DB}"`));
  const dbUrl = pgUrl(infra, dbName);
  const prefix = `faults_${name}_${suffix}`;
  return {
    infra,
    dbName,
    dbUrl,
    prefix,
    env: {
      NODE_ENV: 'test',
      DATABASE_URL: dbUrl,
      REDIS_URL: redisUrl(infra),
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'info',
      DAILY_REEVALUATION: 'false',
      RETENTION_RUN: 'false',
      TTP_LINKAGE_CRON: 'off',
      // Registry rows are loaded straight into the tables: no catch-up re-evaluation of everything.
      EVALUATION_CATCH_UP_SECONDS: '0',
      SWEEPER_DELAY_SECONDS: '3',
      SWEEPER_INTERVAL_SECONDS: '1',
      ...overrides,
    },
  };
}

/**
 * Each process connects as its least-privilege role (the template database is migrated by the
 * owner in the global setup), the access-log purge as ggz_retention, as a deployment runs them.
 */
function processRole(kind: 'api' | 'worker', env: Record<string, string>): Record<string, string> {
  if (!env.DATABASE_URL) return {};
  const as = (role: string) => {
    const u = new URL(env.DATABASE_URL);
    u.username = role;
    u.password = '';
    return u.toString();
  };
  return { DATABASE_URL: as(kind === 'api' ? 'ggz_api' : 'ggz_worker'), RETENTION_DATABASE_URL: as('ggz_retention'), MIGRATIONS_RUN: 'false' };
}

export async function dropFaultDb(f: FaultEnv): Promise<void> {
  await withPg(f.infra, 'postgres', (c) => c.query(`DROP DATABASE IF EXISTS "${f.dbName}" WITH (FORCE)`)).catch(() => undefined);
}

export async function withPg<T>(infra: Infra, db: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: pgUrl(infra, db) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** A client to the file's database that survives Postgres restarts (reconnects on use). */
export class Db {
  private client?: Client;
  constructor(private readonly url: string) {}
  async query<T = any>(sql: string, params?: unknown[]): Promise<T[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (!this.client) {
          const c = new Client({ connectionString: this.url });
          c.on('error', () => (this.client = undefined));
          await c.connect();
          this.client = c;
        }
        return (await this.client.query(sql, params)).rows as T[];
      } catch (e) {
        await this.client?.end().catch(() => undefined);
        this.client = undefined;
        if (attempt >= 20) throw e;
        await sleep(250);
      }
    }
  }
  async one<T = any>(sql: string, params?: unknown[]): Promise<T> {
    return (await this.query<T>(sql, params))[0];
  }
  async close(): Promise<void> {
    await this.client?.end().catch(() => undefined);
  }
}

const tokens = new TokenService(loadConfig({ NODE_ENV: 'test' }).jwt);
export function token(role: Role, claims: { uzovi?: string[]; agb?: string; subject?: string } = {}): string {
  return tokens.mint({ role, ...claims });
}

let childSeq = 0;

/** The built API or worker as a child process; stdout and stderr go to a file the teardown scans. */
export class Service {
  readonly proc: ChildProcess;
  readonly logFile: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit?: { code: number | null; signal: NodeJS.Signals | null };

  private constructor(
    readonly kind: 'api' | 'worker',
    readonly port: number,
    env: Record<string, string>,
  ) {
    const testPath = (globalThis as { expect?: { getState?: () => { testPath?: string } } }).expect?.getState?.().testPath;
    const test = testPath ? basename(testPath).replace(/\.fault-spec\.ts$/, '') : 'faults';
    this.logFile = join(process.env[ENV.logDir] ?? '/tmp', `${test}.${kind}-${++childSeq}.log`);
    appendFileSync(this.logFile, '');
    // The copy of dist/ the global setup took; its packages resolve from the project's node_modules.
    const main = join(process.env[ENV.dist] ?? join(ROOT, 'dist'), `apps/${kind}/src/main.js`);
    this.proc = spawn(process.execPath, [main], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_PATH: join(ROOT, 'node_modules'), ...env, ...processRole(kind, env), PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const write = (chunk: Buffer) => {
      try {
        appendFileSync(this.logFile, chunk);
      } catch {
        /* the teardown removed the directory: a child a failed test left running */
      }
    };
    this.proc.stdout!.on('data', write);
    this.proc.stderr!.on('data', write);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve((this.exit = { code, signal }))));
    Service.running.add(this);
    void this.exited.then(() => Service.running.delete(this));
  }

  private static readonly running = new Set<Service>();

  /** Stops every child this file started that still runs (afterAll: nothing outlives its file). */
  static async stopAll(): Promise<void> {
    await Promise.all([...Service.running].map((s) => s.stop()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get logs(): string {
    return readFileSync(this.logFile, 'utf8');
  }

  static async api(env: Record<string, string>): Promise<Service> {
    const s = new Service('api', await freePort(), env);
    await s.waitReady().catch(async (e) => {
      await s.stop();
      throw e;
    });
    return s;
  }

  /** Starts a worker and waits until it says it has started its queue consumers. */
  static async worker(env: Record<string, string>): Promise<Service> {
    const s = new Service('worker', 0, env);
    await waitUntil(async () => s.logs.includes('"worker started"') || s.exit !== undefined, 60_000, 50).catch(async (e) => {
      await s.stop();
      throw e;
    });
    if (s.exit) throw new Error(`worker exited at start: ${JSON.stringify(s.exit)}\n${s.logs.slice(-2000)}`);
    return s;
  }

  /** Until /health/ready answers 200 (the API migrated and reaches Postgres and Redis). */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    await waitUntil(
      async () => {
        if (this.exit) throw new Error(`${this.kind} exited: ${JSON.stringify(this.exit)}\n${this.logs.slice(-2000)}`);
        return (
          (await fetch(`${this.url}/health/ready`)
            .then((r) => r.status === 200)
            .catch(() => false)) || undefined
        );
      },
      timeoutMs,
      100,
    );
  }

  kill(signal: NodeJS.Signals): void {
    if (this.exit === undefined) this.proc.kill(signal);
  }

  /** SIGTERM, then SIGKILL after a grace period: used in afterAll so nothing is left running. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.exit !== undefined) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export async function waitUntil<T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}

export interface Reply {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

/** An HTTP call; a network error (refused, reset) resolves as status 0 with the error's code. */
export async function http(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(base + path, { method, headers, body: payload, signal: opts.signal });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body, text, headers: res.headers };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    return { status: 0, body: undefined, text: `${err.name}: ${err.cause?.code ?? err.message}`, headers: new Headers() };
  }
}

/**
 * What a 5xx body may contain: the one error shape, nothing more — no stack trace, no SQL, no
 * driver message. Returns the problems found (empty when the body is clean).
 */
export function leaks(r: Reply): string[] {
  const problems: string[] = [];
  if (/\bat .+\(.+:\d+:\d+\)|\.ts:\d+|\.js:\d+|node_modules/.test(r.text)) problems.push('stack trace');
  if (
    /\b(SELECT|INSERT|UPDATE|DELETE)\b.+\b(FROM|INTO|SET)\b|relation "|violates|syntax error|ECONNREFUSED|terminating connection|Connection terminated|QueryFailedError|TypeORM/i.test(
      r.text,
    )
  ) {
    problems.push('database detail');
  }
  const keys = r.body && typeof r.body === 'object' ? Object.keys(r.body).sort().join(',') : '';
  if (keys !== 'error,message,requestId,statusCode' && keys !== 'details,error,message,requestId,statusCode') problems.push(`not the error shape: ${r.text.slice(0, 200)}`);
  return problems;
}

/** The faults. */
export const faults = {
  async redisFlushAll(f: FaultEnv): Promise<void> {
    const { default: IORedis } = await import('ioredis');
    const r = new IORedis(redisUrl(f.infra), { maxRetriesPerRequest: 1 });
    try {
      await r.flushall();
    } finally {
      r.disconnect();
    }
  },
  /** How many keys Redis holds (this suite's Redis: only its own queues). */
  async redisKeys(f: FaultEnv): Promise<number> {
    const { default: IORedis } = await import('ioredis');
    const r = new IORedis(redisUrl(f.infra), { maxRetriesPerRequest: 1 });
    try {
      return await r.dbsize();
    } finally {
      r.disconnect();
    }
  },
  async redisStop(f: FaultEnv): Promise<void> {
    await redisStop(f.infra);
  },
  async redisStart(f: FaultEnv): Promise<void> {
    redisStart(f.infra);
    await waitForRedis(f.infra);
  },
  pgStop(f: FaultEnv, mode: 'fast' | 'immediate' = 'immediate'): Promise<void> {
    return pgStop(f.infra, mode);
  },
  pgStart(f: FaultEnv): Promise<void> {
    return pgStart(f.infra);
  },
  /** pg_terminate_backend on every connection of the API and the worker to this file's database. */
  async terminateAppBackends(f: FaultEnv): Promise<number> {
    return withPg(f.infra, 'postgres', async (c) => {
      const { rows } = await c.query(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name IN ('ggz-api', 'ggz-worker')`,
        [f.dbName],
      );
      return rows[0].n;
    });
  },
};

let bsnSeed = 60_000_000 + Math.floor(Math.random() * 30_000_000);
/** A valid referral message with a unique message id and a fresh synthetic BSN (elfproef-valid). */
export function referralMessage(overrides: Record<string, unknown> = {}): Record<string, any> {
  bsnSeed = (bsnSeed + 7919) % 100_000_000;
  const day = (n: number) => amsterdamDate(new Date(Date.now() - n * 86_400_000));
  return {
    messageId: `fault-${randomBytes(8).toString('hex')}`,
    bsn: syntheticBsn(bsnSeed),
    verwijsdatum: day(2),
    klachtenprofiel: 'depressie',
    agb: '94012345',
    uzovi: '3311',
    consent: { id: `consent-${randomBytes(8).toString('hex')}`, givenAt: new Date(Date.now() - 86_400_000).toISOString(), scope: 'zorgbemiddeling', channel: 'verwijsportaal' },
    ...overrides,
  };
}
