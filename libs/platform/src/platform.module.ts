/**
 * Process-wide services: configuration, logging, the database, queues, BSN crypto and token
 * verification. Apps import it once with forRoot; libs inject what it provides.
 */
import { DynamicModule, Global, Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Logger as PinoLogger } from 'pino';
import { DataSource } from 'typeorm';
import type { AppConfig } from './config/config';
import { AuditService } from './audit/audit.service';
import { BsnVault } from './crypto/bsn-vault';
import { runMigrationsLocked } from './database/migrate';
import { HealthService } from './health/health.service';
import { MetricsAccess, MetricsRegistry } from './metrics/metrics';
import { APP_CONFIG, ROOT_LOGGER } from './platform.tokens';
import { QueueService } from './queue/queue.service';
import { TokenService } from './auth/token.service';

export interface PlatformOptions {
  config: AppConfig;
  logger: PinoLogger;
  /** Builds the process's DataSource (see migrations/data-source.ts). */
  dataSource: (config: AppConfig) => DataSource;
  /** Run pending migrations (under an advisory lock) before the process serves. */
  runMigrations: boolean;
}

@Injectable()
class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly db: DataSource) {}
  async onApplicationShutdown(): Promise<void> {
    if (this.db.isInitialized) await this.db.destroy();
  }
}

@Global()
export class PlatformModule {
  static forRoot(options: PlatformOptions): DynamicModule {
    return {
      module: PlatformModule,
      providers: [
        { provide: APP_CONFIG, useValue: options.config },
        { provide: ROOT_LOGGER, useValue: options.logger },
        { provide: BsnVault, useValue: new BsnVault(options.config.bsn) },
        { provide: TokenService, useValue: new TokenService(options.config.jwt) },
        {
          provide: DataSource,
          useFactory: async () => {
            const ds = options.dataSource(options.config);
            await ds.initialize();
            if (options.runMigrations) {
              const applied = await runMigrationsLocked(ds);
              if (applied.length) new Logger('Database').log({ msg: 'migrations applied', migrations: applied.map((m) => m.name) });
            }
            return ds;
          },
        },
        DatabaseLifecycle,
        QueueService,
        AuditService,
        HealthService,
        MetricsRegistry,
        MetricsAccess,
      ],
      exports: [APP_CONFIG, ROOT_LOGGER, BsnVault, TokenService, DataSource, QueueService, HealthService, AuditService, MetricsRegistry, MetricsAccess],
    };
  }
}
