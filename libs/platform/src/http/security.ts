/**
 * HTTP hardening of the API (registered by apps/api/src/bootstrap.ts before anything else):
 *  - security headers on every response (nosniff, no framing, no referrer, same-origin resources,
 *    no caching of personal data, a deny-all CSP for the API, CSPs for the Swagger UI and the queue
 *    dashboard, HSTS when configured);
 *  - CORS closed by default: only origins listed in CORS_ORIGINS get Access-Control-Allow-Origin;
 *    a preflight from any other origin is refused with a 403 in the one error shape;
 *  - a rate limit per client (sliding window of one minute) answering 429 in the one error shape
 *    with Retry-After. A client is the subject of its bearer token when that token verifies, and
 *    otherwise its address: a made-up token, or `bearer`/`BEARER`/extra spaces, all count against
 *    the address. The counters live in Redis (keys under QUEUE_PREFIX, holding an HMAC of the
 *    subject or address, never a token), so every API instance sharing that Redis shares the limit.
 *    Redis unreachable: verified subjects are let through (fail open: a Redis hiccup must not stop
 *    intake), address-keyed callers are limited by this process's own counters (fail closed-ish);
 *    /health/* is exempt.
 * The hooks are plain callbacks (no promise per request): they run on every request.
 */
import { createHmac, hash } from 'node:crypto';
import IORedis from 'ioredis';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './http-exception.filter';

export interface HttpSecurityOptions {
  /** Exact origins (scheme://host[:port]) that browsers may call the API from. */
  corsOrigins: string[];
  /** Send Strict-Transport-Security. */
  hsts: boolean;
  /** Requests per client per minute; 0 = no limit. */
  rateLimitPerMinute: number;
  /** Most clients tracked at once; beyond it the longest-idle client is forgotten. */
  rateLimitMaxClients: number;
  /** Whether the Swagger UI is served under /docs (it gets a CSP that lets it run). */
  docs: boolean;
  /**
   * Shared counters: Redis URL and key prefix (QUEUE_PREFIX). Without it, counters are this
   * process's only (as when Redis is unreachable).
   */
  redis?: { url: string; prefix: string };
  /** Secret for the HMAC that turns a subject or address into a Redis key (the same on every instance). */
  keySecret?: Buffer;
  /** The subject of a bearer token if it verifies (synchronously), else undefined. Never throws. */
  subjectOf?: (token: string) => string | undefined;
}

/** API responses are JSON or CSV: nothing in them may load, run or be framed. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";
/** The Swagger UI loads its own scripts and styles (and has inline <style> blocks and data: icons). */
export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/**
 * The queue dashboard (Bull Board, /admin/queues) runs its own scripts and styles, has inline
 * style attributes, sets <base href>, fetches its JSON API and posts the sign-in form; nothing
 * from elsewhere (its Google Fonts stylesheet is blocked: the system font is used instead).
 */
export const QUEUES_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
export const HSTS = 'max-age=31536000; includeSubDomains';
export const CORS_ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE';
export const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, X-Request-Id';
export const CORS_EXPOSE_HEADERS = 'X-Request-Id, Location, Content-Disposition, Retry-After, RateLimit-Limit, RateLimit-Remaining';
/** Seconds a browser may reuse a preflight answer (browsers cap it: Chromium at 7200). */
export const CORS_MAX_AGE_SECONDS = 600;

export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Requests left in the current window (after this one, when allowed). */
  remaining: number;
  /** When refused: whole seconds until a request would be accepted again (at least 1). */
  retryAfterSeconds: number;
}

interface Bucket {
  /** Index of the window (time / window length) that `current` counts. */
  window: number;
  current: number;
  /** Count of the window before `window` (0 when that window saw nothing). */
  previous: number;
}

/**
 * The sliding-window verdict for a client that has `current` requests in this window and had
 * `previous` in the one before, `elapsed` (0–1) into this window; the caller counts an allowed one.
 */
