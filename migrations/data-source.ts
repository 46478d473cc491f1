/**
 * The one DataSource definition used by the API, the worker, the CLI (migrations) and the tests.
 * It lives beside the migrations because it is where the schema's parts come together: each
 * lib contributes its entities; the migrations define the tables.
 */
import { DataSource } from 'typeorm';
import type { AppConfig } from '../libs/platform/src/config/config';
// Relative imports: this file is also loaded by tooling that does not know the path aliases.
import { REFERRAL_ENTITIES } from '../libs/referrals/src/entities';
import { MIGRATIONS } from './index';

export const ENTITIES = [...REFERRAL_ENTITIES];

export function createAppDataSource(config: Pick<AppConfig, 'databaseUrl' | 'databasePoolSize'>, applicationName = 'ggz-wachttijd'): DataSource {
  return new DataSource({
    type: 'postgres',
    url: config.databaseUrl,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    applicationName,
    extra: {
      max: config.databasePoolSize,
      // Fail fast instead of hanging when Postgres is unreachable.
      connectionTimeoutMillis: 5000,
    },
  });
}
