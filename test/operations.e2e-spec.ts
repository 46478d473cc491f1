/** Health, OpenAPI, request ids and graceful shutdown. */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { dropDatabase, ensureDatabase } from '@app/platform';
import { http, referralMessage, RunningApi, startApi, token, waitFor } from './support/harness';
import { routeTable } from './support/routes';

describe('a running API', () => {
  let api: RunningApi;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  it('is live and ready when Postgres, migrations and Redis are fine', async () => {
    expect((await http(api.url, 'GET', '/health/live')).body).toEqual({ status: 'ok' });
    const ready = await http(api.url, 'GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ ready: true, checks: { postgres: 'up', migrations: 'current', redis: 'up' } });
  });

  it('describes every route in OpenAPI, with its errors and the one error shape', async () => {
    const res = await http(api.url, 'GET', '/docs-json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.components.schemas.ErrorResponseDto.required).toEqual(expect.arrayContaining(['statusCode', 'error', 'message']));
    for (const r of routeTable(api.app)) {
      const path = r.path.replace(/:([a-zA-Z]+)/g, '{$1}');
      const op = doc.paths[path]?.[r.method.toLowerCase()];
      expect({ route: `${r.method} ${path}`, documented: !!op }).toEqual({ route: `${r.method} ${path}`, documented: true });
      if (!r.public) expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '403']));
    }
    expect(Object.keys(doc.paths['/v1/referrals'].post.responses)).toEqual(expect.arrayContaining(['200', '201', '400', '401', '403', '409', '413', '415']));
    expect((await http(api.url, 'GET', '/docs')).status).toBe(200);
  });

  it('echoes a sane X-Request-Id, replaces an unsafe one, and puts it in errors and logs', async () => {
    const given = await http(api.url, 'GET', '/v1/auth/whoami', { headers: { 'x-request-id': 'verwijsdienst-42' } });
    expect(given.headers.get('x-request-id')).toBe('verwijsdienst-42');
    expect(given.body).toMatchObject({ statusCode: 401, requestId: 'verwijsdienst-42' });
    expect(api.logs.text).toContain('"reqId":"verwijsdienst-42"');
    const unsafe = await http(api.url, 'GET', '/health/live', { headers: { 'x-request-id': 'a b;c' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an unknown route with a 404 in the error shape', async () => {
    const res = await http(api.url, 'GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found', message: expect.any(String) });
  });
});

it('finishes in-flight requests on shutdown', async () => {
  const api = await startApi();
  const messages = Array.from({ length: 1000 }, () => referralMessage());
  let answered = false;
  const inFlight = http(api.url, 'POST', '/v1/referrals/batch', { token: token('referral-service', { uzovi: ['3311'] }), body: { messages } }).finally(() => (answered = true));
  // Let the request reach the server, then shut down while it is being handled.
  await new Promise((r) => setTimeout(r, 30));
  expect(answered).toBe(false);
  const closing = api.close();
  const res = await inFlight;
  await closing;
  expect(res.status).toBe(200);
  expect(res.body.summary.created).toBe(1000);
});

describe('readiness reflects each dependency', () => {
  it('is not ready while Redis is unreachable', async () => {
    // Port 1 on loopback: nothing listens there.
    const api = await startApi({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const ready = await http(api.url, 'GET', '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body).toEqual({ ready: false, checks: { postgres: 'up', migrations: 'current', redis: 'down' } });
      expect((await http(api.url, 'GET', '/health/live')).status).toBe(200);
    } finally {
      await api.close();
    }
  });

  it('is not ready while migrations are pending, nor while Postgres refuses connections', async () => {
    // A database of its own, left unmigrated (MIGRATIONS_RUN=false), which is then closed to connections.
    const u = new URL(process.env.TEST_DATABASE_URL!);
    u.pathname = `${u.pathname}_ready${randomBytes(3).toString('hex')}`;
    const url = u.toString();
    const name = u.pathname.slice(1);
    await ensureDatabase(url);
    const admin = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    const api = await startApi({ DATABASE_URL: url, MIGRATIONS_RUN: 'false' });
    try {
      const pending = await http(api.url, 'GET', '/health/ready');
      expect(pending.status).toBe(503);
      expect(pending.body).toEqual({ ready: false, checks: { postgres: 'up', migrations: 'pending', redis: 'up' } });

      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [name]);
      const down = await waitFor(async () => {
        const r = await http(api.url, 'GET', '/health/ready');
        return r.body.checks.postgres === 'down' ? r : undefined;
      });
      expect(down.status).toBe(503);
      expect(down.body).toEqual({ ready: false, checks: { postgres: 'down', migrations: 'unknown', redis: 'up' } });

      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
      const back = await waitFor(async () => {
        const r = await http(api.url, 'GET', '/health/ready');
        return r.body.checks.postgres === 'up' ? r : undefined;
      });
      expect(back.body.checks).toEqual({ postgres: 'up', migrations: 'pending', redis: 'up' });
    } finally {
      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`).catch(() => undefined);
      await admin.end();
      await api.close();
      await dropDatabase(url);
    }
  });
});
