/**
 * RS256 verification keys from the identity provider's JWKS endpoint (JWT_JWKS_URL), picked by
 * the token's `kid`.
 *
 * - Lookups are synchronous from a cache; the set is fetched when the cache is cold, when a token
 *   names a kid the cache does not know (key rotation), and in the background once the cache is
 *   older than JWT_JWKS_CACHE_SECONDS.
 * - Every fetch, whatever its reason, is at most one per JWT_JWKS_MIN_REFRESH_SECONDS, and
 *   concurrent callers share one fetch in flight: tokens with made-up kids cannot make the
 *   service hammer the endpoint.
 * - A failed fetch keeps the keys it had: with a warm cache an unreachable endpoint changes
 *   nothing. With a cold cache, tokens are refused (401) until a fetch succeeds.
 * - Only RSA keys for signatures are taken: kty RSA, alg RS256 or none, use "sig", key_ops (when
 *   given) including "verify", a kid, and a modulus of at least 2048 bits. Only n and e are read,
 *   so a set that carries private parameters by mistake still yields only the public key.
 * - Fetches have a timeout, refuse redirects and bodies over 1 MB. This source never throws or
 *   rejects: failures are logged and kept for status().
 */
import { createPublicKey, KeyObject } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { AppConfig } from '../config/config';

export type JwksConfig = NonNullable<AppConfig['jwt']['jwks']>;

const MAX_BODY_CHARS = 1_000_000;
const MAX_KID_LENGTH = 256;

export interface JwksStatus {
  /** Keys usable now. */
  keys: number;
  /** When the set was last fetched successfully (ISO time), or null while the cache is cold. */
  fetchedAt: string | null;
  /** Whether the cache is older than its TTL (the last refresh failed, or is still to come). */
  stale: boolean;
  /** Why the last fetch failed, or null when it succeeded. */
  lastError: string | null;
  /** Fetches attempted since start. */
  fetches: number;
}

export interface JwksDeps {
  fetch?: typeof fetch;
  now?: () => number;
  logger?: Pick<Logger, 'warn' | 'log'>;
}

/** One key of a JWKS as a KeyObject, or why it is not usable. */
export function importJwk(jwk: unknown): { kid: string; key: KeyObject } | { skipped: string } {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return { skipped: 'not an object' };
  const k = jwk as Record<string, unknown>;
  const kid = typeof k.kid === 'string' && k.kid !== '' && k.kid.length <= MAX_KID_LENGTH ? k.kid : undefined;
  const name = kid === undefined ? 'a key without a usable kid' : `key "${kid}"`;
  if (kid === undefined) return { skipped: `${name}: kid missing` };
  if (k.kty !== 'RSA') return { skipped: `${name}: kty is not RSA` };
  if (k.alg !== undefined && k.alg !== 'RS256') return { skipped: `${name}: alg is not RS256` };
  if (k.use !== 'sig') return { skipped: `${name}: use is not "sig"` };
  if (k.key_ops !== undefined && !(Array.isArray(k.key_ops) && k.key_ops.includes('verify'))) return { skipped: `${name}: key_ops lacks "verify"` };
  if (typeof k.n !== 'string' || typeof k.e !== 'string') return { skipped: `${name}: n or e missing` };
  let key: KeyObject;
  try {
    key = createPublicKey({ key: { kty: 'RSA', n: k.n, e: k.e }, format: 'jwk' });
  } catch {
    return { skipped: `${name}: not a valid RSA public key` };
  }
  if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return { skipped: `${name}: modulus shorter than 2048 bits` };
  return { kid, key };
}

export class JwksKeySource {
  private keys = new Map<string, KeyObject>();
  private fetchedAt: number | undefined;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  private lastError: string | undefined;
  private fetchCount = 0;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private readonly logger: Pick<Logger, 'warn' | 'log'>;
  /** The endpoint as logs show it: no credentials, no query. */
  private readonly where: string;

  constructor(
    private readonly config: JwksConfig,
    deps: JwksDeps = {},
  ) {
    this.fetchImpl = deps.fetch ?? fetch;
    this.now = deps.now ?? Date.now;
    this.logger = deps.logger ?? new Logger('Jwks');
    try {
      const u = new URL(config.url);
      this.where = `${u.origin}${u.pathname}`;
    } catch {
      this.where = 'JWT_JWKS_URL';
    }
  }

