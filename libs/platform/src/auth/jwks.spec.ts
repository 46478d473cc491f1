import { generateKeyPairSync, KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { loadConfig } from '../config/config';
import { importJwk, JwksConfig, JwksKeySource } from './jwks-key-source';
import { TokenError, TokenService } from './token.service';

const pair = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwkOf = (key: KeyObject, kid: string, extra: Record<string, unknown> = {}) => ({ ...key.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig', ...extra });
const quiet = { warn: () => undefined, log: () => undefined };
const cfg = (over: Partial<JwksConfig> = {}): JwksConfig => ({ url: 'https://idp.test/jwks', cacheSeconds: 600, minRefreshSeconds: 30, timeoutMs: 1000, ...over });

/** A fake JWKS endpoint: serves whatever `keys` holds, or fails while `down`. */
function endpoint(initial: object[]) {
  const state = { keys: initial, down: false, calls: 0 };
  const fetchImpl = (async () => {
    state.calls++;
    if (state.down) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    return new Response(JSON.stringify({ keys: state.keys }), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as unknown as typeof fetch;
  return { state, fetchImpl };
}

describe('importJwk', () => {
  const { publicKey, privateKey } = pair();

  it('takes an RSA signing key with alg RS256 or without alg', () => {
    expect(importJwk(jwkOf(publicKey, 'a'))).toMatchObject({ kid: 'a' });
    expect(importJwk(jwkOf(publicKey, 'a', { alg: undefined }))).toMatchObject({ kid: 'a' });
  });

  it('yields only the public key from a JWK that carries private parameters', () => {
    const r = importJwk({ ...privateKey.export({ format: 'jwk' }), kid: 'p', alg: 'RS256', use: 'sig' });
    expect('key' in r && r.key.type).toBe('public');
  });

  it.each([
    ['another alg', { alg: 'RS512' }, /alg/],
    ['an encryption key', { use: 'enc' }, /use/],
    ['no use', { use: undefined }, /use/],
    ['key_ops without verify', { key_ops: ['encrypt'] }, /key_ops/],
    ['no kid', { kid: undefined }, /kid/],
    ['an EC key', { kty: 'EC' }, /kty/],
    ['a broken modulus', { n: 'AQAB' }, /(not a valid|2048)/],
  ])('skips %s', (_name, extra, reason) => {
    const r = importJwk(jwkOf(publicKey, 'a', extra));
    expect('skipped' in r && r.skipped).toMatch(reason);
  });

  it('skips RSA keys shorter than 2048 bits', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(importJwk(jwkOf(small, 's'))).toEqual({ skipped: 'key "s": modulus shorter than 2048 bits' });
  });
});

describe('JwksKeySource', () => {
  const a = pair();
  const b = pair();

  it('fetches once when cold, then answers from the cache', async () => {
    const { state, fetchImpl } = endpoint([jwkOf(a.publicKey, 'a')]);
    const src = new JwksKeySource(cfg(), { fetch: fetchImpl, logger: quiet });
    expect(src.peek('a')).toBeUndefined();
    const [k1, k2] = await Promise.all([src.resolve('a'), src.resolve('a')]);
    expect(k1).toBeDefined();
    expect(k2).toBe(k1);
    expect(src.peek('a')).toBe(k1);
    expect(state.calls).toBe(1);
  });

  it('refetches for an unknown kid at most once per cooldown', async () => {
    let now = 1_000_000;
    const { state, fetchImpl } = endpoint([jwkOf(a.publicKey, 'a')]);
    const src = new JwksKeySource(cfg({ minRefreshSeconds: 30 }), { fetch: fetchImpl, now: () => now, logger: quiet });
    await src.resolve('a');
    for (let i = 0; i < 100; i++) expect(await src.resolve(`forged-${i}`)).toBeUndefined();
    expect(state.calls).toBe(1);
    // Rotation: the new key is picked up once the cooldown has passed.
    state.keys = [jwkOf(a.publicKey, 'a'), jwkOf(b.publicKey, 'b')];
    expect(await src.resolve('b')).toBeUndefined();
    now += 30_000;
    expect(await src.resolve('b')).toBeDefined();
    expect(state.calls).toBe(2);
  });

  it('refreshes in the background after the TTL, and keeps its keys while the endpoint fails', async () => {
    let now = 1_000_000;
    const { state, fetchImpl } = endpoint([jwkOf(a.publicKey, 'a')]);
    const src = new JwksKeySource(cfg({ cacheSeconds: 60, minRefreshSeconds: 10 }), { fetch: fetchImpl, now: () => now, logger: quiet });
    await src.resolve('a');
    state.down = true;
    now += 61_000;
    expect(src.peek('a')).toBeDefined(); // answers at once and starts a refresh
    await src.refresh(); // joins the one in flight
    expect(state.calls).toBe(2);
    expect(src.peek('a')).toBeDefined();
    expect(src.status()).toMatchObject({ keys: 1, stale: true, lastError: 'fetch failed (ECONNREFUSED)' });
    // Back up, with a rotated set: after the cooldown the old key is gone, the new one in.
    state.down = false;
    state.keys = [jwkOf(b.publicKey, 'b')];
    now += 10_000;
    src.peek('b');
    await src.refresh();
    expect(src.peek('a')).toBeUndefined();
    expect(src.peek('b')).toBeDefined();
    expect(src.status()).toMatchObject({ keys: 1, stale: false, lastError: null, fetches: 3 });
  });

  it('keeps the cache when the endpoint answers an error, non-JSON or no usable key', async () => {
    let now = 0;
    let answer: () => Response = () => new Response(JSON.stringify({ keys: [jwkOf(a.publicKey, 'a')] }));
    const src = new JwksKeySource(cfg({ minRefreshSeconds: 1 }), { fetch: (async () => answer()) as unknown as typeof fetch, now: () => now, logger: quiet });
    await src.resolve('a');
    for (const [make, reason] of [
      [() => new Response('oops', { status: 503 }), /HTTP 503/],
      [() => new Response('<html>'), /JSON/],
      [() => new Response(JSON.stringify({ nokeys: true })), /keys/],
      [() => new Response(JSON.stringify({ keys: [jwkOf(a.publicKey, 'x', { use: 'enc' })] })), /no usable/],
    ] as Array<[() => Response, RegExp]>) {
      answer = make;
      now += 1000;
      await src.refresh();
      expect(src.status().lastError).toMatch(reason);
      expect(src.peek('a')).toBeDefined();
    }
  });

  it('gives up on a slow endpoint after its timeout, without throwing', async () => {
    const hang = ((_url: string, init: RequestInit) =>
      new Promise((_res, rej) => init.signal!.addEventListener('abort', () => rej(init.signal!.reason)))) as unknown as typeof fetch;
    const src = new JwksKeySource(cfg({ timeoutMs: 100 }), { fetch: hang, logger: quiet });
    await expect(src.resolve('a')).resolves.toBeUndefined();
    expect(src.status()).toMatchObject({ keys: 0, lastError: 'timed out after 100 ms' });
  });
});

describe('TokenService with a JWKS', () => {
  const a = pair();
  const jwtCfg = { algorithm: 'RS256' as const, issuer: 'idp', audience: 'ggz', jwks: cfg() };
  const sign = (claims: object, key = a.privateKey, header: object = { kid: 'a' }, alg: jwt.Algorithm = 'RS256') =>
    jwt.sign({ role: 'mediator', uzovi: '3311', ...claims }, key, {
      algorithm: alg,
      issuer: 'idp',
      audience: 'ggz',
      subject: 's',
      expiresIn: 60,
      header: { alg, ...header } as jwt.JwtHeader,
    });

  function service() {
    const ep = endpoint([jwkOf(a.publicKey, 'a')]);
    return { ep, tokens: new TokenService(jwtCfg, { jwks: new JwksKeySource(jwtCfg.jwks, { fetch: ep.fetchImpl, logger: quiet }) }) };
  }

  it('waits for the set on a cold cache, then verifies synchronously', async () => {
    const { tokens } = service();
    const t = sign({});
    expect(() => tokens.verify(t)).toThrow('token is signed with an unknown key');
    const first = tokens.authenticate(t);
    expect(first).toBeInstanceOf(Promise);
    await expect(first).resolves.toEqual({ subject: 's', role: 'mediator', uzovis: ['3311'], agb: undefined });
    const second = tokens.authenticate(t);
    expect(second).not.toBeInstanceOf(Promise);
    expect(tokens.verify(t).subject).toBe('s');
  });

  it('refuses tokens that could not pass before fetching anything', async () => {
    const { ep, tokens } = service();
    expect(() => tokens.authenticate(sign({}, a.privateKey, {}))).toThrow('token names no signing key (kid)');
    expect(() => tokens.authenticate(jwt.sign({ role: 'mediator' }, 'x'.repeat(32), { algorithm: 'HS256', header: { alg: 'HS256', kid: 'a' } as jwt.JwtHeader }))).toThrow(
      TokenError,
    );
    expect(() => tokens.authenticate(jwt.sign({ role: 'mediator' }, '', { algorithm: 'none', header: { alg: 'none', kid: 'a' } as jwt.JwtHeader }))).toThrow(TokenError);
    expect(() => tokens.authenticate('hello')).toThrow(TokenError);
    expect(ep.state.calls).toBe(0);
  });

  it('refuses a token signed by another key under a known kid, and an unknown kid', async () => {
    const { tokens } = service();
    await tokens.authenticate(sign({}));
    expect(() => tokens.authenticate(sign({}, pair().privateKey))).toThrow('token is not valid');
    await expect(tokens.authenticate(sign({}, a.privateKey, { kid: 'zzz' }))).rejects.toThrow('token is signed with an unknown key');
  });

  it('reports the cache for a readiness check, and can warm it', async () => {
    const { ep, tokens } = service();
    expect(tokens.jwksStatus()).toMatchObject({ keys: 0, fetchedAt: null });
    await expect(tokens.warmJwks()).resolves.toMatchObject({ keys: 1, stale: false, fetches: 1 });
    await tokens.warmJwks();
    expect(ep.state.calls).toBe(1);
    expect(tokens.authenticate(sign({}))).not.toBeInstanceOf(Promise);
    expect(new TokenService(loadConfig({}).jwt).jwksStatus()).toBeUndefined();
    await expect(new TokenService(loadConfig({}).jwt).warmJwks()).resolves.toBeUndefined();
  });
});

describe('JWKS configuration', () => {
  it('reads JWT_JWKS_URL and its settings with defaults', () => {
    const c = loadConfig({ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: 'http://127.0.0.1:9999/jwks' });
    expect(c.jwt.jwks).toEqual({ url: 'http://127.0.0.1:9999/jwks', cacheSeconds: 600, minRefreshSeconds: 30, timeoutMs: 3000 });
    expect(
      loadConfig({ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: 'https://idp/jwks', JWT_JWKS_CACHE_SECONDS: '60', JWT_JWKS_MIN_REFRESH_SECONDS: '5', JWT_JWKS_TIMEOUT_MS: '500' }).jwt
        .jwks,
    ).toEqual({
      url: 'https://idp/jwks',
      cacheSeconds: 60,
      minRefreshSeconds: 5,
      timeoutMs: 500,
    });
  });

  it('needs a public key or a JWKS URL for RS256', () => {
    expect(() => loadConfig({ JWT_ALGORITHM: 'RS256' })).toThrow(/JWT_PUBLIC_KEY[\s\S]*JWT_JWKS_URL/);
  });

  it('accepts https only in production, and refuses nonsense, HS256 and both key sources', () => {
    const prod = { NODE_ENV: 'production', JWT_ALGORITHM: 'RS256', BSN_ENCRYPTION_KEYS: `a:${Buffer.alloc(32, 1).toString('base64')}` };
    expect(() => loadConfig({ ...prod, JWT_JWKS_URL: 'http://idp/jwks' })).toThrow(/JWT_JWKS_URL must be an https:\/\/ URL in production/);
    expect(() => loadConfig({ ...prod, JWT_JWKS_URL: 'https://idp/jwks' })).not.toThrow(/JWT_JWKS_URL|JWT_PUBLIC_KEY/);
    expect(() => loadConfig({ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: 'ftp://idp/jwks' })).toThrow(/JWT_JWKS_URL must be an https/);
    expect(() => loadConfig({ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: 'not a url' })).toThrow(/JWT_JWKS_URL must be an https/);
    expect(() => loadConfig({ JWT_JWKS_URL: 'https://idp/jwks' })).toThrow(/JWT_JWKS_URL needs JWT_ALGORITHM=RS256/);
    const pem = pair().publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(() => loadConfig({ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: 'https://idp/jwks', JWT_PUBLIC_KEY: pem })).toThrow(/not both/);
    expect(() => loadConfig({ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: 'https://idp/jwks', JWT_JWKS_CACHE_SECONDS: '0' })).toThrow(/JWT_JWKS_CACHE_SECONDS/);
  });
});
