/**
 * Stops the suite's Postgres and Redis and removes their directory; then scans every log line the
 * API and worker children wrote for elfproef-valid numbers (as the e2e run does), failing the run
 * on any. KEEP_FAULT_DIR=1 keeps the directory (logs, pg.log, redis.log) for a post-mortem.
 */
import { existsSync, rmSync } from 'node:fs';
import { checkLogDir } from '../../support/log-scan';
import { ENV, infraFromEnv, pgRunning, pgStop, redisStop } from './infra';

export default async function globalTeardown(): Promise<void> {
  if (!process.env[ENV.dir]) return;
  const infra = infraFromEnv();
  const keep = !!process.env.KEEP_FAULT_DIR;
  try {
    await redisStop(infra);
    if (pgRunning(infra)) await pgStop(infra, 'immediate');
  } finally {
    const logDir = process.env[ENV.logDir];
    try {
      // keep=true: checkLogDir leaves the directory; the whole temp dir is removed below.
      if (logDir && existsSync(logDir))
        console.log(
          checkLogDir(logDir, true)
            .replace('log scan', 'fault suite log scan')
            .replace(/, kept in .*$/, ''),
        );
    } finally {
      if (!keep) rmSync(infra.dir, { recursive: true, force: true });
      else console.log(`fault suite: kept ${infra.dir}`);
    }
  }
}
