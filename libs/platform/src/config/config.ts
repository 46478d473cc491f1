/**
 * Configuration from the environment, validated once at start. Every variable has a local
 * default that works against 127.0.0.1 Postgres and Redis, except secrets in production, which
 * must be set. A bad value stops the process with a message naming the variable.
 */
import { createHash } from 'node:crypto';

export type NodeEnv = 'development' | 'test' | 'production';

export interface BsnKeyConfig {
  /** Key id stored beside each ciphertext, so keys can be rotated. */
  currentKeyId: string;
  keys: Map<string, Buffer>;
  /** Key for the blind index (HMAC) used for exact BSN lookups. */
  indexKey: Buffer;
  /** Key for the message content fingerprint that makes re-delivery idempotent. */
  fingerprintKey: Buffer;
}

export interface AppConfig {
  nodeEnv: NodeEnv;
  host: string;
  port: number;
  logLevel: string;
  databaseUrl: string;
  databasePoolSize: number;
  migrationsRun: boolean;
  redisUrl: string;
  queuePrefix: string;
  jwt: {
    algorithm: 'HS256' | 'RS256';
    secret?: string;
    publicKey?: string;
    /** RS256 keys from the identity provider's JWKS endpoint, picked by the token's `kid` (instead of publicKey). */
    jwks?: { url: string; cacheSeconds: number; minRefreshSeconds: number; timeoutMs: number };
    issuer: string;
    audience: string;
  };
  bsn: BsnKeyConfig;
  bodyLimitBytes: number;
  batchMaxMessages: number;
  sweeper: { delaySeconds: number; intervalSeconds: number };
  workerConcurrency: number;
  evaluation: {
    /** Referrals per evaluation job (jobs from batches, the sweeper and re-evaluations). */
    batchSize: number;
    /** Referrals older than this are no longer re-evaluated (they can no longer lead to mediation). */
    horizonWeeks: number;
    /** Whether this worker runs the daily re-evaluation (off in tests that need a quiet queue). */
    daily: boolean;
    /** Hour of the day (Europe/Amsterdam) from which the daily re-evaluation runs. */
    dailyHour: number;
    /** How often a worker catches up with registry changes and new linkage runs (seconds; 0: never — tests with fixtures). */
    catchUpSeconds: number;
    /**
     * Fault tests only (refused in production): each batch waits this long between reading its
     * inputs and storing its decisions, so a kill lands in that window. 0: no wait.
     */
    testHoldMs: number;
  };
  worklist: {
    /** First contact is due this many working days (no weekends, Dutch public holidays) after a task is created. */
    firstContactWorkingDays: number;
    /** `unreachable` may be recorded only after this many failed contact attempts. */
    unreachableAfterAttempts: number;
    /** A task in progress with no activity for this long goes back to the queue. */
    staleClaimMinutes: number;
  };
  /** How long personal data stays (see RetentionService). */
  retention: {
    /** Whether this worker runs the nightly retention run. */
    enabled: boolean;
    /** Hour of the day (Europe/Amsterdam) from which it runs. */
    hour: number;
    /** Personal data of a referral goes this many days after its task closed. */
    daysAfterClose: number;
    /** Access-log entries are kept this many years (at least five). */
    auditYears: number;
    /**
     * The connection the access-log purge runs on (RETENTION_DATABASE_URL): the role that alone may
     * call access_log_purge (ggz_retention). Unset: the worker's DATABASE_URL.
     */
    databaseUrl: string | null;
  };
  /** Signed checkpoints of the access log's chain head (see AuditService.checkpoint). */
  audit: {
    /** HMAC-SHA256 key (AUDIT_CHECKPOINT_KEY): in the processes' configuration, never in the database. */
    checkpointKey: Buffer;
    /** The worker signs the chain head this often (AUDIT_CHECKPOINT_SECONDS); verify flags a newest checkpoint older than twice this. */
    checkpointSeconds: number;
  };
  /** The TTP's own key ring: never used outside libs/ttp. */
  ttp: {
    /** Stage-1 key, shared with the providers (so they can pseudonymise before sending). */
    stage1Key: Buffer;
    /** Stage-2 keys by version; only the TTP has them. */
    keys: Map<number, Buffer>;
    /** The version new snapshots are pseudonymised with. */
    currentKeyVersion: number;
    /** Largest snapshot upload accepted (streamed, so this bounds time, not memory). */
    maxUploadBytes: number;
    /** When the nightly linkage runs: a cron pattern (5 fields, or 6 with seconds) in Europe/Amsterdam time; '' when TTP_LINKAGE_CRON=off. */
    linkageCron: string;
    /** A declared wait further than this from the measured one (weeks) flags the provider's figure. */
    flagWeeks: number;
    /** How many provider pairs the insurer report lists as the largest overlaps. */
    topOverlaps: number;
    /** Feedback names a person only once on the provider's list in two snapshots at least this many days apart (TTP_FEEDBACK_MIN_DAYS). */
    feedbackMinDays: number;
    /** Snapshots a provider may put in force per rolling 24 hours (TTP_SNAPSHOTS_PER_DAY); more are refused with 429. */
    snapshotsPerDay: number;
  };
  enableDocs: boolean;
  /** HTTP hardening of the API (libs/platform/src/http/security.ts). */
  security: {
    /** Exact origins (scheme://host[:port]) browsers may call the API from; empty = no cross-origin access. */
    corsOrigins: string[];
    /** Send Strict-Transport-Security (default: on in production). */
    hsts: boolean;
    /** Requests per client (verified token subject, else address) per minute, sliding window shared in Redis; 0 = no limit (the default outside production). */
    rateLimitPerMinute: number;
    /** Most clients the limiter tracks at once; beyond it the longest idle is forgotten. */
    rateLimitMaxClients: number;
  };
  /** Prometheus metrics (libs/platform/src/metrics) and the worker's own HTTP listener. */
  metrics: {
    /** Bearer secret a scraper may send instead of an admin JWT (METRICS_TOKEN); undefined = admin JWT only. */
    token?: string;
    /** Seconds the scrape-time gauges (queue depths, tasks, referrals, linkage) are reused. */
    cacheSeconds: number;
    /** Port of the worker's /metrics and /health/live listener (on HOST); 0 = no listener. */
    workerPort: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Development-only key material, derived from a public label: never valid in production. */
function devKey(label: string): Buffer {
  return createHash('sha256').update(`ggz-wachttijd development key: ${label}`).digest();
}

export const DEV_JWT_SECRET = 'development-only-secret-do-not-use-in-production';

type Env = Record<string, string | undefined>;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max} (got "${v}")`);
      return fallback;
    }
    return Number(v);
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (/^(true|1|yes)$/i.test(v)) return true;
    if (/^(false|0|no)$/i.test(v)) return false;
    this.problems.push(`${name} must be true or false (got "${v}")`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(v)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${v}")`);
      return fallback;
    }
    return v as T;
  }

  url(name: string, fallback: string, protocols: string[]): string {
    const v = this.raw(name) ?? fallback;
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) throw new Error('protocol');
    } catch {
      // Never echo the value: a URL may carry a password.
      this.problems.push(`${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);
    }
    return v;
  }

  /** A base64 key of at least 32 bytes. */
  key(name: string, value: string): Buffer | undefined {
    const buf = Buffer.from(value, 'base64');
    if (buf.length < 32 || buf.toString('base64').replace(/=+$/, '') !== value.replace(/=+$/, '')) {
      this.problems.push(`${name} must be base64 of at least 32 random bytes`);
      return undefined;
    }
    return buf;
  }
}

export function loadConfig(env: Env = process.env): AppConfig {
  const r = new Reader(env);
  const nodeEnv = r.oneOf<NodeEnv>('NODE_ENV', ['development', 'test', 'production'], 'development');
  const production = nodeEnv === 'production';

  const requiredInProduction = (name: string, devValue: string): string | undefined => {
    const v = r.raw(name);
    if (v !== undefined) return v;
    if (production) {
      r.problems.push(`${name} is required when NODE_ENV=production`);
      return undefined;
    }
    return devValue;
  };

  // JWT: HS256 with a shared secret for development; RS256 with a public key for production.
  const algorithm = r.oneOf('JWT_ALGORITHM', ['HS256', 'RS256'] as const, 'HS256');
  // JWKS for RS256 (production): keys fetched from the identity provider, cached, picked by the
  // token's `kid`; https only in production. An unknown kid refetches at most once per
  // JWT_JWKS_MIN_REFRESH_SECONDS, so forged key ids cannot make the service hammer the endpoint.
  const jwksUrl = r.raw('JWT_JWKS_URL');
  let jwks: AppConfig['jwt']['jwks'];
  if (jwksUrl !== undefined) {
    let protocol = '';
    try {
      protocol = new URL(jwksUrl).protocol;
    } catch {
      /* reported below, without echoing the value */
    }
    if (protocol !== 'https:' && !(protocol === 'http:' && !production)) {
      r.problems.push(production ? 'JWT_JWKS_URL must be an https:// URL in production' : 'JWT_JWKS_URL must be an https:// (or, outside production, http://) URL');
    }
    if (algorithm !== 'RS256') r.problems.push('JWT_JWKS_URL needs JWT_ALGORITHM=RS256');
    if (r.raw('JWT_PUBLIC_KEY') !== undefined) r.problems.push('set JWT_JWKS_URL or JWT_PUBLIC_KEY, not both');
    jwks = {
      url: jwksUrl,
      cacheSeconds: r.int('JWT_JWKS_CACHE_SECONDS', 600, 1, 86400),
      minRefreshSeconds: r.int('JWT_JWKS_MIN_REFRESH_SECONDS', 30, 0, 3600),
      timeoutMs: r.int('JWT_JWKS_TIMEOUT_MS', 3000, 100, 60000),
    };
  }
  let secret: string | undefined;
  let publicKey: string | undefined;
  if (algorithm === 'HS256') {
    secret = requiredInProduction('JWT_SECRET', DEV_JWT_SECRET);
    if (secret !== undefined && secret.length < 32) r.problems.push('JWT_SECRET must be at least 32 characters');
    if (production && secret === DEV_JWT_SECRET) r.problems.push('JWT_SECRET must not be the development secret in production');
  } else {
    publicKey = r.raw('JWT_PUBLIC_KEY')?.replace(/\\n/g, '\n');
    if (!jwks && (!publicKey || !publicKey.includes('BEGIN PUBLIC KEY'))) r.problems.push('JWT_PUBLIC_KEY must be a PEM public key (or set JWT_JWKS_URL) when JWT_ALGORITHM=RS256');
  }

  // BSN keys: "id:base64,id:base64" with BSN_ENCRYPTION_KEY_ID naming the one that encrypts.
  const keys = new Map<string, Buffer>();
  const keySpec = requiredInProduction('BSN_ENCRYPTION_KEYS', `dev1:${devKey('bsn-encryption-dev1').toString('base64')}`);
  for (const part of (keySpec ?? '').split(',').filter(Boolean)) {
    const m = /^([A-Za-z0-9_-]{1,32}):(.+)$/.exec(part.trim());
    if (!m) {
      r.problems.push('BSN_ENCRYPTION_KEYS must be a comma-separated list of keyId:base64key');
      continue;
    }
    const buf = r.key('BSN_ENCRYPTION_KEYS', m[2]);
    if (buf && buf.length !== 32) r.problems.push(`BSN_ENCRYPTION_KEYS key "${m[1]}" must be exactly 32 bytes (AES-256)`);
    else if (buf) keys.set(m[1], buf);
  }
  const currentKeyId = r.string('BSN_ENCRYPTION_KEY_ID', [...keys.keys()].pop() ?? 'dev1');
  if (keys.size > 0 && !keys.has(currentKeyId)) r.problems.push(`BSN_ENCRYPTION_KEY_ID "${currentKeyId}" is not among BSN_ENCRYPTION_KEYS`);
  const indexSpec = requiredInProduction('BSN_INDEX_KEY', devKey('bsn-blind-index').toString('base64'));
  const indexKey = indexSpec ? r.key('BSN_INDEX_KEY', indexSpec) : undefined;
  const fingerprintSpec = requiredInProduction('MESSAGE_FINGERPRINT_KEY', devKey('message-fingerprint').toString('base64'));
  const fingerprintKey = fingerprintSpec ? r.key('MESSAGE_FINGERPRINT_KEY', fingerprintSpec) : undefined;

  // TTP keys: "version:base64" pairs, e.g. "1:…,2:…", with TTP_KEY_VERSION naming the current one.
  const ttpKeys = new Map<number, Buffer>();
  const ttpSpec = requiredInProduction('TTP_KEYS', `1:${devKey('ttp-stage2-v1').toString('base64')}`);
  for (const part of (ttpSpec ?? '').split(',').filter(Boolean)) {
    const m = /^([1-9][0-9]{0,3}):(.+)$/.exec(part.trim());
    if (!m) {
      r.problems.push('TTP_KEYS must be a comma-separated list of version:base64key (version 1–9999)');
      continue;
    }
    const buf = r.key('TTP_KEYS', m[2]);
    if (buf) ttpKeys.set(Number(m[1]), buf);
  }
  const ttpVersion = r.int('TTP_KEY_VERSION', Math.max(1, ...ttpKeys.keys()), 1, 9999);
  if (ttpKeys.size > 0 && !ttpKeys.has(ttpVersion)) r.problems.push(`TTP_KEY_VERSION ${ttpVersion} is not among TTP_KEYS`);
  const checkpointSpec = requiredInProduction('AUDIT_CHECKPOINT_KEY', devKey('audit-checkpoint').toString('base64'));
  const checkpointKey = checkpointSpec ? r.key('AUDIT_CHECKPOINT_KEY', checkpointSpec) : undefined;
  const stage1Spec = requiredInProduction('TTP_STAGE1_KEY', devKey('ttp-stage1-shared').toString('base64'));
  const stage1Key = stage1Spec ? r.key('TTP_STAGE1_KEY', stage1Spec) : undefined;

  const config: AppConfig = {
    nodeEnv,
    host: r.string('HOST', '127.0.0.1'),
    port: r.int('PORT', 3000, 0, 65535),
    logLevel: r.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    databaseUrl: r.url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/ggz_wachttijd', ['postgres:', 'postgresql:']),
    databasePoolSize: r.int('DATABASE_POOL_SIZE', 10, 1, 200),
    migrationsRun: r.bool('MIGRATIONS_RUN', true),
    redisUrl: r.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    queuePrefix: r.string('QUEUE_PREFIX', 'ggz'),
    jwt: {
      algorithm,
      secret,
      publicKey,
      jwks,
      issuer: r.string('JWT_ISSUER', 'ggz-wachttijd-dev'),
      audience: r.string('JWT_AUDIENCE', 'ggz-wachttijd'),
    },
    bsn: {
      currentKeyId,
      keys,
      indexKey: indexKey ?? Buffer.alloc(32),
      fingerprintKey: fingerprintKey ?? Buffer.alloc(32),
    },
    bodyLimitBytes: r.int('BODY_LIMIT_BYTES', 2 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    batchMaxMessages: r.int('BATCH_MAX_MESSAGES', 1000, 1, 10000),
    sweeper: {
      delaySeconds: r.int('SWEEPER_DELAY_SECONDS', 60, 0, 86400),
      intervalSeconds: r.int('SWEEPER_INTERVAL_SECONDS', 30, 1, 86400),
    },
    workerConcurrency: r.int('WORKER_CONCURRENCY', 10, 1, 200),
    evaluation: {
      batchSize: r.int('EVALUATION_BATCH_SIZE', 200, 1, 1000),
      horizonWeeks: r.int('REEVALUATION_HORIZON_WEEKS', 26, 1, 520),
      daily: r.bool('DAILY_REEVALUATION', true),
      dailyHour: r.int('DAILY_REEVALUATION_HOUR', 3, 0, 23),
      catchUpSeconds: r.int('EVALUATION_CATCH_UP_SECONDS', 2, 0, 3600),
      testHoldMs: r.int('EVALUATION_TEST_HOLD_MS', 0, 0, 60_000),
    },
    worklist: {
      firstContactWorkingDays: r.int('TASK_FIRST_CONTACT_WORKING_DAYS', 3, 0, 60),
      unreachableAfterAttempts: r.int('UNREACHABLE_AFTER_ATTEMPTS', 3, 1, 20),
      staleClaimMinutes: r.int('STALE_CLAIM_MINUTES', 120, 1, 7 * 24 * 60),
    },
    retention: {
      enabled: r.bool('RETENTION_RUN', true),
      hour: r.int('RETENTION_HOUR', 4, 0, 23),
      daysAfterClose: r.int('RETENTION_DAYS_AFTER_CLOSE', 90, 1, 3650),
      auditYears: r.int('AUDIT_RETENTION_YEARS', 5, 5, 100),
      databaseUrl: env.RETENTION_DATABASE_URL ? r.url('RETENTION_DATABASE_URL', '', ['postgres:', 'postgresql:']) : null,
    },
    audit: {
      checkpointKey: checkpointKey ?? Buffer.alloc(32),
      checkpointSeconds: r.int('AUDIT_CHECKPOINT_SECONDS', 60, 1, 86_400),
    },
    ttp: {
      stage1Key: stage1Key ?? Buffer.alloc(32),
      keys: ttpKeys,
      currentKeyVersion: ttpVersion,
      maxUploadBytes: r.int('TTP_MAX_UPLOAD_BYTES', 1024 * 1024 * 1024, 1024, 16 * 1024 * 1024 * 1024),
      linkageCron: r.string('TTP_LINKAGE_CRON', '30 2 * * *') === 'off' ? '' : r.string('TTP_LINKAGE_CRON', '30 2 * * *'),
      flagWeeks: r.int('TTP_FLAG_WEEKS', 4, 1, 52),
      topOverlaps: r.int('TTP_TOP_OVERLAPS', 20, 1, 500),
      feedbackMinDays: r.int('TTP_FEEDBACK_MIN_DAYS', 7, 1, 365),
      snapshotsPerDay: r.int('TTP_SNAPSHOTS_PER_DAY', 12, 1, 1000),
    },
    enableDocs: r.bool('ENABLE_DOCS', true),
    // HTTP hardening. CORS_ORIGINS lists origins exactly as browsers send them (lower case, no
    // default port, no path or trailing slash), so a listed origin cannot silently never match.
    security: {
      corsOrigins: (r.raw('CORS_ORIGINS') ?? '')
        .split(',')
        .map((o) => o.trim())
        .filter((o) => {
          let exact = false;
          try {
            const u = new URL(o);
            exact = (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === o;
          } catch {
            /* reported below */
          }
          if (o !== '' && !exact) {
            r.problems.push(
              `CORS_ORIGINS must be a comma-separated list of exact origins such as https://portal.example.nl (scheme://host[:port], lower case, no path, no trailing slash, no *; got "${o}")`,
            );
          }
          return exact;
        }),
      hsts: r.bool('HSTS_ENABLED', production),
      // Production only by default: one benchmark client sends ~26,000 whoami/s (1.5 M a minute).
      rateLimitPerMinute: r.int('RATE_LIMIT_PER_MINUTE', production ? 120000 : 0, 0, 100000000),
      // About 200 bytes per client; the once-a-minute sweep walks them all, hence the upper bound.
      rateLimitMaxClients: r.int('RATE_LIMIT_MAX_CLIENTS', 10000, 100, 1000000),
    },
    metrics: {
      token: r.raw('METRICS_TOKEN'),
      cacheSeconds: r.int('METRICS_CACHE_SECONDS', 10, 0, 3600),
      workerPort: r.int('WORKER_METRICS_PORT', 9464, 0, 65535),
    },
  };
  // A scrape secret is compared as a bearer credential: too short is guessable.
  if (production && config.evaluation.testHoldMs > 0) r.problems.push('EVALUATION_TEST_HOLD_MS is for fault tests and may not be set when NODE_ENV=production');
  if (config.metrics.token !== undefined && config.metrics.token.length < 32) r.problems.push('METRICS_TOKEN must be at least 32 characters');
  if (config.ttp.linkageCron && !/^(\S+\s+){4,5}\S+$/.test(config.ttp.linkageCron)) {
    r.problems.push('TTP_LINKAGE_CRON must be a cron pattern of 5 fields (or 6, with seconds first), or off for no nightly run');
  }
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(config.queuePrefix)) r.problems.push('QUEUE_PREFIX must be 1–40 letters, digits, - or _');
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}

/** For process entry points: load the configuration or exit with a message naming the problem. */
export function loadConfigOrExit(env: Env = process.env): AppConfig {
  try {
    return loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
}
