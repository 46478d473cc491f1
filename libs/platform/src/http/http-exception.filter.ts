/**
 * Renders every error in one shape: { statusCode, error, message, details?, requestId }.
 * Unknown errors become a bare 500 with no stack trace or SQL; they are logged with the
 * request id so an operator can find them.
 */
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorResponseDto, FieldErrorDto } from './error-response.dto';

/** Maps errors that Fastify raises before our code runs (body parsing, limits) to 4xx. */
function fastifyClientError(e: unknown): { status: number; message: string } | null {
  const err = e as { statusCode?: number; code?: string; message?: string };
  if (typeof err?.code !== 'string' || !err.code.startsWith('FST_') || !err.statusCode || err.statusCode >= 500) return null;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, message: 'The request body is too large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, message: 'Unsupported content type: send application/json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, message: 'The request body is empty: send a JSON object' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, message: 'The request body is not valid JSON' };
    default:
      return { status: err.statusCode, message: STATUS_CODES[err.statusCode] ?? 'Bad request' };
  }
}

export function errorBody(status: number, message: string, details?: FieldErrorDto[], requestId?: string): ErrorResponseDto {
  const body: ErrorResponseDto = { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
  if (details?.length) body.details = details;
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
    const { status, message, details } = this.describe(exception, req);
    if (status >= 500) {
      // The error text may name a column or value; it goes to the log, never to the client.
      const err = exception as Error;
      this.logger.error({ msg: 'unhandled error', reqId: req?.id, err: { type: err?.name, message: err?.message, stack: err?.stack } });
    }
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(errorBody(status, message, details, req?.id));
  }

  private describe(exception: unknown, req: FastifyRequest): { status: number; message: string; details?: FieldErrorDto[] } {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const res = exception.getResponse();
      if (typeof res === 'string') return { status, message: res };
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
