/**
 * Errors of the FHIR routes (/fhir/...) as an OperationOutcome instead of the API's error shape:
 *  - FhirIssuesException carries issues that name elements (FHIRPath) and their issue type; the
 *    controller's FhirOutcomeFilter renders it;
 *  - everything else that goes wrong on a FHIR path — a token refused (401/403), a body that is no
 *    JSON, too large (413), of another media type (415), nested too deep, a rate limit (429), an
 *    unexpected error (500) — is answered by the API's usual machinery in the usual error shape,
 *    which an onSend hook turns into an OperationOutcome with the same status. So there is one
 *    place per failure that decides the status, and FHIR clients get FHIR whatever failed.
 * Like the error shape, an outcome never quotes a value the client sent.
 */
import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpExceptionFilter } from '@app/platform';
import type { FieldErrorDto } from '@app/platform';
import type { FhirIssue, FhirR4 } from '@app/referrals';

export const FHIR_JSON = 'application/fhir+json';
const FHIR_CONTENT_TYPE = `${FHIR_JSON}; charset=utf-8`;

/** Issue types by HTTP status, for failures that are not about one element. */
const CODE_BY_STATUS: Record<number, IssueCode> = {
  400: 'invalid',
  401: 'login',
  403: 'forbidden',
  404: 'not-found',
  405: 'not-supported',
  409: 'conflict',
  413: 'too-long',
  415: 'not-supported',
  429: 'throttled',
  // The database unreachable (the API's filter answers 503 with Retry-After): worth a retry.
  503: 'transient',
};

/** FHIR's issue-type codes (the value set of OperationOutcome.issue.code). */
export type IssueCode = FhirR4.OperationOutcomeIssue['code'];

export function operationOutcome(issues: { severity?: 'fatal' | 'error'; code: IssueCode; diagnostics: string; expression?: string[] }[]): FhirR4.OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i) => ({ severity: i.severity ?? 'error', code: i.code, diagnostics: i.diagnostics, ...(i.expression ? { expression: i.expression } : {}) })),
  };
}

export class FhirIssuesException extends HttpException {
  constructor(
    status: number,
    readonly issues: FhirIssue[],
    message: string,
  ) {
    // The usual body too, should anything render this exception without the FHIR filter.
    super({ message, details: issues.map((i) => ({ field: i.expression, reason: i.diagnostics })) }, status);
  }
}

/**
 * The API's error shape as an OperationOutcome: each detail an issue; "(body)" is the Bundle
 * itself, request-level fields (content-type, …) name no element.
 */
export function outcomeFromErrorBody(status: number, message: string, details: FieldErrorDto[] | undefined): FhirR4.OperationOutcome {
  const severity = status >= 500 && status !== 503 ? 'fatal' : 'error';
  const code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'exception' : 'processing');
  // A 400 or 413 that names no field is about the body as a whole: the Bundle.
  if (!details?.length) return operationOutcome([{ severity, code, diagnostics: message, ...(status === 400 || status === 413 ? { expression: ['Bundle'] } : {}) }]);
  return operationOutcome(
    details.map((d) => {
      if (d.field === '(body)') return { severity, code: status === 400 ? 'structure' : code, diagnostics: `The request body ${d.reason}`, expression: ['Bundle'] };
      if (d.field.startsWith('(') || d.field === 'content-type') return { severity, code, diagnostics: `${message}: ${d.field} ${d.reason}` };
      return { severity, code, diagnostics: `${d.field} ${d.reason}`, expression: [d.field] };
    }),
  );
}

/** On the FHIR controller: its own issues rendered directly, anything else through the API's filter (and the hook). */
@Catch()
export class FhirOutcomeFilter implements ExceptionFilter {
  private readonly fallback = new HttpExceptionFilter();

  catch(exception: unknown, host: ArgumentsHost): void {
    if (!(exception instanceof FhirIssuesException)) return this.fallback.catch(exception, host);
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const outcome = operationOutcome(exception.issues.map((i) => ({ code: i.code, diagnostics: i.diagnostics, expression: [i.expression] })));
    void reply.status(exception.getStatus()).header('content-type', FHIR_CONTENT_TYPE).send(outcome);
  }
}

const isFhirPath = (url: string) => url === '/fhir' || url.startsWith('/fhir/') || url.startsWith('/fhir?');

/**
 * Registered by bootstrap.ts: parses application/fhir+json as JSON (Fastify's own parser, with
 * the body limit and its prototype-poisoning checks) for the routes that accept it, and turns
 * error answers on /fhir paths into OperationOutcomes.
 */
export function registerFhirHttp(fastify: FastifyInstance): void {
  // As Buffer, like Nest's application/json parser: decoding to a string first would count a
  // malformed UTF-8 body's length wrongly and refuse it for its Content-Length instead of its JSON.
  const json = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser(FHIR_JSON, { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    // FHIR paths (an unknown one answers 404 then) and routes listing it in @RouteConfig({ accepts })
    // take FHIR; the JSON routes answer 415 as before.
    const accepts = (req.routeOptions.config as { accepts?: string[] } | undefined)?.accepts ?? [];
    if (!isFhirPath(req.url) && !accepts.includes(FHIR_JSON))
      return done(Object.assign(new Error('Unsupported Media Type'), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }), undefined);
    json(req, body.toString('utf8'), done);
  });
  fastify.addHook('onSend', (req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) => {
    if (reply.statusCode < 400 || !isFhirPath(req.url) || typeof payload !== 'string') return done(null, payload);
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith(FHIR_JSON)) return done(null, payload);
    let body: { statusCode?: unknown; message?: unknown; details?: FieldErrorDto[] } | undefined;
    try {
      body = JSON.parse(payload);
    } catch {
      body = undefined;
    }
    const message = typeof body?.message === 'string' ? body.message : 'The request failed';
    void reply.header('content-type', FHIR_CONTENT_TYPE);
    done(null, JSON.stringify(outcomeFromErrorBody(reply.statusCode, message, Array.isArray(body?.details) ? body.details : undefined)));
  });
}
