/**
 * Prometheus metrics (prom-client). Each process — and each app instance, since the tests start
 * several in one process — has a registry of its own with the default process metrics under the
 * `ggz_` prefix. The API adds request latencies (registerHttpMetrics) and scrape-time gauges
 * (apps/api/src/ops/ops-metrics.service.ts); the worker adds job durations (JobMetrics) and
 * serves them on a listener of its own (apps/worker/src/metrics-server.service.ts).
 *
 * Labels never carry a raw URL, an id or anything personal: routes are the route pattern
 * (`/v1/referrals/:id`), statuses are classes (`2xx`), queues and states are fixed names.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../platform.tokens';
import { TokenService } from '../auth/token.service';
import type { Principal } from '../auth/roles';

export const METRICS_PREFIX = 'ggz_';
/** Route label of requests that matched no route (a 404): never the URL that was asked for. */
export const UNMATCHED_ROUTE = '(unmatched)';
/** Seconds; from a sub-millisecond whoami to a 1,000-message batch or a snapshot upload. */
export const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds; evaluation batches take milliseconds, a national linkage run several seconds. */
export const JOB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: METRICS_PREFIX });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

const STATUS_CLASS = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

/**
 * Request latency per route pattern, method and status class, observed when the answer has been
 * sent. A plain callback hook (no promise per request) and one histogram update: it runs on
 * every request. The hook goes in before the app's routes exist, so the histogram is returned
 * unregistered: add it to the app's MetricsRegistry once the app is built (see apps/api bootstrap).
 */
export function registerHttpMetrics(fastify: FastifyInstance): Histogram<'route' | 'method' | 'status_class'> {
  const histogram = new Histogram({
    name: `${METRICS_PREFIX}http_request_duration_seconds`,
    help: 'HTTP request latency by route pattern, method and status class',
    labelNames: ['route', 'method', 'status_class'] as const,
    buckets: HTTP_BUCKETS,
    registers: [],
  });
  fastify.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    histogram.observe(
      { route: req.routeOptions.url ?? UNMATCHED_ROUTE, method: req.method, status_class: STATUS_CLASS[Math.floor(reply.statusCode / 100)] ?? 'other' },
      reply.elapsedTime / 1000,
    );
    done();
  });
  return histogram;
}

/** Job durations per queue and outcome, measured in the worker around the processor. */
@Injectable()
export class JobMetrics {
  readonly duration: Histogram<'queue' | 'outcome'>;

  constructor(metrics: MetricsRegistry) {
    this.duration = new Histogram({
      name: `${METRICS_PREFIX}job_duration_seconds`,
      help: 'Time a worker spent on one job, by queue and outcome (completed or failed)',
      labelNames: ['queue', 'outcome'] as const,
      buckets: JOB_BUCKETS,
      registers: [metrics.registry],
    });
  }

  /** Wraps a BullMQ processor so that each job's duration is observed when it ends. */
  timed<D, R>(queue: string, processor: (job: Job<D>) => Promise<R>): (job: Job<D>) => Promise<R> {
    return async (job) => {
      const end = this.duration.startTimer({ queue });
      try {
        const result = await processor(job);
        end({ outcome: 'completed' });
        return result;
      } catch (e) {
        end({ outcome: 'failed' });
        throw e;
      }
    };
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Who may scrape: the METRICS_TOKEN bearer (compared in constant time) when one is configured, or
 * a JWT of the `admin` role. Used by the API's guard (via @AcceptsMetricsToken) and the worker's
 * listener, so both answer alike.
 */
@Injectable()
export class MetricsAccess {
  private readonly token?: Buffer;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly tokens: TokenService,
  ) {
    this.token = config.metrics.token === undefined ? undefined : digest(config.metrics.token);
  }

  /** Whether METRICS_TOKEN is set (the guard looks for @AcceptsMetricsToken only then). */
  get tokenConfigured(): boolean {
    return this.token !== undefined;
  }

  isMetricsToken(presented: string): boolean {
    return this.token !== undefined && timingSafeEqual(digest(presented), this.token);
  }

  /** 'ok', or why not: 'missing' (401), 'invalid' (401), 'forbidden' (403, a JWT of another role). */
  async check(authorization: string | undefined): Promise<'ok' | 'missing' | 'invalid' | 'forbidden'> {
    const m = typeof authorization === 'string' ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
    if (!m) return 'missing';
    if (this.isMetricsToken(m[1])) return 'ok';
    let principal: Principal;
    try {
      principal = await this.tokens.authenticate(m[1]);
    } catch {
      return 'invalid';
    }
    return principal.role === 'admin' ? 'ok' : 'forbidden';
  }
}
