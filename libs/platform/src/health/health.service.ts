/** Readiness: Postgres answers, no migration is pending, and Redis answers. */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { QueueService } from '../queue/queue.service';

export interface ReadinessReport {
  ready: boolean;
  checks: { postgres: 'up' | 'down'; migrations: 'current' | 'pending' | 'unknown'; redis: 'up' | 'down' };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), ms)))]).finally(() => clearTimeout(timer));
}

@Injectable()
export class HealthService {
  constructor(
    private readonly db: DataSource,
    private readonly queues: QueueService,
  ) {}

  async readiness(timeoutMs = 2000): Promise<ReadinessReport> {
    const [pg, migrations, redis] = await Promise.allSettled([
      withTimeout(this.db.query('SELECT 1'), timeoutMs),
      withTimeout(this.migrationsPending(), timeoutMs),
      withTimeout(this.queues.redis.ping(), timeoutMs),
    ]);
    const checks: ReadinessReport['checks'] = {
      postgres: pg.status === 'fulfilled' ? 'up' : 'down',
      migrations: migrations.status === 'fulfilled' ? (migrations.value ? 'pending' : 'current') : 'unknown',
      redis: redis.status === 'fulfilled' ? 'up' : 'down',
    };
    return { ready: checks.postgres === 'up' && checks.migrations === 'current' && checks.redis === 'up', checks };
  }

  /**
   * Whether a migration this build knows has not run. Read only: TypeORM's showMigrations would
   * first create the bookkeeping table, which the processes' roles may not (nor should) do.
   */
  private async migrationsPending(): Promise<boolean> {
    const [{ present }] = await this.db.query(`SELECT to_regclass('typeorm_migrations') IS NOT NULL AS present`);
    if (!present) return this.db.migrations.length > 0;
    const done = new Set(((await this.db.query(`SELECT name FROM typeorm_migrations`)) as { name: string }[]).map((r) => r.name));
    return this.db.migrations.some((m) => !done.has(m.name ?? m.constructor.name));
  }
}
