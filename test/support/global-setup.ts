/**
 * Creates a database of this run's own and migrates it with the real migrations, so the suite
 * never touches development data and two runs side by side do not collide. Redis isolation is
 * by a queue prefix of this run's own.
 */
import { randomBytes } from 'node:crypto';
import { createAppDataSource } from '../../migrations/data-source';
import { ensureDatabase, runMigrationsLocked } from '../../libs/platform/src/database/migrate';
import { LOG_DIR_ENV, makeLogDir } from './log-scan';

export default async function globalSetup(): Promise<void> {
  const base = new URL(process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  base.pathname = `/ggz_test_${runId}`;
  const url = base.toString();
  await ensureDatabase(url);
  const ds = createAppDataSource({ databaseUrl: url, databasePoolSize: 2 });
  await ds.initialize();
  try {
    await runMigrationsLocked(ds);
  } finally {
    await ds.destroy();
  }
  process.env.TEST_DATABASE_URL = url;
  process.env.TEST_QUEUE_PREFIX = `test_${runId}`;
  // Every captured log line goes here too; the global teardown scans them for BSNs.
  process.env[LOG_DIR_ENV] = makeLogDir(runId);
}
