/**
 * Command-line tasks for developers and operators:
 *   token --role R [--uzovi N[,N]] [--agb N] [--subject S] [--ttl SECONDS]   print a development JWT
 *   migration:run | migration:revert | migration:show                        manage the schema
 *   migration:generate Name                                                  draft a migration from entity changes
 *   db:create                                                                create the database if missing
 *   db:passwords                                                             set the processes' roles' passwords from GGZ_{API,WORKER,RETENTION}_DB_PASSWORD
 *   seed:demo                                                                load synthetic demo referrals
 *   audit:verify                                                             verify the access log's hash chain and signed checkpoints (exit 1 when either fails)
 *   evaluation:replay [--from D] [--to D] [--uzovi N[,N]]                    recompute stored decisions from their stored inputs (exit 1 when any differs)
 *   bsn:reencrypt [--batch N]                                                re-encrypt BSNs under BSN_ENCRYPTION_KEY_ID (key rotation)
 *   generate:snapshots --entries N --providers P --dup-rate R [--pre-share S] [--repeat-rate Q] [--seed X] [--out DIR]
 *                                                                            write synthetic TTP snapshots and their ground truth
 * Exit codes: 0 success, 2 usage error, 78 bad configuration, 1 anything else.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAppDataSource } from '@app/migrations/data-source';
import { AuditService, ensureDatabase, isRole, loadConfigOrExit, revertLastMigrationLocked, ROLES, runMigrationsLocked, TokenService } from '@app/platform';
import { replayStoredDecisions } from '@app/mediation';
import { describeReencryptReport, reencryptBsns } from '@app/referrals';
import { isIsoDate } from '@app/core';
import { generateSnapshots, readGenerateFlags } from './generate-snapshots';
import { seedDemo } from './seed-demo';

class UsageError extends Error {}

function parseFlags(args: string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(args[i]);
    if (!m) throw new UsageError(`unexpected argument "${args[i]}"`);
    const value = m[2] ?? args[++i];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`--${m[1]} needs a value`);
    flags[m[1]] = value;
  }
  return flags;
}

async function withDataSource<T>(fn: (ds: ReturnType<typeof createAppDataSource>) => Promise<T>): Promise<T> {
  const config = loadConfigOrExit();
  await ensureDatabase(config.databaseUrl);
  const ds = createAppDataSource(config, 'ggz-cli');
  await ds.initialize();
  try {
    return await fn(ds);
  } finally {
    await ds.destroy();
  }
}

const commands: Record<string, (args: string[]) => Promise<void>> = {
  async 'evaluation:replay'(args) {
    const f = parseFlags(args);
    for (const k of Object.keys(f)) if (!['from', 'to', 'uzovi'].includes(k)) throw new UsageError(`unknown flag --${k}`);
    for (const k of ['from', 'to'] as const) if (f[k] !== undefined && !isIsoDate(f[k])) throw new UsageError(`--${k} must be a date YYYY-MM-DD`);
    const uzovis = f.uzovi?.split(',').map((u) => u.trim()) ?? null;
    if (uzovis?.some((u) => !/^\d{4}$/.test(u))) throw new UsageError('--uzovi must be 4-digit UZOVI codes, comma-separated');
    const report = await withDataSource((ds) => replayStoredDecisions(ds, { uzovis, from: f.from, to: f.to }));
    for (const d of report.differences) {
      process.stdout.write(
        `differs: evaluation ${d.evaluationId} (referral ${d.referralId}) ${d.field}: stored ${JSON.stringify(d.stored)}, recomputed ${JSON.stringify(d.recomputed)}\n`,
      );
    }
    process.stdout.write(
      `replayed ${report.checked} decision(s): ${report.differing} differ${report.differing > report.differences.length ? ` (first ${report.differences.length} differences shown)` : ''}\n`,
    );
    if (report.differing > 0) process.exitCode = 1;
  },

  async token(args) {
    const f = parseFlags(args);
    if (!isRole(f.role)) throw new UsageError(`--role must be one of: ${ROLES.join(', ')}`);
    const uzovi = f.uzovi?.split(',').map((s) => s.trim());
    if (uzovi?.some((u) => !/^\d{4}$/.test(u))) throw new UsageError('--uzovi must be 4-digit UZOVI codes, comma-separated');
    if (f.agb !== undefined && !/^\d{8}$/.test(f.agb)) throw new UsageError('--agb must be an 8-digit AGB code');
    const ttl = f.ttl === undefined ? undefined : Number(f.ttl);
    if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0)) throw new UsageError('--ttl must be a positive number of seconds');
    const tokens = new TokenService(loadConfigOrExit().jwt);
    process.stdout.write(tokens.mint({ role: f.role, uzovi, agb: f.agb, subject: f.subject, ttlSeconds: ttl }) + '\n');
  },
  async 'db:create'() {
    const made = await ensureDatabase(loadConfigOrExit().databaseUrl);
    console.log(made ? 'database created' : 'database already exists');
  },
  async 'db:passwords'() {
    // The processes' LOGIN roles (migration LeastPrivilege1765000000000) have no password until a
    // deployment gives them one: from GGZ_API_DB_PASSWORD, GGZ_WORKER_DB_PASSWORD and
    // GGZ_RETENTION_DB_PASSWORD, as the owner in DATABASE_URL. Unset ones are left as they are.
    const roles = { ggz_api: 'GGZ_API_DB_PASSWORD', ggz_worker: 'GGZ_WORKER_DB_PASSWORD', ggz_retention: 'GGZ_RETENTION_DB_PASSWORD' };
    const given = Object.entries(roles).filter(([, name]) => process.env[name]);
    if (given.length === 0) throw new UsageError(`set at least one of ${Object.values(roles).join(', ')}`);
    for (const [, name] of given) if (!/^[\x21-\x7e]{16,200}$/.test(process.env[name]!)) throw new UsageError(`${name} must be 16–200 printable ASCII characters without spaces`);
    await withDataSource(async (ds) => {
      for (const [role, name] of given) {
        // ALTER ROLE takes no parameters: a literal, its quotes doubled (standard_conforming_strings is on).
        await ds.query(`ALTER ROLE "${role}" PASSWORD '${process.env[name]!.replace(/'/g, "''")}'`);
        console.log(`password of ${role} set (from ${name})`);
      }
    });
  },
  async 'migration:run'() {
    await withDataSource(async (ds) => {
      const applied = await runMigrationsLocked(ds);
      console.log(applied.length ? `applied: ${applied.map((m) => m.name).join(', ')}` : 'no pending migrations');
    });
  },
  async 'migration:revert'() {
    await withDataSource(async (ds) => {
      await revertLastMigrationLocked(ds);
      console.log('reverted the last migration');
    });
  },
  async 'migration:show'() {
    await withDataSource(async (ds) => {
      const applied: { name: string }[] = await ds.query(`SELECT name FROM typeorm_migrations ORDER BY id`).catch(() => []);
      const done = new Set(applied.map((r) => r.name));
      for (const m of ds.migrations) console.log(`${done.has(m.name!) ? '[X]' : '[ ]'} ${m.name}`);
    });
  },
  async 'migration:generate'(args) {
    const name = args[0];
    if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) throw new UsageError('migration:generate needs a PascalCase name, e.g. AddProviderTable');
    await withDataSource(async (ds) => {
      await runMigrationsLocked(ds);
      const sql = await ds.driver.createSchemaBuilder().log();
      if (sql.upQueries.length === 0) {
        console.log('entities and migrations agree: nothing to generate');
        return;
      }
      const ts = Date.now();
      const q = (qs: { query: string }[]) => qs.map((x) => `    await q.query(${JSON.stringify(x.query)});`).join('\n');
      const file = join(process.cwd(), 'migrations', `${ts}-${name.replace(/[A-Z]/g, (c, i) => (i ? '-' : '') + c.toLowerCase())}.ts`);
      writeFileSync(
        file,
        `import { MigrationInterface, QueryRunner } from 'typeorm';\n\n/** DRAFT generated from entity changes: review by hand, name constraints and indexes explicitly. */\nexport class ${name}${ts} implements MigrationInterface {\n  name = '${name}${ts}';\n\n  async up(q: QueryRunner): Promise<void> {\n${q(sql.upQueries)}\n  }\n\n  async down(q: QueryRunner): Promise<void> {\n${q(sql.downQueries.reverse())}\n  }\n}\n`,
      );
      console.log(`wrote ${file}\nadd it to migrations/index.ts after review`);
    });
  },
  async 'audit:verify'() {
    await withDataSource(async (ds) => {
      const [{ present }] = await ds.query(`SELECT to_regclass('access_log') IS NOT NULL AS present`);
      if (!present) throw new UsageError('this database has no access log yet: run `npm run migration:run` (or start the service) first');
      const audit = new AuditService(ds);
      while ((await audit.seal()) > 0);
      const { checkpointKey, checkpointSeconds } = loadConfigOrExit().audit;
      const result = await audit.verify({ checkpointKey, checkpointSeconds });
      if (result.brokenAt !== null) console.error(`access log BROKEN at entry ${result.brokenAt}: ${result.reason} (${result.entries} entries before it verified)`);
      if (result.checkpointProblem !== null) console.error(`access log checkpoints do NOT hold: ${result.checkpointProblem} (${result.checkpoints} checkpoints verified before)`);
      if (result.brokenAt === null && result.checkpointProblem === null)
        console.log(`access log intact: ${result.entries} entries and ${result.checkpoints} signed checkpoints verified`);
      else process.exitCode = 1;
    });
  },
  async 'bsn:reencrypt'(args) {
    const f = parseFlags(args);
    const unknown = Object.keys(f).filter((k) => k !== 'batch');
    if (unknown.length) throw new UsageError(`unknown option --${unknown[0]} (bsn:reencrypt takes --batch N)`);
    const batchSize = f.batch === undefined ? 1000 : Number(f.batch);
    if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 10000)) throw new UsageError('--batch must be a whole number from 1 to 10000');
    const keys = loadConfigOrExit().bsn;
    await withDataSource(async (ds) => {
      console.log(`re-encrypting BSNs under key "${keys.currentKeyId}", ${batchSize} per transaction`);
      const report = await reencryptBsns(ds, keys, { batchSize, onBatch: (p) => console.log(`batch ${p.batch}: ${p.reencrypted} re-encrypted (${p.total} so far)`) });
      for (const line of describeReencryptReport(report)) console.log(line);
      if (Object.keys(report.missingKey).length > 0 || report.leftOver > 0) process.exitCode = 1;
    });
  },
  async 'seed:demo'() {
    await seedDemo(loadConfigOrExit());
  },
  async 'generate:snapshots'(args) {
    const options = readGenerateFlags(parseFlags(args));
    if (typeof options === 'string') throw new UsageError(options);
    console.log(generateSnapshots(options, loadConfigOrExit().ttp.stage1Key));
  },
};

async function main() {
  const [command, ...args] = process.argv.slice(2);
  const run = commands[command ?? ''];
  if (!run) {
    console.error(`usage: cli <${Object.keys(commands).join('|')}> [options]`);
    process.exit(2);
  }
  try {
    await run(args);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}`);
      process.exit(2);
    }
    console.error(`error: ${(e as Error).message}`);
    process.exit(1);
  }
}

void main();
