import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('works with no configuration at all, against local Postgres and Redis', () => {
    const c = loadConfig({});
    expect(c.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/ggz_wachttijd');
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.port).toBe(3000);
    expect(c.jwt.algorithm).toBe('HS256');
    expect(c.bsn.keys.get(c.bsn.currentKeyId)).toHaveLength(32);
  });

  it('names every malformed variable', () => {
    const err = (() => {
      try {
        loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', REDIS_URL: 'not a url', MIGRATIONS_RUN: 'perhaps', NODE_ENV: 'staging' });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    const text = err.message;
    for (const name of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'MIGRATIONS_RUN', 'NODE_ENV']) expect(text).toContain(name);
  });

  it('requires real secrets in production and refuses the development secret', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET is required[\s\S]*BSN_ENCRYPTION_KEYS is required[\s\S]*BSN_INDEX_KEY is required/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'development-only-secret-do-not-use-in-production' })).toThrow(/development secret/);
  });

  it('accepts a full production configuration with key rotation', () => {
    const k = (b: number) => Buffer.alloc(32, b).toString('base64');
    const c = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'x'.repeat(40),
      BSN_ENCRYPTION_KEYS: `2025a:${k(1)},2026a:${k(2)}`,
      BSN_ENCRYPTION_KEY_ID: '2026a',
      BSN_INDEX_KEY: k(3),
      MESSAGE_FINGERPRINT_KEY: k(4),
      TTP_STAGE1_KEY: k(5),
      TTP_KEYS: `1:${k(6)},2:${k(7)}`,
      AUDIT_CHECKPOINT_KEY: k(8),
    });
    expect(c.bsn.currentKeyId).toBe('2026a');
    expect([...c.bsn.keys.keys()]).toEqual(['2025a', '2026a']);
    // The TTP key in force is the highest version unless TTP_KEY_VERSION names another.
    expect(c.ttp.currentKeyVersion).toBe(2);
    expect([...c.ttp.keys.keys()]).toEqual([1, 2]);
  });

  it('requires the TTP keys in production, and refuses a TTP key version that is not configured', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/TTP_KEYS is required[\s\S]*TTP_STAGE1_KEY is required/);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/AUDIT_CHECKPOINT_KEY is required/);
    expect(() => loadConfig({ TTP_KEYS: `1:${Buffer.alloc(32, 1).toString('base64')}`, TTP_KEY_VERSION: '2' })).toThrow(/TTP_KEY_VERSION 2 is not among TTP_KEYS/);
  });

  it('refuses a current key id that is not configured, and short keys', () => {
    expect(() => loadConfig({ BSN_ENCRYPTION_KEYS: `a:${Buffer.alloc(32).toString('base64')}`, BSN_ENCRYPTION_KEY_ID: 'b' })).toThrow(/BSN_ENCRYPTION_KEY_ID/);
    expect(() => loadConfig({ BSN_INDEX_KEY: Buffer.alloc(8).toString('base64') })).toThrow(/BSN_INDEX_KEY/);
  });

  it('reads the metrics settings: the worker listener on 9464 by default, 0 for none, and no short scrape secret', () => {
    expect(loadConfig({}).metrics).toEqual({ token: undefined, cacheSeconds: 10, workerPort: 9464 });
    expect(loadConfig({ WORKER_METRICS_PORT: '0', METRICS_CACHE_SECONDS: '0', METRICS_TOKEN: 'x'.repeat(32) }).metrics).toEqual({
      token: 'x'.repeat(32),
      cacheSeconds: 0,
      workerPort: 0,
    });
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN must be at least 32 characters/);
    expect(() => loadConfig({ WORKER_METRICS_PORT: '70000' })).toThrow(/WORKER_METRICS_PORT/);
  });

  it('does not echo a database URL that may carry a password', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://user:s3cret@db/x' })).toThrow(/DATABASE_URL/);
    try {
      loadConfig({ DATABASE_URL: 'mysql://user:s3cret@db/x' });
    } catch (e) {
      expect((e as Error).message).not.toContain('s3cret');
    }
  });
});
