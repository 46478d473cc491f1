/**
 * What the worker runs, each declared in a file of its own under this folder and listed in
 * index.ts:
 * - a **consumer** takes the jobs of one declared queue (libs' `*.queue.ts`);
 * - a **schedule** is named recurring work (the sweep, the daily re-evaluation, retention, …).
 *   Schedules are timers in each worker process, not BullMQ schedulers, on purpose: a scheduler
 *   lives in Redis and would vanish with a Redis flush — the very failure the sweep exists to
 *   repair. Work that must happen once however many workers run claims itself in Postgres (the
 *   daily runs) or takes a lock (sealing). The one BullMQ scheduler, the nightly linkage, is itself
 *   put back into Redis by a schedule.
 * JobRunner starts and stops them, and refuses to start on a declared queue without exactly one
 * consumer or two schedules of one name.
 */
import type { Job } from 'bullmq';
import type { AppConfig, QueueDef } from '@app/platform';

export interface Consumer<T = unknown> {
  readonly queue: QueueDef<T>;
  /** Jobs taken at once by this process. */
  concurrency(config: AppConfig): number;
  /** How long a job may run before BullMQ thinks its worker died (default 30 s). */
  readonly lockDurationMs?: number;
  handle(job: Job<T>): Promise<unknown>;
}

export interface Schedule {
  /** Unique; in the log lines of its failures. */
  readonly name: string;
  /** Milliseconds between runs; 0 = not run in this configuration. */
  everyMs(config: AppConfig): number;
  /** Run once at start too, not only after the first interval. */
  readonly runAtStart?: boolean;
  /** One run; an overlapping tick is skipped, a failure logged and retried on the next tick. */
  run(): Promise<unknown>;
}

export type ConsumerClass = new (...args: any[]) => Consumer<any>;
export type ScheduleClass = new (...args: any[]) => Schedule;
