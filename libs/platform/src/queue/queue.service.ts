/**
 * BullMQ producers over one Redis connection per process. Producers fail fast when Redis is
 * unreachable (no offline queue): Postgres is the source of truth, and the sweeper re-enqueues
 * whatever could not be handed over, so the HTTP path must never hang on Redis.
 */
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import IORedis, { RedisOptions } from 'ioredis';
import { APP_CONFIG } from '../platform.tokens';
import type { AppConfig } from '../config/config';
import type { QueueDef } from './queue-def';

export function createRedis(url: string, purpose: 'producer' | 'worker', extra: RedisOptions = {}): IORedis {
  return new IORedis(url, {
    // Workers block on Redis and must retry forever; producers must fail fast.
    maxRetriesPerRequest: purpose === 'worker' ? null : 1,
    enableOfflineQueue: purpose === 'worker',
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...extra,
  });
}

@Injectable()
export class QueueService implements OnApplicationShutdown {
  private readonly logger = new Logger(QueueService.name);
  private readonly connection: IORedis;
  private readonly queues = new Map<string, Queue>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.connection = createRedis(config.redisUrl, 'producer', { lazyConnect: false });
    // Without a listener ioredis prints unhandled errors; the readiness check reports the state.
    this.connection.on('error', (e) => this.logger.warn({ msg: 'redis connection error', error: e.message }));
  }

  get redis(): IORedis {
    return this.connection;
  }

  /** The producer side of a declared queue (see queue-def.ts). */
  queue<T>(def: QueueDef<T>): Queue<T> {
    const name = def.name;
    let q = this.queues.get(name) as Queue<T> | undefined;
    if (!q) {
      // skipVersionCheck: otherwise BullMQ's first step is an INFO command, and when that fails
      // (a queue first used while Redis is down: no offline queue) the queue stays broken for the
      // life of the process — every later add fails although Redis is back.
      const created = new Queue<T>(name, { connection: this.connection, prefix: this.config.queuePrefix, skipWaitingForReady: true, skipVersionCheck: true });
      created.on('error', (e) => this.logger.warn({ msg: 'queue error', queue: name, error: e.message }));
      this.queues.set(name, created as Queue);
      q = created;
    }
    return q;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.connection.disconnect();
  }
}
