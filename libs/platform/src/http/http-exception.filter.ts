/**
 * Renders every error in one shape: { statusCode, error, message, details?, requestId }.
 * Unknown errors become a bare 500 with no stack trace or SQL; they are logged with the
 * request id so an operator can find them.
 */
import { STATUS_CODES } from 'node:http';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { maskBsnLike } from '@app/core';
import { isDatabaseUnavailable } from '../database/unavailable';
import type { ErrorResponseDto, FieldErrorDto } from './error-response.dto';

/** Seconds a client is asked to wait before retrying while the database is unreachable. */
const UNAVAILABLE_RETRY_AFTER = '5';

/**
 * Errors Fastify raises before our code runs (body parsing, limits) reach the filter as Nest's
 * HttpException(fastify's message, status), or as Fastify's own error with its FST_ code: both are
 * answered naming what is wrong. Fastify's text is not passed on as it is.
 */
const BODY_NOT_JSON = { status: 400, message: 'The request body is not valid JSON', details: [{ field: '(body)', reason: 'is not valid JSON' }] };
const BODY_EMPTY = { status: 400, message: 'The request body is empty: send a JSON object', details: [{ field: '(body)', reason: 'is empty' }] };
const BODY_TOO_LARGE = { status: 413, message: 'The request body is too large', details: [{ field: '(body)', reason: 'is larger than the body limit (BODY_LIMIT_BYTES)' }] };
const MEDIA_TYPE = { status: 415, message: 'Unsupported content type: send application/json', details: [{ field: 'content-type', reason: 'must be application/json' }] };
type Described = { status: number; message: string; details?: FieldErrorDto[] };

function fastifyClientError(e: unknown): Described | null {
  const err = e as { statusCode?: number; code?: string };
  if (typeof err?.code !== 'string' || !err.code.startsWith('FST_') || !err.statusCode || err.statusCode >= 500) return null;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return BODY_TOO_LARGE;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return MEDIA_TYPE;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return BODY_EMPTY;
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return BODY_NOT_JSON;
    default:
      return { status: err.statusCode, message: STATUS_CODES[err.statusCode] ?? 'Bad request', details: [{ field: '(request)', reason: err.code }] };
  }
}

/** The same errors as mapped by Nest (routes-resolver's mapExternalException keeps only message and status). */
function mappedFastifyError(status: number, message: string): Described | null {
  if (status === 400 && message.startsWith('Body is not valid JSON')) return BODY_NOT_JSON;
  if (status === 400 && message.startsWith('Body cannot be empty')) return BODY_EMPTY;
  if (status === 413) return BODY_TOO_LARGE;
  if (status === 415) return MEDIA_TYPE;
  return null;
}

const maskText = (t: unknown) => (typeof t === 'string' ? maskBsnLike(t) : t);

/**
 * Every error body is built here, and texts that may echo input (a message naming a value, an
 * unknown key as a field, a reason quoting a column name) have any BSN-like number — in any
 * notation, see maskBsnLike — starred but its last four digits.
 */
export function errorBody(status: number, message: string, details?: FieldErrorDto[], requestId?: string): ErrorResponseDto {
  const body: ErrorResponseDto = { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message: maskText(message) as string };
  if (details?.length) body.details = details.map((d) => ({ ...d, field: maskText(d.field) as string, reason: maskText(d.reason) as string }));
  if (requestId) body.requestId = requestId;
  return body;
}

@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const req = ctx.getRequest<FastifyRequest>();
    if (isDatabaseUnavailable(exception)) {
      // Postgres restarting or our connection cut: not the client's fault and not a bug. 503 with
      // Retry-After (as /health/ready says); the pool reconnects by itself, no restart needed.
      const err = exception as Error;
      this.logger.warn({ msg: 'database unavailable', reqId: req?.id, err: { type: err?.name, message: maskText(err?.message) } });
      void reply
        .status(503)
        .header('retry-after', UNAVAILABLE_RETRY_AFTER)
        .header('content-type', 'application/json; charset=utf-8')
        .send(errorBody(503, 'The service is temporarily unavailable: try again shortly', undefined, req?.id));
      return;
    }
    const { status, message, details } = this.describe(exception, req);
    if (status >= 500) {
      // The error text may name a column or value; it goes to the log, never to the client.
      const err = exception as Error;
      // Its text may also quote a value the client sent (a driver error does): BSN-like numbers masked.
      this.logger.error({ msg: 'unhandled error', reqId: req?.id, err: { type: err?.name, message: maskText(err?.message), stack: maskText(err?.stack) } });
    }
    void reply
      .status(status)
      .header('content-type', 'application/json; charset=utf-8')
      .send(errorBody(status, message, details, req?.id));
  }

  private describe(exception: unknown, req: FastifyRequest): Described {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const res = exception.getResponse();
      if (typeof res === 'string') return mappedFastifyError(status, res) ?? { status, message: res };
      const r = res as { message?: unknown; details?: FieldErrorDto[] };
      const message = Array.isArray(r.message) ? r.message.join('; ') : typeof r.message === 'string' ? r.message : exception.message;
      if (status === 404 && /^Cannot (GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /.test(message)) {
        // The path is not echoed: a client may have put personal data in it.
        return { status, message: `No such route for ${req?.method}` };
      }
      return { status, message, details: r.details };
    }
    const fst = fastifyClientError(exception);
    if (fst) return fst;
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Internal server error' };
  }
}
