/**
 * No BSN in the clear anywhere the service writes: logs (API and worker), Redis (job data and
 * every other key of ours), and any table of the database.
 */
import type { Client } from 'pg';
import type IORedis from 'ioredis';
import { giveTask, http, nextBsn, pg, redis, referralMessage, startApi, startWorker, token, waitFor } from './support/harness';

let db: Client;
let r: IORedis;
beforeAll(async () => {
  db = await pg();
  r = redis();
});
afterAll(async () => {
  await db.end();
  r.disconnect();
});

/** Every form a BSN could leak in: as given, 8-digit form, and as hex of its ASCII bytes. */
function forms(bsn: string): string[] {
  const out = [bsn, Buffer.from(bsn).toString('hex')];
  if (bsn.startsWith('0')) out.push(bsn.slice(1));
  return out;
}

async function dumpRedis(prefix: string): Promise<{ keys: string[]; text: string }> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  const parts: string[] = [];
  for (const key of keys) {
    const type = await r.type(key);
    if (type === 'string') parts.push((await r.get(key)) ?? '');
    else if (type === 'hash') parts.push(JSON.stringify(await r.hgetall(key)));
    else if (type === 'list') parts.push(JSON.stringify(await r.lrange(key, 0, -1)));
    else if (type === 'set') parts.push(JSON.stringify(await r.smembers(key)));
    else if (type === 'zset') parts.push(JSON.stringify(await r.zrange(key, 0, -1)));
    else if (type === 'stream') parts.push(JSON.stringify(await r.xrange(key, '-', '+')));
  }
  return { keys, text: parts.join('\n') };
}

it('keeps BSNs out of logs, Redis and every database table', async () => {
  const api = await startApi({ LOG_LEVEL: 'trace' });
  const bsns: string[] = [];
  const send = async (body: object) => http(api.url, 'POST', '/v1/referrals', { token: token('referral-service', { uzovi: ['3311'] }), body });
  try {
    // Accepted, re-delivered, conflicting, batched, refused for a bad BSN, for a foreign insurer,
    // and a BSN typed into a URL: every path that touches a BSN.
    const m1 = referralMessage();
    bsns.push(m1.bsn);
    const created = await send(m1);
    await send(m1);
    await send({ ...m1, agb: '94000001' });
    const batch = Array.from({ length: 3 }, () => referralMessage());
    bsns.push(...batch.map((m) => m.bsn));
    await http(api.url, 'POST', '/v1/referrals/batch', { token: token('referral-service', { uzovi: ['3311'] }), body: { messages: batch } });
    const otherTenant = referralMessage({ uzovi: '7095' });
    bsns.push(otherTenant.bsn);
    await send(otherTenant);
    const invalidBsn = `${nextBsn().slice(0, 8)}${(Number(nextBsn()[8]) + 1) % 10}`;
    bsns.push(invalidBsn);
    await send(referralMessage({ bsn: invalidBsn, verwijsdatum: 'gisteren' }));
    await http(api.url, 'GET', `/v1/referrals/${bsns[0]}`, { token: token('mediator', { uzovi: ['3311'] }) });
    await giveTask(db, created.body.id);
    expect((await http(api.url, 'GET', `/v1/referrals/${created.body.id}`, { token: token('mediator', { uzovi: ['3311'] }) })).status).toBe(200);

    // Redis, before the worker consumes the jobs: job data is the referral id and nothing else.
    const prefix = process.env.TEST_QUEUE_PREFIX!;
    const job = await r.hgetall(`${prefix}:evaluate-referral:${created.body.id}`);
    expect(JSON.parse(job.data)).toEqual({ referralIds: [created.body.id] });
    const dump = await dumpRedis(prefix);
    expect(dump.keys.length).toBeGreaterThan(0);
    for (const b of bsns) for (const f of forms(b)) expect(dump.text).not.toContain(f);

    // The worker evaluates them (and whatever earlier files left pending in this database: so
    // the wait is for this test's referrals, and the worker is closed whatever happens).
    const worker = await startWorker({ LOG_LEVEL: 'trace' });
    try {
      const mine = [...batch.map((m) => m.messageId), otherTenant.messageId];
      await waitFor(async () => {
        const { rows } = await db.query(`SELECT count(*)::int AS n FROM referral WHERE message_id = ANY($1) AND status = 'pending'`, [mine]);
        return rows[0].n === 0;
      }, 60_000);
    } finally {
      await worker.close();
    }

    expect(api.logs.lines.length).toBeGreaterThan(10);
    expect(worker.logs.lines.length).toBeGreaterThan(0);
    for (const b of bsns) {
      for (const f of forms(b)) {
        expect(api.logs.text).not.toContain(f);
        expect(worker.logs.text).not.toContain(f);
      }
    }
  } finally {
    await api.close();
  }

  // Every table, every column, as text (bytea shows as hex).
  const { rows: tables } = await db.query(
    `SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`,
  );
  expect(tables.map((t) => t.table_name)).toContain('referral');
  for (const t of tables) {
    const { rows } = await db.query(`SELECT t::text AS row FROM "${t.table_schema}"."${t.table_name}" t`);
    const text = rows.map((x) => x.row).join('\n');
    for (const b of bsns) for (const f of forms(b)) expect(`${t.table_name}: ${text.includes(f)}`).toBe(`${t.table_name}: false`);
  }
});