export function slidingDecision(limit: number, windowMs: number, elapsed: number, current: number, previous: number): RateDecision {
  const count = previous * (1 - elapsed) + current;
  if (count + 1 > limit) return { allowed: false, limit, remaining: 0, retryAfterSeconds: Math.max(1, Math.ceil(waitMs(limit, windowMs, elapsed, current, previous) / 1000)) };
  return { allowed: true, limit, remaining: Math.max(0, Math.floor(limit - count - 1)), retryAfterSeconds: 0 };
}

/** Time until previous·(1 − elapsed) + current + 1 ≤ limit, this window or the next. */
function waitMs(limit: number, windowMs: number, elapsed: number, current: number, previous: number): number {
  if (current + 1 <= limit && previous > 0) {
    const at = 1 - (limit - current - 1) / previous;
    if (at < 1) return (at - elapsed) * windowMs;
  }
  // Next window: this window's count becomes the decaying previous one.
  const at = current > 0 ? Math.max(0, 1 - (limit - 1) / current) : 0;
  return (1 - elapsed + at) * windowMs;
}

/**
 * Sliding-window counter (the usual approximation): the count is this window's requests plus the
 * previous window's, weighted by how much of it still lies within the last minute. No burst of
 * twice the limit at a window boundary, O(1) per request, three numbers per client.
 * Memory is bounded: clients idle for two windows are dropped at the first request of each new
 * window, and never more than maxClients are tracked (the longest idle is forgotten first).
 * Refused requests are not counted, so a client that keeps retrying gets in as soon as its rate allows.
 */
export class RateLimiter {
  private readonly clients = new Map<string, Bucket>();
  private sweptWindow = -1;

  constructor(
    readonly limit: number,
    readonly maxClients: number,
    readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  get trackedClients(): number {
    return this.clients.size;
  }

  hit(key: string): RateDecision {
    const t = this.now();
    const window = Math.floor(t / this.windowMs);
    if (window !== this.sweptWindow) this.sweep(window);
    let b = this.clients.get(key);
    if (b === undefined) {
      if (this.clients.size >= this.maxClients) this.clients.delete(this.clients.keys().next().value as string);
      b = { window, current: 0, previous: 0 };
      this.clients.set(key, b);
    } else if (b.window !== window) {
      b.previous = b.window === window - 1 ? b.current : 0;
      b.current = 0;
      b.window = window;
      // Re-inserted so that the Map's order is "least recently active first" (what the cap evicts).
      this.clients.delete(key);
      this.clients.set(key, b);
    }
    const elapsed = (t - window * this.windowMs) / this.windowMs;
    const d = slidingDecision(this.limit, this.windowMs, elapsed, b.current, b.previous);
    if (d.allowed) b.current++;
    return d;
  }

  private sweep(window: number): void {
    this.sweptWindow = window;
    for (const [key, b] of this.clients) if (b.window < window - 1) this.clients.delete(key);
  }
}

/** The scheme and token of an Authorization header, read as the auth guard reads it. */
const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * Who a request counts against: `s:<subject>` when it carries a bearer token that verifies,
 * otherwise `i:<address>`. A garbage token, or any other spelling of the header, is the address.
 */
export function rateLimitKey(req: FastifyRequest, subjectOf?: (token: string) => string | undefined): string {
  const auth = req.headers.authorization;
  if (subjectOf !== undefined && typeof auth === 'string' && auth.length <= 16_384) {
    const m = BEARER.exec(auth);
    const subject = m ? subjectOf(m[1]) : undefined;
    if (subject !== undefined) return `s:${subject}`;
  }
  return `i:${req.ip}`;
}

/**
 * Remembers which tokens verified, and their subject, for `ttlMs` (by the token's SHA-256: no
 * token is kept), so that the rate limit does not verify every request's signature a second time
 * (the auth guard verifies it again, and alone decides access). At most `max` tokens; the oldest
 * is forgotten first. A token that expired within the TTL is still counted against its subject:
 * harmless, as the guard refuses it. Tokens that fail are not remembered.
 */
export class VerifiedSubjects {
  private readonly entries = new Map<string, { subject: string; until: number }>();

