/**
 * The API's scrape-time gauges: queue depths (BullMQ getJobCounts), mediation tasks per status,
 * referrals per status and verdict, and the newest linkage run's durations. They are read when
 * Prometheus scrapes, at most once per METRICS_CACHE_SECONDS (scrapes in between, from any number
 * of scrapers, get the same figures), so scraping cannot hammer Postgres or Redis. A source that
 * fails leaves its series out and sets ggz_metrics_source_up{source} to 0; the others still answer.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { APP_CONFIG, AppConfig, declaredQueues, METRICS_PREFIX, MetricsRegistry, QueueService } from '@app/platform';
import { WorklistService } from '@app/mediation';
import { ReferralReadsService } from '@app/referrals';
import { LinkageRun, LinkageService } from '@app/ttp';

/** Per-insurer counts summed to status and verdict ("none" for a referral not judged yet). */
function byStatusAndVerdict(rows: { status: string; verdict: string | null; referrals: number }[]): { status: string; verdict: string; n: number }[] {
  const sums = new Map<string, { status: string; verdict: string; n: number }>();
  for (const r of rows) {
    const verdict = r.verdict ?? 'none';
    const key = `${r.status}|${verdict}`;
    const sum = sums.get(key) ?? { status: r.status, verdict, n: 0 };
    sum.n += r.referrals;
    sums.set(key, sum);
  }
  return [...sums.values()];
}

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
/** Every task status (ck_mediation_task_status), so a status with no tasks reads 0 rather than vanishing. */
export const TASK_STATUSES = ['open', 'in-progress', 'awaiting-patient', 'closed'] as const;
const SOURCE_TIMEOUT_MS = 2000;

interface Snapshot {
  queues?: { queue: string; counts: Record<string, number> }[];
  tasks?: { status: string; n: number }[];
  referrals?: { status: string; verdict: string; n: number }[];
  /** The newest finished run (undefined: none yet, or the read failed). */
  linkage?: LinkageRun;
  postgresUp: boolean;
  redisUp: boolean;
}

function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), SOURCE_TIMEOUT_MS)))]).finally(() => clearTimeout(timer));
}

@Injectable()
export class OpsMetricsService {
  private readonly logger = new Logger(OpsMetricsService.name);
  private cached?: { at: number; snapshot: Promise<Snapshot> };
  private reading?: Promise<Snapshot>;

  constructor(
    private readonly metrics: MetricsRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly worklist: WorklistService,
    private readonly referrals: ReferralReadsService,
    private readonly queues: QueueService,
    private readonly linkage: LinkageService,
  ) {
    const registers = [metrics.registry];
    const snapshot = () => this.snapshot();
    new Gauge({
      name: `${METRICS_PREFIX}queue_jobs`,
      help: 'Jobs per queue and state (BullMQ getJobCounts)',
      labelNames: ['queue', 'state'] as const,
      registers,
      async collect() {
        const s = await snapshot();
        this.reset();
        for (const q of s.queues ?? []) for (const state of QUEUE_STATES) this.set({ queue: q.queue, state }, q.counts[state] ?? 0);
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}mediation_tasks`,
      help: 'Mediation tasks per status',
      labelNames: ['status'] as const,
      registers,
      async collect() {
        const s = await snapshot();
        this.reset();
        if (!s.tasks) return;
        for (const status of TASK_STATUSES) this.set({ status }, 0);
        for (const t of s.tasks) this.set({ status: t.status }, t.n);
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}referrals`,
      help: 'Referrals per status and verdict of the latest evaluation (verdict "none" while there is none)',
      labelNames: ['status', 'verdict'] as const,
      registers,
      async collect() {
        const s = await snapshot();
        this.reset();
        for (const r of s.referrals ?? []) this.set({ status: r.status, verdict: r.verdict }, r.n);
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}ttp_linkage_last_run_duration_seconds`,
      help: 'Durations of the newest finished TTP linkage run, per phase (total, entries, link, report, feedback, cleaned)',
      labelNames: ['phase'] as const,
      registers,
      async collect() {
        const s = await snapshot();
        this.reset();
        for (const [key, ms] of Object.entries(s.linkage?.timings ?? {})) {
          if (typeof ms === 'number') this.set({ phase: key.replace(/Ms$/, '') }, ms / 1000);
        }
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}ttp_linkage_last_run_finished_timestamp_seconds`,
      help: 'When the newest finished TTP linkage run ended (Unix time)',
      registers,
      async collect() {
        const s = await snapshot();
        this.reset();
        if (s.linkage?.finishedAt) this.set(new Date(s.linkage.finishedAt).getTime() / 1000);
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}metrics_source_up`,
      help: 'Whether the scrape-time gauges could read their source (1) or not (0)',
      labelNames: ['source'] as const,
      registers,
      async collect() {
        const s = await snapshot();
        this.set({ source: 'postgres' }, s.postgresUp ? 1 : 0);
        this.set({ source: 'redis' }, s.redisUp ? 1 : 0);
      },
    });
  }

  /** The exposition text of this process's registry. */
  text(): Promise<string> {
    return this.metrics.text();
  }

  get contentType(): string {
    return this.metrics.contentType;
  }

  /** The figures, read at most once per cache period; concurrent scrapes share one read. */
  private snapshot(): Promise<Snapshot> {
    // Every gauge of a scrape asks at once: they share the read in flight (also with no cache).
    if (this.reading) return this.reading;
    const now = Date.now();
    if (this.cached && now - this.cached.at < this.config.metrics.cacheSeconds * 1000) return this.cached.snapshot;
    const snapshot = this.read().finally(() => (this.reading = undefined));
    this.reading = snapshot;
    this.cached = { at: now, snapshot };
    return snapshot;
  }

  private async read(): Promise<Snapshot> {
    const [queues, tasks, referrals, runs] = await Promise.allSettled([
      withTimeout(
        Promise.all(declaredQueues().map(async (def) => ({ queue: def.name, counts: (await this.queues.queue(def).getJobCounts(...QUEUE_STATES)) as Record<string, number> }))),
      ),
      // GROUP BYs over status columns, by the tables' owners: one index or sequential scan each every cache period.
      withTimeout(this.worklist.nationalStatusCounts()),
      withTimeout(this.referrals.counts({ all: true, uzovis: [] }).then(byStatusAndVerdict)),
      withTimeout(this.linkage.list(20)),
    ]);
    for (const [source, r] of [
      ['queues', queues],
      ['tasks', tasks],
      ['referrals', referrals],
      ['linkage runs', runs],
    ] as const) {
      if (r.status === 'rejected') this.logger.warn({ msg: 'metrics source unavailable', source, error: (r.reason as Error).message });
    }
    return {
      queues: queues.status === 'fulfilled' ? queues.value : undefined,
      tasks: tasks.status === 'fulfilled' ? tasks.value : undefined,
      referrals: referrals.status === 'fulfilled' ? referrals.value : undefined,
      linkage: runs.status === 'fulfilled' ? runs.value.find((r) => r.status === 'done') : undefined,
      postgresUp: tasks.status === 'fulfilled' && referrals.status === 'fulfilled' && runs.status === 'fulfilled',
      redisUp: queues.status === 'fulfilled',
    };
  }
}
