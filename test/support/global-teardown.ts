import IORedis from 'ioredis';
import { dropDatabase } from '../../libs/platform/src/database/migrate';
import { checkLogDir, LOG_DIR_ENV } from './log-scan';

export default async function globalTeardown(): Promise<void> {
  try {
    await cleanUp();
  } finally {
    // Fails the run (throws) when a captured log line holds an elfproef-valid number.
    console.log(checkLogDir(process.env[LOG_DIR_ENV], !!process.env.KEEP_TEST_LOGS));
  }
}

async function cleanUp(): Promise<void> {
  if (process.env.TEST_DATABASE_URL && !process.env.KEEP_TEST_DATABASE) await dropDatabase(process.env.TEST_DATABASE_URL);
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