  constructor(
    private readonly verify: (token: string) => string | undefined,
    private readonly max: number,
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  subjectOf(token: string): string | undefined {
    const id = hash('sha256', token, 'base64');
    const t = this.now();
    const hit = this.entries.get(id);
    if (hit !== undefined && hit.until > t) return hit.subject;
    if (hit !== undefined) this.entries.delete(id);
    const subject = this.verify(token);
    if (subject === undefined) return undefined;
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(id, { subject, until: t + this.ttlMs });
    return subject;
  }
}

/**
 * Atomic sliding-window step in Redis: reads this window's and the previous window's counts,
 * refuses without counting when one more would exceed the limit, else INCRs (and sets the TTL of a
 * new window key to two windows). Returns [allowed 0|1, current before this request, previous].
 */
const SLIDING_WINDOW_LUA = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
if prev * (1 - tonumber(ARGV[2])) + cur + 1 > tonumber(ARGV[1]) then return {0, cur, prev} end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {1, cur, prev}`;

type RedisWithLimiter = IORedis & {
  rateLimitStep(current: string, previous: string, limit: number, elapsed: number, ttlMs: number, cb: (err: Error | null, res?: [number, number, number]) => void): void;
};

/**
 * The limit shared by every API instance through Redis. Keys: `<prefix>:ratelimit:<window>:<hmac>`,
 * where the HMAC (keyed with a secret every instance has) hides the subject or address.
 * When Redis fails (not connected, an error, no answer within `timeoutMs`), requests are decided
 * locally for `backoffMs`: verified subjects are allowed uncounted (fail open), addresses are
 * counted by an in-process RateLimiter with the same limit (so anonymous floods stay bounded).
 */
export class SharedRateLimiter {
  readonly local: RateLimiter;
  private readonly redis: RedisWithLimiter;
  private readonly hmacKey: Buffer;
  private downUntil = 0;

  constructor(
    readonly limit: number,
    maxClients: number,
    private readonly options: { url: string; prefix: string; keySecret: Buffer; timeoutMs?: number; backoffMs?: number; windowMs?: number },
  ) {
    this.local = new RateLimiter(limit, maxClients, options.windowMs ?? 60_000);
    this.hmacKey = createHmac('sha256', options.keySecret).update('ggz rate-limit keys v1').digest();
    this.redis = new IORedis(options.url, {
      // A request never waits for a reconnect: it is decided locally instead.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.timeoutMs ?? 250,
      enableAutoPipelining: true,
      lazyConnect: false,
    }) as RedisWithLimiter;
    this.redis.on('error', () => undefined);
    this.redis.defineCommand('rateLimitStep', { numberOfKeys: 2, lua: SLIDING_WINDOW_LUA });
  }

  get windowMs(): number {
    return this.local.windowMs;
  }

  /**
   * The Redis key of a client's window: `<prefix>:ratelimit:{<hmac>}:<window>`. The HMAC hides the
   * subject or address; in braces, so a client's two windows share a Redis Cluster slot.
   */
  redisKey(client: string, window: number): string {
    return `${this.clientTag(client)}:${window}`;
  }

  private clientTag(client: string): string {
    return `${this.options.prefix}:ratelimit:{${createHmac('sha256', this.hmacKey).update(client).digest('base64url')}}`;
  }

  hit(client: string, cb: (d: RateDecision) => void): void {
    const t = Date.now();
    if (t < this.downUntil || this.redis.status !== 'ready') return cb(this.fallback(client));
    const windowMs = this.windowMs;
    const window = Math.floor(t / windowMs);
    const elapsed = (t - window * windowMs) / windowMs;
    const tag = this.clientTag(client);
    this.redis.rateLimitStep(`${tag}:${window}`, `${tag}:${window - 1}`, this.limit, elapsed, 2 * windowMs, (err, res) => {
      if (err || !res) {
        this.downUntil = Date.now() + (this.options.backoffMs ?? 1000);
        return cb(this.fallback(client));
      }
      const [allowed, current, previous] = res;
      const d = slidingDecision(this.limit, windowMs, elapsed, Number(current), Number(previous));
      // The script decided (atomically, for every instance); the same maths gives Remaining and Retry-After.
      cb(allowed === 1 ? { ...d, allowed: true, retryAfterSeconds: 0 } : { ...d, allowed: false, remaining: 0, retryAfterSeconds: Math.max(1, d.retryAfterSeconds) });
    });
  }

  private fallback(client: string): RateDecision {
    if (client.startsWith('s:')) return { allowed: true, limit: this.limit, remaining: this.limit, retryAfterSeconds: 0 };
    return this.local.hit(client);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

const isDocs = (url: string): boolean => url === '/docs' || url.startsWith('/docs/') || url.startsWith('/docs?');
const isQueues = (url: string): boolean => url === '/admin/queues' || url.startsWith('/admin/queues/') || url.startsWith('/admin/queues?');
// By path, not req.routeOptions (a getter that builds an object per call): the router does not
// resolve dot segments, so such a path only ever reaches a /health route or a 404.
const isHealth = (url: string): boolean => url.startsWith('/health/');

export function registerHttpSecurity(fastify: FastifyInstance, options: HttpSecurityOptions): void {
  const origins = new Set(options.corsOrigins);
  const limit = options.rateLimitPerMinute;
  const limiter =
    limit <= 0
      ? undefined
      : options.redis
        ? new SharedRateLimiter(limit, options.rateLimitMaxClients, { ...options.redis, keySecret: options.keySecret ?? Buffer.alloc(32) })
        : new RateLimiter(limit, options.rateLimitMaxClients);
  if (limiter instanceof SharedRateLimiter) fastify.addHook('onClose', () => limiter.close());
  const verified = options.subjectOf ? new VerifiedSubjects(options.subjectOf, options.rateLimitMaxClients) : undefined;
  const subjects = verified ? (token: string) => verified.subjectOf(token) : undefined;
  const limitText = String(limit);
  const refuse = (req: FastifyRequest, reply: FastifyReply, d: RateDecision): void => {
    // RateLimit-* only on a refusal: on every answer they cost ~4% of the cheapest route's throughput.
    void reply
      .header('ratelimit-limit', limitText)
      .header('ratelimit-remaining', '0')
      .header('retry-after', String(d.retryAfterSeconds))
      .code(429)
      .send(errorBody(429, `Too many requests: at most ${limitText} per minute per client; retry after ${d.retryAfterSeconds} s`, undefined, req.id));
  };

  fastify.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const allowed = origins.has(origin);
      if (origins.size > 0) void reply.header('vary', 'Origin');
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
        // A preflight: answered here, whatever the path, and not counted by the rate limit.
        if (!allowed) {
          void reply.code(403).send(errorBody(403, 'Cross-origin requests from this origin are not allowed', undefined, req.id));
          return;
        }
        void reply
          .header('access-control-allow-origin', origin)
          .header('access-control-allow-methods', CORS_ALLOW_METHODS)
          .header('access-control-allow-headers', CORS_ALLOW_HEADERS)
          .header('access-control-max-age', String(CORS_MAX_AGE_SECONDS))
          .code(204)
          .send();
        return;
      }
      // Other requests from an unlisted origin go ahead without CORS headers: the browser keeps
      // the answer from the page (same-origin requests, such as the Swagger UI's, need none).
      if (allowed) void reply.header('access-control-allow-origin', origin).header('access-control-expose-headers', CORS_EXPOSE_HEADERS);
    }
    if (limiter === undefined || isHealth(req.url)) return done();
    const client = rateLimitKey(req, subjects);
    if (limiter instanceof RateLimiter) {
      const d = limiter.hit(client);
      return d.allowed ? done() : refuse(req, reply, d);
    }
    limiter.hit(client, (d) => (d.allowed ? done() : refuse(req, reply, d)));
  });

  fastify.addHook('onSend', (req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) => {
    const docs = options.docs && isDocs(req.url);
    void reply
      .header('x-content-type-options', 'nosniff')
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'no-referrer')
      .header('cross-origin-resource-policy', 'same-origin')
      .header('content-security-policy', docs ? DOCS_CSP : isQueues(req.url) ? QUEUES_CSP : API_CSP);
    // Personal data must not be cached by browsers or proxies; the Swagger UI's files may be.
    if (!docs) void reply.header('cache-control', 'no-store');
    if (options.hsts) void reply.header('strict-transport-security', HSTS);
    if (reply.hasHeader('x-powered-by')) reply.removeHeader('x-powered-by');
    done(null, payload);
  });
}
