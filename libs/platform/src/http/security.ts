/**
 * HTTP hardening of the API (registered by apps/api/src/bootstrap.ts before anything else):
 *  - security headers on every response (nosniff, no framing, no referrer, same-origin resources,
 *    no caching of personal data, a deny-all CSP for the API, CSPs for the Swagger UI and the queue
 *    dashboard, HSTS when configured);
 *  - CORS closed by default: only origins listed in CORS_ORIGINS get Access-Control-Allow-Origin;
 *    a preflight from any other origin is refused with a 403 in the one error shape;
 *  - a rate limit per client (sliding window of one minute, in this process's memory) answering
 *    429 in the one error shape with Retry-After; a client is its Authorization header (hashed),
 *    or its address without one; /health/* is exempt.
 * The hooks are plain callbacks (no promise per request): they run on every request.
 */
import { hash } from 'node:crypto';
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
    const count = b.previous * (1 - elapsed) + b.current;
    if (count + 1 > this.limit) {
      return { allowed: false, limit: this.limit, remaining: 0, retryAfterSeconds: Math.max(1, Math.ceil(this.waitMs(b, elapsed) / 1000)) };
    }
    b.current++;
    return { allowed: true, limit: this.limit, remaining: Math.max(0, Math.floor(this.limit - count - 1)), retryAfterSeconds: 0 };
  }

  /** Time until previous·(1 − elapsed) + current + 1 ≤ limit, this window or the next. */
  private waitMs(b: Bucket, elapsed: number): number {
    if (b.current + 1 <= this.limit && b.previous > 0) {
      const at = 1 - (this.limit - b.current - 1) / b.previous;
      if (at < 1) return (at - elapsed) * this.windowMs;
    }
    // Next window: this window's count becomes the decaying previous one.
    const at = b.current > 0 ? Math.max(0, 1 - (this.limit - 1) / b.current) : 0;
    return (1 - elapsed + at) * this.windowMs;
  }

  private sweep(window: number): void {
    this.sweptWindow = window;
    for (const [key, b] of this.clients) if (b.window < window - 1) this.clients.delete(key);
  }
}

/**
 * Who a request counts against: the bearer credential when one is sent (hashed, so tokens are not
 * kept in memory), else the peer address. Every API process counts on its own.
 */
export function rateLimitKey(req: FastifyRequest): string {
  const auth = req.headers.authorization;
  return typeof auth === 'string' && auth !== '' ? `a:${hash('sha256', auth, 'base64')}` : `i:${req.ip}`;
}

const isDocs = (url: string): boolean => url === '/docs' || url.startsWith('/docs/') || url.startsWith('/docs?');
const isQueues = (url: string): boolean => url === '/admin/queues' || url.startsWith('/admin/queues/') || url.startsWith('/admin/queues?');
// By path, not req.routeOptions (a getter that builds an object per call): the router does not
// resolve dot segments, so such a path only ever reaches a /health route or a 404.
const isHealth = (url: string): boolean => url.startsWith('/health/');

export function registerHttpSecurity(fastify: FastifyInstance, options: HttpSecurityOptions): void {
  const origins = new Set(options.corsOrigins);
  const limiter = options.rateLimitPerMinute > 0 ? new RateLimiter(options.rateLimitPerMinute, options.rateLimitMaxClients) : undefined;
  const limitText = String(options.rateLimitPerMinute);

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
    if (limiter !== undefined && !isHealth(req.url)) {
      const d = limiter.hit(rateLimitKey(req));
      // RateLimit-* only on a refusal: on every answer they cost ~4% of the cheapest route's throughput.
      if (!d.allowed) {
        void reply
          .header('ratelimit-limit', limitText)
          .header('ratelimit-remaining', '0')
          .header('retry-after', String(d.retryAfterSeconds))
          .code(429)
          .send(errorBody(429, `Too many requests: at most ${limitText} per minute per client; retry after ${d.retryAfterSeconds} s`, undefined, req.id));
        return;
      }
    }
    done();
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
