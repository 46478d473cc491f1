/** Builds the worker (a Nest application context, no HTTP), shared by main.ts and the tests. */
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { DestinationStream } from 'pino';
import { createAppDataSource } from '@app/migrations/data-source';
import { AppConfig, createLogger, PinoNestLogger } from '@app/platform';
import { WorkerModule } from './worker.module';

export async function createWorkerApp({ config, logDestination }: { config: AppConfig; logDestination?: DestinationStream }): Promise<INestApplicationContext> {
  const logger = createLogger(config.logLevel, logDestination).child({ process: 'worker' });
  const app = await NestFactory.createApplicationContext(
    WorkerModule.forRoot({ config, logger, dataSource: (c) => createAppDataSource(c, 'ggz-worker'), runMigrations: config.migrationsRun }),
    { logger: new PinoNestLogger(logger), abortOnError: false },
  );
  // On SIGTERM/SIGINT the jobs in progress finish, then the process exits 0 (Nest's default
  // re-raises the signal, so a clean stop looked like a kill: 143).
  app.enableShutdownHooks([], { useProcessExit: true });
  await app.init();
  return app;
}
