/**
 * RS256 tokens verified against keys from a JWKS endpoint: a local node:http server serves the
 * key set of generated RSA key pairs and counts its fetches; the real API runs with
 * JWT_ALGORITHM=RS256 and JWT_JWKS_URL pointing at it.
 */
import { createHmac, generateKeyPairSync, KeyObject, randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import { DEV_JWT_SECRET } from '@app/platform';
import { http, RunningApi, startApi, testConfig } from './support/harness';

const { issuer, audience } = testConfig().jwt;
const keyA = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyB = generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = (key: KeyObject, kid: string) => ({ ...key.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' });

/** The identity provider's JWKS endpoint. */
const idp = {
  server: undefined as Server | undefined,
  port: 0,
  fetches: 0,
  keys: [jwk(keyA.publicKey, 'key-a')] as object[],
  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url !== '/jwks') {
        res.writeHead(404).end();
        return;
      }
      this.fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  },
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  },
  get url(): string {
    return `http://127.0.0.1:${this.port}/jwks`;
  },
};

function rs256(kid: string | undefined, key = keyA.privateKey, claims: object = {}): string {
  const payload = { role: 'mediator', uzovi: '3311', iss: issuer, aud: audience, sub: 'idp-user-1', exp: Math.floor(Date.now() / 1000) + 600, ...claims };
  return jwt.sign(payload, key, { algorithm: 'RS256', ...(kid === undefined ? {} : { keyid: kid }) });
}

const b64url = (v: object | string) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const claims = () => ({ role: 'mediator', uzovi: '3311', iss: issuer, aud: audience, sub: 'x', exp: Math.floor(Date.now() / 1000) + 600 });
const whoami = (api: RunningApi, t: string) => http(api.url, 'GET', '/v1/auth/whoami', { token: t });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jwksEnv = (over: Record<string, string> = {}) => ({ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: idp.url, ...over });

let api: RunningApi;
const others: RunningApi[] = [];

beforeAll(async () => {
  await idp.start();
  // A short cooldown, so the test can show rotation without waiting the default 30 s.
  api = await startApi(jwksEnv({ JWT_JWKS_MIN_REFRESH_SECONDS: '1', JWT_JWKS_CACHE_SECONDS: '600' }));
});
afterAll(async () => {
  await api?.close();
  for (const a of others) await a.close();
  await idp.stop();
});

it('lets a token signed with the JWKS key through (one fetch), and answers the next from the cache', async () => {
  const res = await whoami(api, rs256('key-a'));
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ subject: 'idp-user-1', role: 'mediator', uzovis: ['3311'] });
  expect(idp.fetches).toBe(1);
  for (let i = 0; i < 5; i++) expect((await whoami(api, rs256('key-a'))).status).toBe(200);
  expect(idp.fetches).toBe(1);
});

describe('refuses with 401', () => {
  const hs256 = () => jwt.sign(claims(), DEV_JWT_SECRET, { algorithm: 'HS256', keyid: 'key-a' });
  // Algorithm confusion: HS256 keyed with the RSA public key (PEM) the service trusts.
  const confused = () => {
    const head = `${b64url({ alg: 'HS256', typ: 'JWT', kid: 'key-a' })}.${b64url(claims())}`;
    const pem = keyA.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    return `${head}.${createHmac('sha256', pem).update(head).digest('base64url')}`;
  };
  const none = () => `${b64url({ alg: 'none', typ: 'JWT', kid: 'key-a' })}.${b64url(claims())}.`;
  const cases: Array<[string, () => string]> = [
    ['an unknown kid', () => rs256('key-unknown')],
    ['no kid', () => rs256(undefined)],
    ['a known kid but signed by another key', () => rs256('key-a', stranger.privateKey)],
    ['an HS256 token (the development secret)', hs256],
    ['an HS256 token keyed with the RSA public key', confused],
    ['alg none', none],
    ['another issuer', () => rs256('key-a', keyA.privateKey, { iss: 'elsewhere' })],
    ['an expired token', () => rs256('key-a', keyA.privateKey, { exp: Math.floor(Date.now() / 1000) - 60 })],
  ];
  it.each(cases)('%s', async (_name, make) => {
    const res = await whoami(api, make());
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', message: expect.any(String) });
  });
});

