/**
 * Builds the HTTP application (Fastify under Nest) without listening, so that main.ts and the
 * end-to-end tests start exactly the same app.
 */
import { randomUUID } from 'node:crypto';
import { Transform } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { LogController } from 'fastify';
import type { DestinationStream } from 'pino';
import { createAppDataSource } from '@app/migrations/data-source';
import {
  acceptableRequestId,
  AppConfig,
  createLogger,
  createValidationPipe,
  errorBody,
  ErrorResponseDto,
  HttpExceptionFilter,
  InvalidBodyException,
  JSON_BOUNDS,
  JsonBounds,
  JsonBoundsScanner,
  PinoNestLogger,
  registerHttpSecurity,
  MetricsRegistry,
  QueueService,
  registerHttpMetrics,
  TokenService,
} from '@app/platform';
import { ApiModule } from './api.module';
import { registerQueueDashboard } from './ops/queue-dashboard';
import { registerFhirHttp } from './intake/fhir-outcome';

const JSON_TYPE = /^application\/([a-z.+-]*\+)?json\s*(;|$)/i;
/**
 * Routes marked @RouteConfig({ bulkJson: true }) take a bulk list within the body limit: the
 * snapshot upload (a JSON array of waiting-list entries, ~15,000 in 2 MiB) and the registry imports
 * (thousands of locations). Nesting, members per object and string lengths are bounded as
 * everywhere; the totals only by the body limit.
 */
const BULK_BOUNDS: JsonBounds = { ...JSON_BOUNDS, totalKeys: 0, arrayItems: 0 };

/**
 * A pass-through stream that refuses the body (400, naming the field) at the first bound exceeded.
 * On /fhir paths the field is a FHIRPath from the Bundle (the error becomes an OperationOutcome).
 */
function boundedJson(bounds: JsonBounds, fhir: boolean): Transform {
  const scanner = new JsonBoundsScanner(bounds);
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (scanner.write(chunk)) return cb(null, chunk);
      const p = scanner.problem!;
      const field = fhir && p.field !== '(body)' ? `Bundle.${p.field}` : p.field;
      cb(new InvalidBodyException([{ field, reason: p.reason }], `The request body exceeds a bound: ${field} ${p.reason}`));
    },
  });
}
const isFhirPath = (url: string) => url === '/fhir' || url.startsWith('/fhir/') || url.startsWith('/fhir?');

export interface ApiAppOptions {
  config: AppConfig;
  /** Where JSON logs go (stdout by default); tests pass a capture stream. */
  logDestination?: DestinationStream;
}

