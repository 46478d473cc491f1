/**
 * HTTP hardening (libs/platform/src/http/security.ts): security headers on every answer, CORS
 * closed unless CORS_ORIGINS lists the origin, the per-client rate limit, HSTS when enabled.
 */
import { randomBytes } from 'node:crypto';
import { API_CSP, ConfigError, DOCS_CSP, HSTS, JSON_BOUNDS, JsonBoundsScanner, loadConfig, RateDecision, RateLimiter, SharedRateLimiter } from '@app/platform';
import { syntheticBsn } from '@app/core';
import { http, pg, redis, referralMessage, RunningApi, startApi, testConfig, token } from './support/harness';
import { addProvider } from './support/registry';

const mediator = (subject?: string) => token('mediator', { uzovi: ['3311'], subject });
const referralService = () => token('referral-service', { uzovi: ['3311'] });

function expectSecurityHeaders(res: { status: number; headers: Headers }, what: string): void {
  const h = res.headers;
  expect({
    what,
    status: res.status,
    headers: pick(h, ['x-content-type-options', 'x-frame-options', 'referrer-policy', 'cross-origin-resource-policy', 'content-security-policy', 'cache-control', 'x-powered-by']),
  }).toEqual({
    what,
    status: res.status,
    headers: {
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-resource-policy': 'same-origin',
      'content-security-policy': API_CSP,
      'cache-control': 'no-store',
      'x-powered-by': null,
    },
  });
}

function pick(h: Headers, names: string[]): Record<string, string | null> {
  return Object.fromEntries(names.map((n) => [n, h.get(n)]));
}

const preflight = (url: string, path: string, origin: string) =>
  http(url, 'OPTIONS', path, { headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });

