/**
 * The hand-written migrations: they agree with the entity mappings (so migration:generate has
 * nothing to add), they revert cleanly, and two processes migrating at once take turns.
 */
import { randomBytes } from 'node:crypto';
import { createAppDataSource } from '@app/migrations/data-source';
import { MIGRATIONS } from '@app/migrations/index';
import { dropDatabase, ensureDatabase, revertLastMigrationLocked, runMigrationsLocked } from '@app/platform';

function scratchUrl(): string {
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.pathname = `/${u.pathname.slice(1)}_s${randomBytes(3).toString('hex')}`;
  return u.toString();
}

it('leaves nothing for the schema builder to change: entities match the migrations', async () => {
  const ds = createAppDataSource({ databaseUrl: process.env.TEST_DATABASE_URL!, databasePoolSize: 2 });
  await ds.initialize();
  try {
    const sql = await ds.driver.createSchemaBuilder().log();
    expect(sql.upQueries.map((q) => q.query)).toEqual([]);
  } finally {
    await ds.destroy();
  }
});

it('migrates a fresh database from two processes at once, each migration applied once, and reverts to empty', async () => {
  const url = scratchUrl();
  await ensureDatabase(url);
  const a = createAppDataSource({ databaseUrl: url, databasePoolSize: 3 });
  const b = createAppDataSource({ databaseUrl: url, databasePoolSize: 3 });
  try {
    await Promise.all([a.initialize(), b.initialize()]);
    const [ra, rb] = await Promise.all([runMigrationsLocked(a), runMigrationsLocked(b)]);
    // One of them did the work; the other found nothing left to do.
    expect(ra.length + rb.length).toBe(MIGRATIONS.length);
    const applied = await a.query('SELECT name FROM typeorm_migrations');
    expect(applied).toHaveLength(MIGRATIONS.length);
    expect(await a.showMigrations()).toBe(false);

    for (let i = 0; i < MIGRATIONS.length; i++) await revertLastMigrationLocked(a);
    const tables = await a.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'typeorm_migrations'`);
    expect(tables).toEqual([]);
    // And forward again, as a deploy after a rollback would.
    expect(await runMigrationsLocked(a)).toHaveLength(MIGRATIONS.length);
  } finally {
    await Promise.allSettled([a.destroy(), b.destroy()]);
    await dropDatabase(url);
  }
});

it('refuses bad rows at the database too (constraints back the validation)', async () => {
  const ds = createAppDataSource({ databaseUrl: process.env.TEST_DATABASE_URL!, databasePoolSize: 1 });
  await ds.initialize();
  try {
    const insert = (overrides: Record<string, string>) => {
      const v = { uzovi: '3311', agb: '94012345', scope: 'zorgbemiddeling', status: 'pending', ...overrides };
      return ds.query(
        `INSERT INTO referral (uzovi, message_id, content_fingerprint, bsn_ciphertext, bsn_key_id, bsn_blind_index, verwijsdatum,
           klachtenprofiel, agb, consent_id, consent_given_at, consent_scope, consent_channel, sender, status)
         VALUES ($1, $2, repeat('0', 64), '\\x00', 'k', repeat('0', 64), '2026-01-01', 'angst', $3, 'c', now(), $4, 'x', 's', $5)`,
        [v.uzovi, `constraint-${randomBytes(4).toString('hex')}`, v.agb, v.scope, v.status],
      );
    };
    await expect(insert({ uzovi: '33a1' })).rejects.toThrow(/ck_referral_uzovi/);
    await expect(insert({ agb: '1234' })).rejects.toThrow(/ck_referral_agb/);
    await expect(insert({ scope: 'marketing' })).rejects.toThrow(/ck_referral_consent_scope/);
    await expect(insert({ status: 'lost' })).rejects.toThrow(/ck_referral_status/);
  } finally {
    await ds.destroy();
  }
});
