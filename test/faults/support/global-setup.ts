/**
 * The fault suite's global setup: makes sure dist/ is built (the suite runs the built API and
 * worker as child processes), then starts a throwaway PostgreSQL cluster and Redis server of the
 * suite's own (see infra.ts) and migrates a template database that each test file copies.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppDataSource } from '../../../migrations/data-source';
import { ensureDatabase, runMigrationsLocked } from '../../../libs/platform/src/database/migrate';
import { ENV, freePort, Infra, pgInit, pgStart, pgUrl, redisStart, TEMPLATE_DB, waitForRedis } from './infra';

export default async function globalSetup(): Promise<void> {
  const root = join(__dirname, '../../..');
  execFileSync(process.execPath, [join(root, 'scripts/ensure-built.js')], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });

  const infra: Infra = { dir: mkdtempSync(join(tmpdir(), 'ggz-faults-')), pgPort: await freePort(), redisPort: await freePort() };
  process.env[ENV.dir] = infra.dir;
  // The children run a copy of dist/ taken now: the scenarios restart them, and a build started
  // meanwhile (nest build empties dist/ first) must not leave a restart without its modules.
  const dist = join(infra.dir, 'dist');
  cpSync(join(root, 'dist'), dist, { recursive: true });
  for (const kind of ['api', 'worker']) {
    if (!existsSync(join(dist, `apps/${kind}/src/main.js`))) throw new Error(`dist/ has no ${kind} (a build was running?): run \`npm run build\` and try again`);
  }
  process.env[ENV.dist] = dist;
  process.env[ENV.pgPort] = String(infra.pgPort);
  process.env[ENV.redisPort] = String(infra.redisPort);
  const logDir = join(infra.dir, 'logs');
  mkdirSync(logDir);
  process.env[ENV.logDir] = logDir;

  await pgInit(infra);
  await pgStart(infra);
  redisStart(infra);
  await waitForRedis(infra);

  const url = pgUrl(infra, TEMPLATE_DB);
  await ensureDatabase(url);
  const ds = createAppDataSource({ databaseUrl: url, databasePoolSize: 2 });
  await ds.initialize();
  try {
    await runMigrationsLocked(ds);
  } finally {
    await ds.destroy();
  }
}