  /** The key for kid if cached (no waiting). Starts a background refresh when the cache has expired. */
  peek(kid: string): KeyObject | undefined {
    if (this.fetchedAt !== undefined && this.now() - this.fetchedAt >= this.config.cacheSeconds * 1000) void this.refresh();
    return this.keys.get(kid);
  }

  /** The key for kid, fetching the set first when kid is not cached (subject to the refresh limit). Never rejects. */
  async resolve(kid: string): Promise<KeyObject | undefined> {
    const cached = this.peek(kid);
    if (cached) return cached;
    await this.refresh();
    return this.keys.get(kid);
  }

  /**
   * Fetches the set unless a fetch is in flight (then joins it) or the last one started less
   * than JWT_JWKS_MIN_REFRESH_SECONDS ago (then does nothing). Never rejects.
   */
  refresh(): Promise<void> {
    if (this.inflight) return this.inflight;
    const now = this.now();
    if (now - this.lastAttemptAt < this.config.minRefreshSeconds * 1000) return Promise.resolve();
    this.lastAttemptAt = now;
    this.inflight = this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  status(): JwksStatus {
    return {
      keys: this.keys.size,
      fetchedAt: this.fetchedAt === undefined ? null : new Date(this.fetchedAt).toISOString(),
      stale: this.fetchedAt === undefined || this.now() - this.fetchedAt >= this.config.cacheSeconds * 1000,
      lastError: this.lastError ?? null,
      fetches: this.fetchCount,
    };
  }

  private async load(): Promise<void> {
    this.fetchCount++;
    try {
      const res = await this.fetchImpl(this.config.url, {
        headers: { accept: 'application/json, application/jwk-set+json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      if (!res.ok) {
        void res.body?.cancel().catch(() => undefined);
        throw new Error(`answered HTTP ${res.status}`);
      }
      const declared = Number(res.headers.get('content-length') ?? '0');
      if (declared > MAX_BODY_CHARS) {
        void res.body?.cancel().catch(() => undefined);
        throw new Error('answered more than 1 MB');
      }
      const text = await res.text();
      if (text.length > MAX_BODY_CHARS) throw new Error('answered more than 1 MB');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error('answered something other than JSON');
      }
      const list = (body as { keys?: unknown } | null)?.keys;
      if (!Array.isArray(list)) throw new Error('answered JSON without a "keys" array');
      const next = new Map<string, KeyObject>();
      const skipped: string[] = [];
      for (const jwk of list) {
        const r = importJwk(jwk);
        if ('skipped' in r) skipped.push(r.skipped);
        else if (next.has(r.kid)) skipped.push(`key "${r.kid}": kid listed twice (the first is used)`);
        else next.set(r.kid, r.key);
      }
      if (next.size === 0) throw new Error(`holds no usable RS256 signing key${skipped.length ? ` (${skipped.join('; ')})` : ''}`);
      if (skipped.length) this.logger.warn({ msg: 'JWKS keys skipped', jwks: this.where, skipped });
      const added = [...next.keys()].filter((k) => !this.keys.has(k));
      const removed = [...this.keys.keys()].filter((k) => !next.has(k));
      this.keys = next;
      this.fetchedAt = this.now();
      this.lastError = undefined;
      if (added.length || removed.length) this.logger.log({ msg: 'JWKS keys loaded', jwks: this.where, kids: [...next.keys()], added, removed });
    } catch (e) {
      const err = e as Error;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const reason =
        err.name === 'TimeoutError' || err.name === 'AbortError'
          ? `timed out after ${this.config.timeoutMs} ms`
          : `${err.message}${cause ? ` (${cause.code ?? cause.message})` : ''}`;
      this.lastError = reason;
      this.logger.warn({
        msg: this.keys.size ? 'JWKS refresh failed; keeping the cached keys' : 'JWKS fetch failed; tokens are refused until it succeeds',
        jwks: this.where,
        reason,
        cachedKeys: this.keys.size,
      });
    }
  }
}