describe('with the default configuration', () => {
  let api: RunningApi;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  it('sends the security headers on a 200, a 404, a 401, a 400 and a 415', async () => {
    const ok = await http(api.url, 'GET', '/v1/auth/whoami', { token: mediator() });
    expect(ok.status).toBe(200);
    expectSecurityHeaders(ok, '200 whoami');
    const live = await http(api.url, 'GET', '/health/live');
    expect(live.status).toBe(200);
    expectSecurityHeaders(live, '200 health');
    const missing = await http(api.url, 'GET', '/v1/nothing-here');
    expect(missing.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expectSecurityHeaders(missing, '404');
    const outside = await http(api.url, 'GET', '/nothing-here-either');
    expect(outside.status).toBe(404);
    expectSecurityHeaders(outside, '404 outside /v1');
    const anonymous = await http(api.url, 'GET', '/v1/auth/whoami');
    expect(anonymous.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expectSecurityHeaders(anonymous, '401');
    const invalid = await http(api.url, 'POST', '/v1/referrals', { token: referralService(), body: {} });
    expect(invalid.body).toMatchObject({ statusCode: 400, error: 'Bad Request', details: expect.any(Array) });
    expectSecurityHeaders(invalid, '400');
    const form = await http(api.url, 'POST', '/v1/referrals', { token: referralService(), rawBody: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    expectSecurityHeaders(form, '415');
  });

  it('sends no HSTS outside production unless enabled', async () => {
    expect(api.config.security.hsts).toBe(false);
    expect((await http(api.url, 'GET', '/health/live')).headers.get('strict-transport-security')).toBeNull();
  });

  it('still serves the Swagger UI, with a CSP that allows exactly its own files', async () => {
    const page = await http(api.url, 'GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toBe(DOCS_CSP);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html: string = page.body;
    // script-src 'self' allows no inline script: every script must be a file of our own origin.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    const assets = [...html.matchAll(/<(?:script[^>]*\bsrc|link[^>]*\bhref)=["']([^"']+)["']/gi)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      const url = new URL(asset, `${api.url}/docs`);
      expect(url.origin).toBe(api.url);
      const res = await fetch(url);
      await res.arrayBuffer();
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
    }
    const json = await http(api.url, 'GET', '/docs-json');
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(json.body.openapi).toMatch(/^3\./);
  });

  it('allows no cross-origin access', async () => {
    expect(api.config.security.corsOrigins).toEqual([]);
    const res = await http(api.url, 'GET', '/v1/auth/whoami', { token: mediator(), headers: { origin: 'https://portal.example.nl' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await preflight(api.url, '/v1/referrals', 'https://portal.example.nl');
    expect(pre.status).toBe(403);
    expect(pre.body).toEqual({ statusCode: 403, error: 'Forbidden', message: expect.stringMatching(/origin/i), requestId: expect.any(String) });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect(pre.headers.get('access-control-allow-methods')).toBeNull();
    expectSecurityHeaders(pre, 'refused preflight');
  });

  it('does not limit outside production unless RATE_LIMIT_PER_MINUTE is set', async () => {
    expect(api.config.security.rateLimitPerMinute).toBe(0);
    const one = mediator('unlimited');
    const statuses = new Set<number>();
    for (let i = 0; i < 50; i++) statuses.add((await http(api.url, 'GET', '/v1/auth/whoami', { token: one })).status);
    expect([...statuses]).toEqual([200]);
  });
});

describe('CORS_ORIGINS', () => {
  let api: RunningApi;
  const portal = 'https://portal.example.nl';
  beforeAll(async () => {
    api = await startApi({ CORS_ORIGINS: `${portal}, http://localhost:5173` });
  });
  afterAll(() => api.close());

  it('lets a listed origin read answers, and names the headers it may read', async () => {
    const res = await http(api.url, 'GET', '/v1/auth/whoami', { token: mediator(), headers: { origin: portal } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(portal);
    expect(res.headers.get('vary')).toMatch(/Origin/);
    expect(res.headers.get('access-control-expose-headers')).toMatch(/X-Request-Id/);
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    const other = await http(api.url, 'GET', '/v1/auth/whoami', { token: mediator(), headers: { origin: 'http://localhost:5173' } });
    expect(other.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    // Errors too, so the page can read why it was refused.
    const refused = await http(api.url, 'GET', '/v1/auth/whoami', { headers: { origin: portal } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(portal);
  });

  it('answers a preflight from a listed origin with 204 and what it may send', async () => {
    const pre = await preflight(api.url, '/v1/referrals', portal);
    expect(pre.status).toBe(204);
    expect(pre.body).toBeUndefined();
    expect(pick(pre.headers, ['access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers', 'access-control-max-age'])).toEqual({
      'access-control-allow-origin': portal,
      'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
      'access-control-allow-headers': 'Authorization, Content-Type, X-Request-Id',
      'access-control-max-age': '600',
    });
    expect(pre.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('gives an unlisted origin (or a look-alike) no CORS headers and refuses its preflight', async () => {
    for (const origin of ['https://evil.example', 'http://portal.example.nl', 'https://portal.example.nl.evil.example', 'https://portal.example.nl:8443', 'null']) {
      const res = await http(api.url, 'GET', '/v1/auth/whoami', { token: mediator(), headers: { origin } });
      expect({ origin, acao: res.headers.get('access-control-allow-origin') }).toEqual({ origin, acao: null });
      const pre = await preflight(api.url, '/v1/referrals', origin);
      expect({ origin, status: pre.status, acao: pre.headers.get('access-control-allow-origin') }).toEqual({ origin, status: 403, acao: null });
      expect(pre.body).toMatchObject({ statusCode: 403, error: 'Forbidden', requestId: expect.any(String) });
    }
  });

  it('leaves requests without an Origin (servers, same-origin GETs) alone', async () => {
    const res = await http(api.url, 'GET', '/v1/auth/whoami', { token: mediator() });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

/** Forgets every rate-limit counter of this run (they live in Redis, shared by the instances). */
async function clearRateLimits(): Promise<string[]> {
  const r = redis();
  try {
    const keys = await r.keys(`${process.env.TEST_QUEUE_PREFIX}:ratelimit:*`);
    if (keys.length) await r.del(...keys);
    return keys;
  } finally {
    r.disconnect();
  }
}

describe('RATE_LIMIT_PER_MINUTE: per client, not sidestepped, shared between instances', () => {
  let api: RunningApi;
  let second: RunningApi;
  beforeAll(async () => {
    api = await startApi({ RATE_LIMIT_PER_MINUTE: '5' });
    second = await startApi({ RATE_LIMIT_PER_MINUTE: '5' });
  });
  beforeEach(() => clearRateLimits());
  afterAll(async () => {
    await api.close();
    await second.close();
  });

  it('refuses the 6th request of one client within the minute with 429, Retry-After and the error shape', async () => {
    const mine = mediator('limited-client');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await http(api.url, 'GET', '/v1/auth/whoami', { token: mine })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const sixth = await http(api.url, 'GET', '/v1/auth/whoami', { token: mine, headers: { 'x-request-id': 'too-many-1' } });
    expect(sixth.status).toBe(429);
    expect(sixth.body).toEqual({ statusCode: 429, error: 'Too Many Requests', message: expect.stringMatching(/5 per minute/), requestId: 'too-many-1' });
    const retryAfter = Number(sixth.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 120).toBe(true);
    expect(pick(sixth.headers, ['ratelimit-limit', 'ratelimit-remaining'])).toEqual({ 'ratelimit-limit': '5', 'ratelimit-remaining': '0' });
    expectSecurityHeaders(sixth, '429');
    // Refused before the body is read or the route runs: a POST is refused alike.
    const post = await http(api.url, 'POST', '/v1/referrals', { token: mine, body: {} });
    expect(post.status).toBe(429);
    expect(api.logs.text).toContain('"reqId":"too-many-1"');
  });

  it('does not affect another client (another token)', async () => {
    const first = mediator('busy-client');
    for (let i = 0; i < 6; i++) await http(api.url, 'GET', '/v1/auth/whoami', { token: first });
    expect((await http(api.url, 'GET', '/v1/auth/whoami', { token: first })).status).toBe(429);
    const other = await http(api.url, 'GET', '/v1/auth/whoami', { token: mediator('quiet-client') });
    expect(other.status).toBe(200);
  });

  it('counts requests without a token by address, and never limits /health', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await http(api.url, 'GET', '/v1/auth/whoami')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    for (let i = 0; i < 20; i++) {
      const live = await http(api.url, 'GET', '/health/live');
      expect(live.status).toBe(200);
      expect(live.headers.get('ratelimit-limit')).toBeNull();
    }
    expect((await http(api.url, 'GET', '/health/ready')).status).toBe(200);
  });

  // The rate limit cannot be sidestepped, and is shared between instances (`second`).

  it('counts made-up tokens and any spelling of the scheme against the address', async () => {
    const valid = mediator('spelling-client');
    const [, payload] = valid.split('.');
    const headers = ['Bearer made-up-token', `bearer ${valid.slice(0, -4)}AAAA`, `BEARER   ${valid}x`, `Bearer  eyJhbGciOiJub25lIn0.${payload}.`, 'Basic dXNlcjpwYXNz', 'Bearer'];
    const statuses: number[] = [];
    for (const authorization of headers) statuses.push((await http(api.url, 'GET', '/v1/auth/whoami', { headers: { authorization } })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    // No token at all: the same address, the same (spent) limit.
    expect((await http(api.url, 'GET', '/v1/auth/whoami')).status).toBe(429);
    // A valid token has a limit of its own, whatever the spelling of the scheme.
    expect((await http(api.url, 'GET', '/v1/auth/whoami', { headers: { authorization: `bearer   ${valid}` } })).status).toBe(200);
    expect((await http(api.url, 'GET', '/v1/auth/whoami', { token: valid })).status).toBe(200);
  });

  it('shares one limit between two API instances (counters in Redis), for a token and for an address', async () => {
    const mine = mediator('two-instances');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await http(i % 2 ? second.url : api.url, 'GET', '/v1/auth/whoami', { token: mine })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect((await http(second.url, 'GET', '/v1/auth/whoami', { token: mine })).status).toBe(429);
    const anonymous: number[] = [];
    for (let i = 0; i < 6; i++) anonymous.push((await http(i < 3 ? api.url : second.url, 'GET', '/v1/auth/whoami', { headers: { authorization: `Bearer fake-${i}` } })).status);
    expect(anonymous).toEqual([401, 401, 401, 401, 401, 429]);
    // The token's own limit was unaffected by the address's, and the other way round.
    expect((await http(api.url, 'GET', '/v1/auth/whoami', { token: mediator('third-party') })).status).toBe(200);
  });

  it('keeps no token, subject or address in Redis keys', async () => {
    const mine = mediator('key-check-subject');
    await http(api.url, 'GET', '/v1/auth/whoami', { token: mine });
    await http(api.url, 'GET', '/v1/auth/whoami');
    const keys = await clearRateLimits();
    expect(keys.length).toBe(2);
    for (const k of keys) {
      expect(k).toMatch(new RegExp(`^${process.env.TEST_QUEUE_PREFIX}:ratelimit:\\{[A-Za-z0-9_-]{43}\\}:\\d+$`));
      expect(k).not.toContain('127.0.0.1');
      expect(k).not.toContain('key-check-subject');
    }
  });

  it('with Redis unreachable: lets verified subjects through, limits addresses in process', async () => {
    const limiter = new SharedRateLimiter(3, 100, { url: 'redis://127.0.0.1:1', prefix: 'unreachable', keySecret: Buffer.alloc(32, 7), timeoutMs: 100 });
    try {
      const hit = (client: string) => new Promise<RateDecision>((resolve) => limiter.hit(client, resolve));
      const subject: boolean[] = [];
      for (let i = 0; i < 6; i++) subject.push((await hit('s:someone')).allowed);
      expect(subject).toEqual([true, true, true, true, true, true]);
      const address: boolean[] = [];
      for (let i = 0; i < 5; i++) address.push((await hit('i:192.0.2.1')).allowed);
      expect(address).toEqual([true, true, true, false, false]);
    } finally {
      await limiter.close();
    }
  });
});

describe('bounds on a JSON body (before parsing and validation)', () => {
  let api: RunningApi;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());
  const post = (path: string, rawBody: string, who = referralService()) => http(api.url, 'POST', path, { token: who, rawBody });

  it('refuses an object with 100,000 unknown keys (1.5 MB) with a 400 naming the object', async () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `"k${i.toString(36).padStart(9, 'x')}":1`).join(',');
    const body = `{${keys}}`;
    expect(body.length).toBeGreaterThan(1_400_000);
    const res = await post('/v1/referrals', body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: expect.any(String),
      details: [{ field: '(body)', reason: `has more than ${JSON_BOUNDS.objectKeys} members` }],
      requestId: expect.any(String),
    });
    // The API answers at once afterwards.
    expect((await http(api.url, 'GET', '/health/live')).status).toBe(200);
  });

  it('names the nested object, the too-long string, the too-long array and the total', async () => {
    const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`x${i}`, 1]));
    const nested = await post('/v1/referrals', JSON.stringify(referralMessage({ consent: many })));
    expect(nested.body.details).toEqual([{ field: 'consent', reason: 'has more than 256 members' }]);
    const long = await post('/v1/referrals', JSON.stringify(referralMessage({ klachtenprofiel: 'a'.repeat(64 * 1024 + 1) })));
    expect(long.status).toBe(400);
    expect(long.body.details).toEqual([{ field: 'klachtenprofiel', reason: 'is longer than 65536 bytes' }]);
    const longKey = await post('/v1/referrals', `{"${'k'.repeat(70_000)}":1}`);
    expect(longKey.body.details).toEqual([{ field: '(body)', reason: 'has a key longer than 65536 bytes' }]);
    const items = await post('/v1/referrals/batch', JSON.stringify({ messages: [referralMessage(), { tags: Array.from({ length: 10_001 }, () => 0) }] }));
    expect(items.status).toBe(400);
    expect(items.body.details).toEqual([{ field: 'messages[1].tags', reason: 'has more than 10000 items' }]);
    const wide = Array.from({ length: 200 }, () => Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}`, 0])));
    const total = await post('/v1/referrals/batch', JSON.stringify({ messages: wide }));
    expect(total.body.details).toEqual([{ field: '(body)', reason: 'has more than 25000 members in all' }]);
    const deep = await post('/v1/referrals', `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`);
    expect(deep.status).toBe(400);
    expect(deep.body.details).toEqual([{ field: '(body)', reason: 'is nested deeper than 32 levels' }]);
  });

  it('bounds FHIR JSON too (answered as an OperationOutcome)', async () => {
    const keys = Array.from({ length: 5_000 }, (_, i) => `"k${i}":1`).join(',');
    const res = await http(api.url, 'POST', '/fhir/Bundle', { token: referralService(), rawBody: `{${keys}}`, headers: { 'content-type': 'application/fhir+json' } });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue).toEqual([{ severity: 'error', code: 'structure', diagnostics: 'The request body has more than 256 members', expression: ['Bundle'] }]);
    const long = await http(api.url, 'POST', '/fhir/Bundle', {
      token: referralService(),
      rawBody: JSON.stringify({ resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Patient', name: [{ text: 'x'.repeat(70_000) }] } }] }),
      headers: { 'content-type': 'application/fhir+json' },
    });
    expect(long.status).toBe(400);
    expect(long.body.issue).toEqual([
      {
        severity: 'error',
        code: 'invalid',
        diagnostics: 'Bundle.entry[0].resource.name[0].text is longer than 65536 bytes',
        expression: ['Bundle.entry[0].resource.name[0].text'],
      },
    ]);
  });

  it('lists at most 100 field problems', async () => {
    const unknown = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`unknown${i}`, 1]));
    const res = await post('/v1/referrals', JSON.stringify({ ...referralMessage(), ...unknown }));
    expect(res.status).toBe(400);
    expect(res.body.details.length).toBeGreaterThan(0);
    expect(res.body.details.length).toBeLessThanOrEqual(100);
  });

  it('still accepts a full referral batch (1,000 messages) and a big JSON snapshot', async () => {
    const batch = await post('/v1/referrals/batch', JSON.stringify({ messages: Array.from({ length: 1000 }, () => referralMessage()) }));
    expect(batch.status).toBe(200);
    expect(batch.body.summary.created).toBe(1000);
    const agb = '73889901';
    const db = await pg();
    try {
      await addProvider(db, { agb, name: 'GGZ Bounds', locations: [{ code: 'a', region: 'utrecht', groups: ['depressie'] }] });
    } finally {
      await db.end();
    }
    let seed = 60_000_000 + Math.floor(Math.random() * 1_000_000) * 7;
    // 12,000 entries (~1.9 MB, 96,000 members): over the default totals, within the body limit.
    const entries = Array.from({ length: 12_000 }, (_, k) => ({
      clientRef: `C${k}`,
      bsn: syntheticBsn((seed += 13)),
      location: 'a',
      diagnosisGroup: 'depressie',
      registeredOn: '2026-09-01',
      stage: 'waiting-intake',
      waitsForThisProvider: false,
    }));
    const body = JSON.stringify(entries);
    expect(body.length).toBeLessThan(api.config.bodyLimitBytes);
    const snapshot = await http(api.url, 'POST', '/v1/ttp/snapshots', { token: token('provider', { agb, subject: `provider-${agb}` }), rawBody: body });
    expect(snapshot.status).toBe(201);
    expect(snapshot.body.entries).toBe(12_000);
  });
});

describe('the JSON bounds scanner (on bytes, as they arrive)', () => {
  const bodies = [
    JSON.stringify({ a: 1, 'odd "key"': { x: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, `\\"${i}`])) } }),
    JSON.stringify({ messages: [{}, { tags: Array.from({ length: 10_001 }, () => 'a\\b') }] }),
    JSON.stringify({ ['a key of more than sixty-four bytes, which is cut when it names the field']: { s: 'a'.repeat(70_000) } }),
    JSON.stringify({ ['k'.repeat(70_000)]: 1 }),
    `${'[{"a":'.repeat(20)}1${'}]'.repeat(20)}`,
    JSON.stringify({ fine: [1, 2, { x: 'y\\"z', 'a\\"b': [] }] }),
  ];
  const expected = [
    { field: 'odd__key_.x', reason: 'has more than 256 members' },
    { field: 'messages[1].tags', reason: 'has more than 10000 items' },
    { field: 'a_key_of_more_than_sixty-four_bytes__which_is_cut_when_it_names_.s', reason: 'is longer than 65536 bytes' },
    { field: '(body)', reason: 'has a key longer than 65536 bytes' },
    { field: '(body)', reason: 'is nested deeper than 32 levels' },
    undefined,
  ];

  it.each(bodies.map((b, i) => [i, b] as const))('finds the same problem in body %i however it is split into chunks', (i, body) => {
    const bytes = Buffer.from(body);
    for (const step of [1, 2, 3, 7, 4096, bytes.length]) {
      const scanner = new JsonBoundsScanner(JSON_BOUNDS);
      for (let at = 0; at < bytes.length && scanner.write(bytes.subarray(at, at + step)); at += step);
      expect({ step, problem: scanner.problem }).toEqual({ step, problem: expected[i] });
    }
  });
});

describe('the rate limiter (sliding window, bounded memory)', () => {
  it('lets the previous minute count for the part of it still within the last 60 s', () => {
    let now = 60_000 * 1000; // the start of a window
    const limiter = new RateLimiter(10, 100, 60_000, () => now);
    for (let i = 0; i < 10; i++) expect(limiter.hit('a').allowed).toBe(true);
    const refused = limiter.hit('a');
    expect(refused).toMatchObject({ allowed: false, remaining: 0 });
    // 10 in the window: at the next window's start all 10 still count; one is free once 1/10 of it passed.
    expect(refused.retryAfterSeconds).toBe(66);
    now += 60_000; // next window, 0 s in: 10 × 1.0 still count
    expect(limiter.hit('a').allowed).toBe(false);
    now += 30_000; // 30 s in: 10 × 0.5 = 5 count
    const hits = Array.from({ length: 6 }, () => limiter.hit('a').allowed);
    expect(hits).toEqual([true, true, true, true, true, false]);
    now += 120_000; // idle for two windows: nothing counts
    expect(limiter.hit('a')).toMatchObject({ allowed: true, remaining: 9 });
  });

  it('tracks at most maxClients, and forgets idle ones', () => {
    let now = 0;
    const limiter = new RateLimiter(5, 100, 60_000, () => now);
    for (let i = 0; i < 1000; i++) limiter.hit(`client-${i}`);
    expect(limiter.trackedClients).toBe(100);
    now += 120_000;
    limiter.hit('new');
    expect(limiter.trackedClients).toBe(1);
  });
});

describe('configuration', () => {
  it('sends HSTS when HSTS_ENABLED=true', async () => {
    const api = await startApi({ HSTS_ENABLED: 'true' });
    try {
      for (const path of ['/health/live', '/v1/auth/whoami', '/docs']) {
        expect((await http(api.url, 'GET', path)).headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      }
      expect(HSTS).toBe('max-age=31536000; includeSubDomains');
    } finally {
      await api.close();
    }
  });

  it('turns HSTS and the rate limit on by default in production', () => {
    const key = () => randomBytes(32).toString('base64');
    const production = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: randomBytes(32).toString('hex'),
      BSN_ENCRYPTION_KEYS: `k1:${key()}`,
      BSN_INDEX_KEY: key(),
      MESSAGE_FINGERPRINT_KEY: key(),
      TTP_KEYS: `1:${key()}`,
      TTP_STAGE1_KEY: key(),
      AUDIT_CHECKPOINT_KEY: key(),
    });
    expect(production.security).toEqual({ corsOrigins: [], hsts: true, rateLimitPerMinute: 120000, rateLimitMaxClients: 10000 });
  });

  it.each([
    ['CORS_ORIGINS', '*'],
    ['CORS_ORIGINS', 'https://portal.example.nl/'],
    ['CORS_ORIGINS', 'https://Portal.example.nl'],
    ['CORS_ORIGINS', 'portal.example.nl'],
    ['CORS_ORIGINS', 'https://portal.example.nl:443'],
    ['CORS_ORIGINS', 'ftp://portal.example.nl'],
    ['HSTS_ENABLED', 'sometimes'],
    ['RATE_LIMIT_PER_MINUTE', '-1'],
    ['RATE_LIMIT_PER_MINUTE', 'lots'],
    ['RATE_LIMIT_MAX_CLIENTS', '10'],
  ])('refuses %s=%s with a message naming it', (name, value) => {
    let error: unknown;
    try {
      testConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringContaining(name)]);
  });
});
