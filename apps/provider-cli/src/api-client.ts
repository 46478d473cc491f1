/**
 * The few HTTP calls the tool makes, over node:http(s) so that a request body can be streamed from
 * a file (and stopped half-way: an upload that is never finished is never stored) and an idle
 * timeout covers both directions. Answers are turned into exit codes here: 401/403 → 4, other
 * 4xx → 3 (with the service's field report), 5xx, 429 and network failures → 5.
 */
import { request as httpRequest, IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError, EXIT, UsageError } from './errors';

export interface ApiSettings {
  baseUrl: string;
  token: string;
  timeoutMs: number;
}

export interface ApiResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** The service's error shape: { statusCode, error, message, details?: [{ field, reason }], requestId }. */
export interface ServiceError {
  statusCode?: number;
  error?: string;
  message?: string;
  details?: { field: string; reason: string }[];
  requestId?: string;
}

/** The service answered with a status other than 2xx. */
export class ServiceRefusal extends CliError {
  constructor(
    readonly status: number,
    readonly body: ServiceError,
  ) {
    super(exitCodeFor(status), describeRefusal(status, body));
  }
}

export function exitCodeFor(status: number): (typeof EXIT)[keyof typeof EXIT] {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 429 || status >= 500) return EXIT.unavailable;
  if (status >= 400) return EXIT.refused;
  return EXIT.unavailable; // a redirect or other surprise: not the service we expect
}

function describeRefusal(status: number, body: ServiceError): string {
  const what =
    status === 401
      ? 'the token was refused'
      : status === 403
        ? 'the token does not allow this'
        : status === 429
          ? 'too many requests: try again later'
          : status >= 500
            ? 'the service failed'
            : 'the service refused the request';
  return `${what} (HTTP ${status})${body.message ? `: ${body.message}` : ''}`;
}

/** Checks GGZ_API_URL / --api-url: http or https, no credentials in it. */
export function parseBaseUrl(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError('the API URL (--api-url or GGZ_API_URL) is not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError('the API URL (--api-url or GGZ_API_URL) must start with http:// or https://');
  if (u.username || u.password) throw new UsageError('the API URL (--api-url or GGZ_API_URL) must not carry credentials: use GGZ_TOKEN');
  return u;
}

function unavailable(e: unknown, url: URL, timeoutMs: number): CliError {
  const code = (e as NodeJS.ErrnoException).code;
  if (e instanceof TimeoutError) return new CliError(EXIT.unavailable, `the service at ${url.origin} did not answer within ${timeoutMs / 1000} s (timeout)`);
  const why: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host name lookup failed',
    ECONNRESET: 'connection reset',
    EPIPE: 'connection closed',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ETIMEDOUT: 'connection timed out',
  };
  return new CliError(EXIT.unavailable, `the service at ${url.origin} is unavailable: ${(code && why[code]) ?? (e as Error).message ?? 'network error'}`);
}

class TimeoutError extends Error {}

/**
 * One request. `body` is streamed; if it fails (a local input error) the request is destroyed
 * before it ends, so the service sees an aborted upload and stores nothing, and that error is
 * what this rejects with.
 */
export function call(
  api: ApiSettings,
  method: 'GET' | 'POST',
  path: string,
  opts: {
    body?: AsyncIterable<Buffer | string>;
    contentType?: string;
    accept?: string;
    /** Called once the whole body has been handed to the connection. */ onBodySent?: () => void;
  } = {},
): Promise<ApiResponse> {
  const base = parseBaseUrl(api.baseUrl);
  const url = new URL(base.pathname.replace(/\/+$/, '') + path, base);
  const headers: Record<string, string> = { authorization: `Bearer ${api.token}`, accept: opts.accept ?? 'application/json', 'user-agent': 'ggz-provider' };
  if (opts.contentType) headers['content-type'] = opts.contentType;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;

  return new Promise<ApiResponse>((resolve, reject) => {
    let settled = false;
    let responded = false;
    let localError: unknown;
    let source: Readable | undefined;
    const settle = (fn: () => void) => {
      if (!settled) {
        settled = true;
        // Stop reading the file once the answer is known (or the connection is gone).
        source?.destroy();
        fn();
      }
    };
    // agent: false — one connection, closed after the answer, so the process ends at once.
    const req = send(url, { method, headers, timeout: api.timeoutMs, agent: false });
    req.on('timeout', () => req.destroy(new TimeoutError()));
    req.on('response', (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => settle(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') })));
      res.on('error', (e) => settle(() => reject(unavailable(e, url, api.timeoutMs))));
    });
    req.on('error', (e) => {
      // After a response has begun, the response settles it (a server may answer a refused upload
      // before reading all of it and close the connection); a local input error wins over the
      // network error it causes.
      if (localError !== undefined) settle(() => reject(localError));
      else if (!responded) settle(() => reject(unavailable(e, url, api.timeoutMs)));
    });
    if (!opts.body) {
      req.end();
      return;
    }
    if (opts.onBodySent) req.on('finish', () => !settled && opts.onBodySent!());
    source = Readable.from(opts.body, { objectMode: false });
    source.on('error', (e) => {
      localError = e;
    });
    pipeline(source, req).catch((e) => {
      if (localError !== undefined) {
        req.destroy();
        settle(() => reject(localError));
      } else if (!responded && req.destroyed) settle(() => reject(unavailable(e, url, api.timeoutMs)));
    });
  });
}

/** The parsed JSON of an answer; a ServiceRefusal (with its exit code) for anything but 2xx. */
export function expectOk<T>(res: ApiResponse): T {
  let body: unknown = res.text;
  try {
    body = res.text ? JSON.parse(res.text) : undefined;
  } catch {
    /* not JSON */
  }
  if (res.status < 200 || res.status > 299) throw new ServiceRefusal(res.status, typeof body === 'object' && body !== null ? (body as ServiceError) : { message: undefined });
  return body as T;
}
