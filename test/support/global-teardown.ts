import { join } from 'node:path';
import IORedis from 'ioredis';
import { loadConfig, register } from 'tsconfig-paths';
import { checkLogDir, LOG_DIR_ENV } from './log-scan';

// Jest applies no moduleNameMapper to the global teardown: the libs' own @app/… imports resolve
// through tsconfig.json's paths instead.
const tsconfig = loadConfig(join(__dirname, '../..'));
if (tsconfig.resultType === 'success') register({ baseUrl: tsconfig.absoluteBaseUrl, paths: tsconfig.paths });

export default async function globalTeardown(): Promise<void> {
  try {
    await cleanUp();
  } finally {
    // Fails the run (throws) when a captured log line holds an elfproef-valid number.
    console.log(checkLogDir(process.env[LOG_DIR_ENV], !!process.env.KEEP_TEST_LOGS));
  }
}

async function cleanUp(): Promise<void> {
  try {
    // Every decision the run made in its shared database, replayed with today's code: any difference fails the run.
    const { replayThenDrop } = await import('./replay');
    if (process.env.TEST_DATABASE_URL && !process.env.KEEP_TEST_DATABASE)
      console.log(`replay: ${(await replayThenDrop(process.env.TEST_DATABASE_URL)).checked} decision(s), none differs`);
  } finally {
    await cleanUpQueues();
  }
}

async function cleanUpQueues(): Promise<void> {
  const prefix = process.env.TEST_QUEUE_PREFIX;
  if (prefix) {
    const redis = new IORedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }
}
