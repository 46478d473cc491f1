/**
 * Starts the worker's consumers and schedules (see job.ts) and stops them in order: no new
 * ticks, the ticks in flight finish, then each BullMQ worker finishes the jobs it holds.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Worker } from 'bullmq';
import type IORedis from 'ioredis';
import { APP_CONFIG, AppConfig, createRedis, declaredQueues, JobMetrics, QueueDef } from '@app/platform';
import type { Consumer, Schedule } from './job';
import { CONSUMERS, SCHEDULES } from './index';

/** What is wrong with this set of consumers and schedules; empty when the worker may start. */
export function registrationProblems(declared: QueueDef<unknown>[], consumers: Consumer[], schedules: Schedule[]): string[] {
  const problems: string[] = [];
  for (const q of declared) {
    const n = consumers.filter((c) => c.queue.name === q.name).length;
    if (n === 0) problems.push(`queue "${q.name}" is declared but has no consumer in the worker`);
    if (n > 1) problems.push(`queue "${q.name}" has ${n} consumers`);
  }
  for (const c of consumers) if (!declared.some((q) => q.name === c.queue.name)) problems.push(`a consumer takes queue "${c.queue.name}", which no lib declares`);
  const names = schedules.map((s) => s.name);
  for (const name of new Set(names)) if (names.filter((n) => n === name).length > 1) problems.push(`schedule "${name}" is registered twice`);
  return problems;
}

@Injectable()
export class JobRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JobRunner.name);
  private connection?: IORedis;
  private readonly workers: Worker[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly moduleRef: ModuleRef,
    private readonly jobMetrics: JobMetrics,
  ) {}

  onApplicationBootstrap(): void {
    const consumers = CONSUMERS.map((c) => this.moduleRef.get(c, { strict: false }));
    const schedules = SCHEDULES.map((s) => this.moduleRef.get(s, { strict: false }));
    const problems = registrationProblems(declaredQueues(), consumers, schedules);
    if (problems.length > 0) throw new Error(`the worker cannot start: ${problems.join('; ')}`);

    this.connection = createRedis(this.config.redisUrl, 'worker');
    this.connection.on('error', (e) => this.logger.warn({ msg: 'redis connection error', error: e.message }));
    for (const c of consumers) {
      const queue = c.queue.name;
      const worker = new Worker(
        queue,
        this.jobMetrics.timed(queue, (job) => c.handle(job)),
        { connection: this.connection, prefix: this.config.queuePrefix, concurrency: c.concurrency(this.config), ...(c.lockDurationMs ? { lockDuration: c.lockDurationMs } : {}) },
      );
      worker.on('failed', (job, e) => this.logger.warn({ msg: 'job failed', queue, jobId: job?.id, error: e.message }));
      worker.on('error', (e) => this.logger.warn({ msg: 'worker error', queue, error: e.message }));
      this.workers.push(worker);
    }
    const started: string[] = [];
    for (const s of schedules) {
      const every = s.everyMs(this.config);
      if (every <= 0) continue;
      if (s.runAtStart) void this.tick(s);
      this.timers.push(setInterval(() => void this.tick(s), every));
      started.push(s.name);
    }
    this.logger.log({ msg: 'worker started', queues: consumers.map((c) => c.queue.name), schedules: started });
  }

  /** One run of a schedule, unless its previous run is still going. */
  async tick(s: Schedule): Promise<void> {
    if (this.inFlight.has(s.name)) return;
    const run = s.run().catch((e) => this.logger.warn({ msg: `${s.name} failed (the next tick retries)`, error: (e as Error).message }));
    this.inFlight.set(s.name, run);
    try {
      await run;
    } finally {
      this.inFlight.delete(s.name);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled([...this.inFlight.values()]);
    // close() waits for the jobs in progress to finish before resolving.
    await Promise.allSettled(this.workers.map((w) => w.close()));
    this.connection?.disconnect();
  }
}
