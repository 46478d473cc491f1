/**
 * The worker's own small HTTP listener (WORKER_METRICS_PORT on HOST; 0 = none):
 *   GET /metrics      its Prometheus metrics (job durations per queue, process metrics); the same
 *                     access rule as the API's /metrics: METRICS_TOKEN or an admin JWT as bearer
 *   GET /health/live  liveness, open (for an orchestrator's probe)
 * Plain node:http — the worker has no web framework, and two routes do not need one. Errors use
 * the API's one error shape.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig, errorBody, MetricsAccess, MetricsRegistry } from '@app/platform';

@Injectable()
export class MetricsServerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsServerService.name);
  private server?: Server;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsRegistry,
    private readonly access: MetricsAccess,
  ) {}

  /** The port it listens on (useful when configured as an ephemeral one), or undefined. */
  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.metrics.workerPort === 0) return;
    const server = createServer((req, res) => void this.handle(req, res));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.config.metrics.workerPort, this.config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      // Jobs matter more than their metrics: a port in use (a second worker on the host) is
      // logged, and this worker runs on without the listener.
      this.logger.warn({ msg: 'worker metrics not served: cannot listen', host: this.config.host, port: this.config.metrics.workerPort, error: (e as Error).message });
      return;
    }
    this.server = server;
    this.logger.log({ msg: 'worker metrics listening', host: this.config.host, port: this.port });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-request-id': requestId });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const fail = (status: number, message: string) => send(status, 'application/json; charset=utf-8', JSON.stringify(errorBody(status, message, undefined, requestId)));
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/metrics' && path !== '/health/live') return fail(404, 'Not found: this listener serves /metrics and /health/live');
      if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'Only GET');
      if (path === '/health/live') return send(200, 'application/json; charset=utf-8', JSON.stringify({ status: 'ok' }));
      const access = await this.access.check(req.headers.authorization);
      if (access === 'missing') return fail(401, 'A bearer token is required (METRICS_TOKEN, or a JWT of the admin role)');
      if (access === 'invalid') return fail(401, 'The bearer token is invalid or has expired');
      if (access === 'forbidden') return fail(403, 'Only the admin role or the METRICS_TOKEN may read metrics');
      send(200, this.metrics.contentType, await this.metrics.text());
    } catch (e) {
      this.logger.warn({ msg: 'worker metrics request failed', error: (e as Error).message });
      if (!res.headersSent) fail(500, 'Metrics are unavailable');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // A scraper's keep-alive connection must not hold the shutdown.
    server.closeAllConnections();
    await closed;
  }
}
