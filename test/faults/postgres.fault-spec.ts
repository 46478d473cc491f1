/**
 * Postgres goes away under load: first every connection of the API and the worker is terminated
 * (pg_terminate_backend, as a failover or an administrator would), then the server crashes and
 * restarts (pg_ctl stop -m immediate … start). The API reports not-ready (503) while Postgres is
 * down and ready again afterwards, without a restart of any process. A request that fails
 * because of the outage is answered 503 with Retry-After and the one error shape — never a 500,
 * never a stack trace or SQL. In the end every message the client sent (re-sending those refused,
 * as a client does on 503) is one referral, evaluated exactly once.
 */
import { dropFaultDb, Db, FaultEnv, faultEnv, faults, http, leaks, referralMessage, Reply, Service, sleep, token, waitUntil } from './support/faults';

jest.setTimeout(180_000);

let f: FaultEnv;
let api: Service;
let worker: Service;
let db: Db;
const rs = () => token('referral-service', { uzovi: ['3311'], subject: 'zorgdomein' });
const mediator = () => token('mediator', { uzovi: ['3311'], subject: 'mediator-1' });

beforeAll(async () => {
  f = await faultEnv('pg');
  db = new Db(f.dbUrl);
  [api, worker] = await Promise.all([Service.api(f.env), Service.worker(f.env)]);
});
afterAll(async () => {
  await Service.stopAll();
  await db?.close();
  if (f) await dropFaultDb(f);
});

interface Call {
  at: number;
  what: string;
  reply: Reply;
  message?: Record<string, any>;
}

/** Intake (single referrals), worklist reads and a readiness probe, until stopped. */
function load() {
  const calls: Call[] = [];
  const ready: { at: number; status: number; checks?: unknown }[] = [];
  let stop = false;
  const loops = [
    ...Array.from({ length: 4 }, async () => {
      while (!stop) {
        const message = referralMessage();
        const at = performance.now();
        calls.push({ at, what: 'POST /v1/referrals', reply: await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: message }), message });
        await sleep(10);
      }
    }),
    ...Array.from({ length: 2 }, async () => {
      while (!stop) {
        const at = performance.now();
        calls.push({ at, what: 'GET /v1/worklist/counts', reply: await http(api.url, 'GET', '/v1/worklist/counts', { token: mediator() }) });
        await sleep(10);
      }
    }),
    (async () => {
      while (!stop) {
        const at = performance.now();
        const r = await http(api.url, 'GET', '/health/ready');
        ready.push({ at, status: r.status, checks: r.body?.checks });
        await sleep(100);
      }
    })(),
  ];
  return {
    calls,
    ready,
    async end() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

function summarise(calls: Call[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[c.reply.status] = (out[c.reply.status] ?? 0) + 1;
  return out;
}

it('connections terminated, then Postgres restarted, during load → 503 (never 500, no leak) while it is down, ready again without a process restart, nothing lost or doubled', async () => {
  const l = load();
  await sleep(1500);

  // 1. Every connection of the API and the worker is cut, three times in a row.
  const t1 = performance.now();
  let terminated = 0;
  for (let i = 0; i < 3; i++) {
    terminated += await faults.terminateAppBackends(f);
    await sleep(300);
  }
  await sleep(1500);
  const afterTerminate = l.calls.filter((c) => c.at > t1);

  // 2. Postgres crashes, stays down 4 s, and starts again.
  const t2 = performance.now();
  await faults.pgStop(f, 'immediate');
  const downAt = performance.now();
  await sleep(2500);
  await faults.pgStart(f);
  const upAt = performance.now();
  const readyAt = await waitUntil(async () => l.ready.find((r) => r.at > upAt && r.status === 200)?.at, 60_000, 50);
  // Once ready, requests succeed again: the next 2 s of load have no failure.
  const okFrom = performance.now();
  await sleep(2000);
  await l.end();

  // Readiness: 503 (naming postgres) for the whole outage, 200 again afterwards.
  const whileDown = l.ready.filter((r) => r.at > downAt + 200 && r.at < upAt - 200);
  expect(whileDown.length).toBeGreaterThan(10);
  expect(whileDown.every((r) => r.status === 503 && (r.checks as { postgres?: string })?.postgres === 'down')).toBe(true);
  expect(l.ready.filter((r) => r.at > readyAt).every((r) => r.status === 200)).toBe(true);
  // No process restarted.
  expect(api.exit).toBeUndefined();
  expect(worker.exit).toBeUndefined();

  // Every answer: success, or 503 with Retry-After and the clean error shape. Never a 500.
  const failures = l.calls.filter((c) => c.reply.status >= 400);
  expect(l.calls.filter((c) => c.reply.status === 0)).toEqual([]);
  for (const c of failures) {
    expect({ what: c.what, status: c.reply.status }).toEqual({ what: c.what, status: 503 });
    expect(leaks(c.reply)).toEqual([]);
    expect(c.reply.headers.get('retry-after')).toBe('5');
  }
  expect(l.calls.filter((c) => c.at > okFrom).every((c) => c.reply.status < 400)).toBe(true);

  // The client re-sends what was refused; then each message is one referral, evaluated once.
  const refused = l.calls.filter((c) => c.message && c.reply.status === 503);
  const storedAlthoughRefused = (await db.query(`SELECT message_id FROM referral WHERE message_id = ANY($1)`, [refused.map((c) => c.message!.messageId)])).length;
  for (const c of refused) expect([200, 201]).toContain((await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: c.message })).status);
  const ids = l.calls.filter((c) => c.message).map((c) => c.message!.messageId);
  const state = () =>
    db.one<{ referrals: number; evaluated: number; evaluations: number }>(
      `SELECT count(*)::int AS referrals, count(*) FILTER (WHERE status = 'evaluated')::int AS evaluated,
              (SELECT count(*) FROM referral_evaluation e JOIN referral r2 ON r2.id = e.referral_id WHERE r2.message_id = ANY($1))::int AS evaluations
         FROM referral WHERE message_id = ANY($1)`,
      [ids],
    );
  await waitUntil(async () => (await state()).evaluated === ids.length, 60_000, 250);
  await sleep(2500);
  expect(await state()).toEqual({ referrals: ids.length, evaluated: ids.length, evaluations: ids.length });
  // Each intake is in the access log once: a referral is never kept without its entry.
  const unlogged = await db.query(
    `SELECT r.id FROM referral r WHERE r.message_id = ANY($1)
        AND (SELECT count(*) FROM access_log l WHERE l.action = 'create' AND l.resource = 'referral/' || r.id) <> 1`,
    [ids],
  );
  expect(unlogged).toEqual([]);
  expect(api.logs).not.toMatch(/"msg":"unhandled error"/);

  console.log(
    `fault postgres: terminate x3 (${terminated} backends): ${JSON.stringify(summarise(afterTerminate.filter((c) => c.at < t2)))}; ` +
      `crash/restart (down ${Math.round(upAt - downAt)} ms): readiness 503 x${whileDown.length} while down, 200 ${Math.round(readyAt - upAt)} ms after the start; ` +
      `all calls ${JSON.stringify(summarise(l.calls))}; ${refused.length} intakes refused with 503 (${storedAlthoughRefused} of them stored nonetheless), re-sent; ` +
      `${ids.length} referrals, each evaluated once`,
  );
});