it('picks up a rotated key with one refresh when a token names the new kid', async () => {
  idp.keys = [jwk(keyA.publicKey, 'key-a'), jwk(keyB.publicKey, 'key-b')];
  await sleep(1100); // past the refresh cooldown
  const before = idp.fetches;
  const res = await whoami(api, rs256('key-b', keyB.privateKey));
  expect(res.status).toBe(200);
  expect(idp.fetches).toBe(before + 1);
  expect((await whoami(api, rs256('key-b', keyB.privateKey))).status).toBe(200);
  expect((await whoami(api, rs256('key-a'))).status).toBe(200);
  expect(idp.fetches).toBe(before + 1);
});

it('does not let forged kids cause a fetch storm: 100 random kids, at most one fetch (cold API, concurrent)', async () => {
  const cold = await startApi(jwksEnv()); // production defaults: 30 s between fetches
  others.push(cold);
  const before = idp.fetches;
  const results = await Promise.all(Array.from({ length: 100 }, () => whoami(cold, rs256(randomUUID()))));
  expect(results.map((r) => r.status)).toEqual(Array(100).fill(401));
  expect(idp.fetches - before).toBe(1);
  // The set it fetched serves the real kid without another fetch.
  expect((await whoami(cold, rs256('key-a'))).status).toBe(200);
  for (let i = 0; i < 100; i++) expect((await whoami(cold, rs256(`forged-${i}`))).status).toBe(401);
  expect(idp.fetches - before).toBe(1);
});

it('keeps working from a warm cache while the JWKS endpoint is down, even after the cache has expired', async () => {
  const shortCache = await startApi(jwksEnv({ JWT_JWKS_MIN_REFRESH_SECONDS: '1', JWT_JWKS_CACHE_SECONDS: '1' }));
  others.push(shortCache);
  expect((await whoami(shortCache, rs256('key-a'))).status).toBe(200);
  const port = idp.port;
  await idp.stop();
  expect((await whoami(api, rs256('key-a'))).status).toBe(200);
  expect((await whoami(api, rs256('key-b', keyB.privateKey))).status).toBe(200);
  await sleep(1100); // the short cache has expired: each request now tries a refresh (once per second), which fails
  for (let i = 0; i < 3; i++) expect((await whoami(shortCache, rs256('key-a'))).status).toBe(200);
  await sleep(1100);
  expect((await whoami(shortCache, rs256('key-a'))).status).toBe(200);
  expect((await whoami(shortCache, rs256('key-unknown'))).status).toBe(401);
  expect(shortCache.logs.text).toContain('JWKS refresh failed; keeping the cached keys');
  await idp.start(port);
});

it('answers 401, never 500, with a cold cache and the endpoint down; recovers once it is back', async () => {
  const port = idp.port;
  await idp.stop();
  const cold = await startApi(jwksEnv({ JWT_JWKS_MIN_REFRESH_SECONDS: '1' }));
  others.push(cold);
  const res = await whoami(cold, rs256('key-a'));
  expect(res.status).toBe(401);
  expect(res.body).toMatchObject({ statusCode: 401, message: 'token is signed with an unknown key' });
  expect(cold.logs.text).toContain('JWKS fetch failed; tokens are refused until it succeeds');
  expect(cold.logs.text).not.toMatch(/"statusCode":500|"level":50/);
  await idp.start(port);
  await sleep(1100);
  expect((await whoami(cold, rs256('key-a'))).status).toBe(200);
});

it('gives a slow JWKS endpoint no more than JWT_JWKS_TIMEOUT_MS', async () => {
  const hanging = createServer(() => undefined); // accepts, never answers
  await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
  try {
    const slow = await startApi({ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/jwks`, JWT_JWKS_TIMEOUT_MS: '300' });
    others.push(slow);
    const started = Date.now();
    expect((await whoami(slow, rs256('key-a'))).status).toBe(401);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(slow.logs.text).toContain('timed out after 300 ms');
  } finally {
    hanging.closeAllConnections();
    await new Promise<void>((r) => hanging.close(() => r()));
  }
});