export async function createApiApp({ config, logDestination }: ApiAppOptions): Promise<NestFastifyApplication> {
  const logger = createLogger(config.logLevel, logDestination);
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    // A caller's X-Request-Id is kept when it is sane, so logs correlate across services.
    requestIdHeader: false,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return acceptableRequestId(given) ? given : randomUUID();
    },
    // One log line per request (below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify's own 503 while closing bypasses the hooks (no error shape, no security headers):
    // the onRequest hook below answers instead.
    return503OnClosing: false,
  });
  const fastify = adapter.getInstance();
  // Security headers, CORS allow-list and rate limit per client: first, so they cover every answer.
  // The rate limit keys a request by its token's subject only when the token verifies: the token
  // service exists once Nest has built the app (below); no request is served before that.
  let tokens: TokenService | undefined;
  registerHttpSecurity(fastify, {
    ...config.security,
    docs: config.enableDocs,
    redis: { url: config.redisUrl, prefix: config.queuePrefix },
    keySecret: config.bsn.fingerprintKey,
    subjectOf: (token) => {
      try {
        return tokens?.verify(token).subject;
      } catch {
        return undefined;
      }
    },
  });
  // Graceful shutdown: in-flight requests finish; their keep-alive connections are then closed
  // (Node closes only connections idle at the moment close starts, so tell the client).
  let closing = false;
  fastify.addHook('preClose', async () => {
    closing = true;
  });
  // Requests that still arrive on open keep-alive connections while closing are not started.
  // Plain callbacks, not async: these run on every request (a promise each costs throughput).
  fastify.addHook('onRequest', (req, reply, done) => {
    if (!closing) return done();
    void reply
      .code(503)
      .header('retry-after', '1')
      .send(errorBody(503, 'The service is shutting down: send the request again', undefined, req.id));
  });
  fastify.addHook('onSend', (req, reply, payload, done) => {
    void reply.header('x-request-id', req.id);
    // A body refused before it was read to the end (a CSV whose header is wrong, an upload over
    // the limit) is not read further: the connection closes after the answer, so the unread rest
    // can neither be taken for the next request nor leave that request waiting.
    if (closing || !req.raw.complete) void reply.header('connection', 'close');
    done(null, payload);
  });
  // JSON only: a form or text body is refused up front rather than parsed into something odd.
  // Routes marked @RouteConfig({ accepts: [...] }) also take the media types they list (the
  // registry imports take text/csv; TTP snapshots text/csv and application/x-ndjson).
  fastify.addHook('onRequest', (req, reply, done) => {
    const type = req.headers['content-type'];
    if (type === undefined || /^application\/([a-z.+-]*\+)?json\s*(;|$)/i.test(type)) return done();
    const accepts = (req.routeOptions.config as { accepts?: string[] } | undefined)?.accepts ?? [];
    const base = type.split(';')[0].trim().toLowerCase();
    if (accepts.includes(base)) return done();
    const wanted = ['application/json', ...accepts].join(' or ');
    void reply.code(415).send(errorBody(415, `Unsupported content type: send ${wanted}`, [{ field: 'content-type', reason: `must be ${wanted}` }], req.id));
  });
  // CSV and NDJSON arrive as the raw request stream: the route reads it (and bounds its size).
  for (const type of ['text/csv', 'application/x-ndjson']) fastify.addContentTypeParser(type, (_req, payload, done) => done(null, payload));
  // application/fhir+json parsed as JSON; errors on /fhir paths answered as OperationOutcomes.
  registerFhirHttp(fastify);
  // JSON bodies (application/json, application/fhir+json, …) are bounded on their bytes as they
  // arrive — nesting, members per object and in all, items per array, string lengths — before they
  // are parsed: a hostile body is refused after the bytes that break a bound, in O(size) at most,
  // and never reaches class-transformer (quadratic in an object's keys: 100,000 keys took 10 s) or
  // the validation pipe. Refused with 400 in the one error shape, naming the field.
  fastify.addHook('preParsing', (req, _reply, payload, done) => {
    const type = req.headers['content-type'];
    if (type === undefined || !JSON_TYPE.test(type)) return done(null, payload);
    const bulk = (req.routeOptions.config as { bulkJson?: boolean } | undefined)?.bulkJson === true;
    const bounded = boundedJson(bulk ? BULK_BOUNDS : JSON_BOUNDS, isFhirPath(req.url));
    payload.on('error', (e) => bounded.destroy(e));
    // On a refusal the rest is not read (the connection closes after the answer: see onSend).
    bounded.on('error', () => payload.unpipe(bounded));
    done(null, payload.pipe(bounded));
  });
  fastify.addHook('onResponse', (req, reply, done) => {
    req.log.info({ req, res: reply, responseTimeMs: Math.round(reply.elapsedTime * 10) / 10 }, 'request completed');
    done();
  });
  // Latency per route pattern; its histogram joins the app's registry once the app exists (below).
  const httpLatency = registerHttpMetrics(fastify);

  const app = await NestFactory.create<NestFastifyApplication>(
    ApiModule.forRoot({ config, logger, dataSource: (c) => createAppDataSource(c, 'ggz-api'), runMigrations: config.migrationsRun }),
    adapter,
    { logger: new PinoNestLogger(logger), abortOnError: false },
  );
  app.get(MetricsRegistry).registry.registerMetric(httpLatency);
  tokens = app.get(TokenService);
  // Bull Board at /admin/queues (admin only): Fastify routes of its own, registered before the app starts.
  await registerQueueDashboard(fastify, { queues: app.get(QueueService), tokens: app.get(TokenService), secureCookie: config.nodeEnv === 'production' });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  // On SIGTERM/SIGINT: no new requests, those in flight finish, then the pools close and the
  // process exits 0 (Nest's default re-raises the signal, so a clean stop looked like a kill: 143).
  app.enableShutdownHooks([], { useProcessExit: true });

  if (config.enableDocs) {
    const doc = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('GGZ wachttijd-bemiddeling API')
        .setDescription(
          'Consented referral intake, Treeknorm evaluation and proactive mediation (AZWA C3a). ' +
            'Every error has the shape of ErrorResponse. Authenticate with a bearer JWT carrying a role and a tenant claim.',
        )
        .setVersion('0.1.0')
        .addBearerAuth()
        .build(),
      { extraModels: [ErrorResponseDto] },
    );
    SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs-json' });
  }
  return app;
}
