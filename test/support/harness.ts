/**
 * Boots the real API and worker against this run's Postgres database and Redis prefix, with
 * their JSON logs captured so tests can look into them.
 */
import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { INestApplicationContext } from '@nestjs/common';
import IORedis from 'ioredis';
import { Client } from 'pg';
import { AppConfig, ensureDatabase, loadConfig, Role, runMigrationsLocked, TokenService } from '@app/platform';
import { amsterdamDate, syntheticBsn } from '@app/core';
import { createAppDataSource } from '../../migrations/data-source';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { createWorkerApp } from '../../apps/worker/src/bootstrap';
import { appendCapture, captureFile } from './log-scan';

export function testConfig(overrides: Record<string, string> = {}): AppConfig {
  const url = process.env.TEST_DATABASE_URL;
  const prefix = process.env.TEST_QUEUE_PREFIX;
  if (!url || !prefix) throw new Error('run the e2e tests through jest (global setup makes the database)');
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'info',
    MIGRATIONS_RUN: 'true',
    DATABASE_POOL_SIZE: '10',
    // The once-a-day re-evaluation would fire whenever the suite runs after its hour.
    DAILY_REEVALUATION: 'false',
    // Nor do workers catch up with registry changes: the fixtures (giveTask) would be judged for
    // real. The evaluation tests turn it on.
    EVALUATION_CATCH_UP_SECONDS: '0',
    // Likewise the nightly retention run; its own test calls it.
    RETENTION_RUN: 'false',
    // No worker metrics listener (several workers run at once); test/metrics.e2e-spec.ts turns it on.
    WORKER_METRICS_PORT: '0',
    ...overrides,
  });
}

export class LogCapture {
  readonly lines: string[] = [];
  /** A copy in this run's log directory, scanned for BSNs at the end of the run (see log-scan.ts). */
  readonly file: string | undefined;
  constructor(kind = 'log') {
    this.file = captureFile(kind);
  }
  write(chunk: string): void {
    this.lines.push(chunk);
    appendCapture(this.file, chunk);
  }
  get text(): string {
    return this.lines.join('');
  }
}

export interface RunningApi {
  app: NestFastifyApplication;
  url: string;
  logs: LogCapture;
  config: AppConfig;
  close(): Promise<void>;
}

/** `url` as another role (trust authentication on 127.0.0.1, as in CI and on the development machines). */
export function asRole(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = '';
  return u.toString();
}

const migrated = new Set<string>();
/**
 * The processes connect as the least-privilege roles the migrations make (ggz_api, ggz_worker;
 * the access-log purge as ggz_retention), as a deployment runs them. The owner — the URL as
 * configured, the superuser here — only creates the database and migrates it first, as a
 * deployment's migrate step does; the process itself then runs no migrations.
 */
async function processConfig(config: AppConfig, role: 'ggz_api' | 'ggz_worker'): Promise<AppConfig> {
  if (config.migrationsRun && !migrated.has(config.databaseUrl)) {
    await ensureDatabase(config.databaseUrl);
    const ds = createAppDataSource({ databaseUrl: config.databaseUrl, databasePoolSize: 2 }, 'ggz-test-migrate');
    await ds.initialize();
    try {
      await runMigrationsLocked(ds);
    } finally {
      await ds.destroy();
    }
    migrated.add(config.databaseUrl);
  }
  return {
    ...config,
    databaseUrl: asRole(config.databaseUrl, role),
    migrationsRun: false,
    retention: { ...config.retention, databaseUrl: config.retention.databaseUrl ?? asRole(config.databaseUrl, 'ggz_retention') },
  };
}

export async function startApi(overrides: Record<string, string> = {}): Promise<RunningApi> {
  const config = await processConfig(testConfig(overrides), 'ggz_api');
  const logs = new LogCapture('api');
  const app = await createApiApp({ config, logDestination: logs });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${address.port}`, logs, config, close: () => app.close() };
}

export interface RunningWorker {
  app: INestApplicationContext;
  logs: LogCapture;
  close(): Promise<void>;
}

export async function startWorker(overrides: Record<string, string> = {}): Promise<RunningWorker> {
  const logs = new LogCapture('worker');
  const app = await createWorkerApp({ config: await processConfig(testConfig(overrides), 'ggz_worker'), logDestination: logs });
  return { app, logs, close: () => app.close() };
}

export function token(role: Role, claims: { uzovi?: string[]; agb?: string; subject?: string } = {}): string {
  return new TokenService(testConfig().jwt).mint({ role, ...claims });
}

let bsnSeed = Math.floor(Math.random() * 50_000_000);
/** A fresh synthetic BSN (valid by the elfproef). */
export function nextBsn(): string {
  bsnSeed = (bsnSeed + 7919) % 100_000_000;
  return syntheticBsn(bsnSeed);
}

export function daysAgo(n: number): string {
  return amsterdamDate(new Date(Date.now() - n * 86_400_000));
}

/** A valid referral message with a unique message id and BSN; override any field. */
export function referralMessage(overrides: Record<string, unknown> = {}): Record<string, any> {
  return {
    messageId: `msg-${randomUUID()}`,
    bsn: nextBsn(),
    verwijsdatum: daysAgo(2),
    klachtenprofiel: 'depressie',
    dsmCode: 'F32.1',
    agb: '94012345',
    uzovi: '3311',
    consent: { id: `consent-${randomUUID()}`, givenAt: new Date(Date.now() - 86_400_000).toISOString(), scope: 'zorgbemiddeling', channel: 'verwijsportaal' },
    ...overrides,
  };
}

export async function http(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let payload: string | undefined;
  if (opts.rawBody !== undefined) payload = opts.rawBody;
  else if (opts.body !== undefined) payload = JSON.stringify(opts.body);
  if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: payload });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

export async function pg(): Promise<Client> {
  const c = new Client({ connectionString: process.env.TEST_DATABASE_URL });
  await c.connect();
  return c;
}

export function redis(): IORedis {
  return new IORedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
}

/** Deletes every key of this run's queue prefix: a Redis flush, as far as this run can tell. */
export async function flushQueues(r: IORedis): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${process.env.TEST_QUEUE_PREFIX}:*`, 'COUNT', 1000);
    if (keys.length) n += await r.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  return n;
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 15000, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * Gives a referral a mediation task straight in the database, as an above-norm evaluation would
 * (the referral is marked evaluated above the norm, its generation judged), for tests about
 * reading referrals and working tasks (the evaluation's own tests create tasks the real way).
 */
export async function giveTask(db: Client, referralId: string, opts: { priority?: number; dueDate?: string } = {}): Promise<string> {
  const { rows } = await db.query(
    `WITH judged AS (
       UPDATE referral SET status = 'evaluated', verdict = 'above-norm', judged_generation = generation, evaluated_at = coalesce(evaluated_at, now())
        WHERE id = $1 AND status IN ('pending', 'evaluated') RETURNING id)
     INSERT INTO mediation_task (referral_id, uzovi, priority, alternatives, created_by_evaluation_id, due_date)
     SELECT id, uzovi, $2, '[]', gen_random_uuid(), $3 FROM referral WHERE id = $1 RETURNING id`,
    [referralId, opts.priority ?? 1, opts.dueDate ?? amsterdamDate(new Date())],
  );
  return rows[0].id;
}
