/**
 * Faults of the sender: one message delivered twenty times at once, and a batch re-sent after the
 * client gave up waiting (the server may or may not have stored it). Either way: one referral per
 * message, evaluated once.
 */
import { dropFaultDb, Db, FaultEnv, faultEnv, http, referralMessage, Service, token, waitUntil } from './support/faults';

jest.setTimeout(120_000);

let f: FaultEnv;
let api: Service;
let worker: Service;
let db: Db;
const rs = () => token('referral-service', { uzovi: ['3311'], subject: 'zorgdomein' });

beforeAll(async () => {
  f = await faultEnv('idem');
  db = new Db(f.dbUrl);
  [api, worker] = await Promise.all([Service.api(f.env), Service.worker(f.env)]);
});
afterAll(async () => {
  await Service.stopAll();
  await Promise.all([api?.stop(), worker?.stop()]);
  await db?.close();
  if (f) await dropFaultDb(f);
});

async function evaluationsPer(messageIds: string[]): Promise<{ referrals: number; evaluated: number; maxEvaluations: number; total: number }> {
  return db.one(
    `SELECT count(*)::int AS referrals, count(*) FILTER (WHERE r.status = 'evaluated')::int AS evaluated,
            coalesce(max(e.n), 0)::int AS "maxEvaluations", coalesce(sum(e.n), 0)::int AS total
       FROM referral r LEFT JOIN LATERAL (SELECT count(*) AS n FROM referral_evaluation e WHERE e.referral_id = r.id) e ON true
      WHERE r.uzovi = '3311' AND r.message_id = ANY($1)`,
    [messageIds],
  );
}

it('the same message delivered 20 times concurrently → one referral (one 201, nineteen 200 with the same id), evaluated once', async () => {
  const msg = referralMessage();
  const replies = await Promise.all(Array.from({ length: 20 }, () => http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg })));
  const statuses = replies.map((r) => r.status).sort();
  expect(statuses.filter((s) => s === 201)).toHaveLength(1);
  expect(statuses.filter((s) => s === 200)).toHaveLength(19);
  expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);

  const rows = await db.query(`SELECT id FROM referral WHERE uzovi = '3311' AND message_id = $1`, [msg.messageId]);
  expect(rows).toHaveLength(1);
  expect(rows[0].id).toBe(replies[0].body.id);
  await waitUntil(async () => (await evaluationsPer([msg.messageId])).evaluated === 1, 30_000);
  // Let the sweeper and any repeated job have their turn: still one evaluation.
  await new Promise((r) => setTimeout(r, 2500));
  expect(await evaluationsPer([msg.messageId])).toEqual({ referrals: 1, evaluated: 1, maxEvaluations: 1, total: 1 });
});

it('a batch of 1,000 re-sent after client timeouts → one referral per message, each evaluated once', async () => {
  // How long a batch of 1,000 takes here, to cut the client off before, during and near the end.
  const warmup = Array.from({ length: 1000 }, () => referralMessage());
  const t0 = performance.now();
  expect((await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages: warmup } })).status).toBe(200);
  const fullMs = performance.now() - t0;

  const messages = Array.from({ length: 1000 }, () => referralMessage());
  const ids = messages.map((m) => m.messageId);
  const cuts = [5, Math.round(fullMs / 3), Math.round(fullMs * 0.8)];
  const storedAfterTimeout: number[] = [];
  for (const ms of cuts) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), ms);
    const cut = await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages }, signal: ctrl.signal });
    clearTimeout(timer);
    // The client gave up (status 0) or, if the server was quicker, got the answer.
    expect([0, 200]).toContain(cut.status);
    // The server goes on with a request whose client left: what did it store?
    await new Promise((r) => setTimeout(r, fullMs + 500));
    storedAfterTimeout.push((await evaluationsPer(ids)).referrals);
  }
  // A request the server had read in full is carried out although its client left: the re-send
  // below really meets stored messages.
  expect(storedAfterTimeout[2]).toBe(1000);
  // The client retries once more and waits this time.
  const retry = await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages } });
  expect(retry.status).toBe(200);
  expect(retry.body.summary.created + retry.body.summary.duplicate).toBe(1000);
  expect(retry.body.summary.conflict + retry.body.summary.invalid + retry.body.summary.forbidden).toBe(0);
  // And once again, concurrently with a copy of itself.
  const [a, b] = await Promise.all([0, 1].map(() => http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages } })));
  expect([a.status, b.status]).toEqual([200, 200]);
  expect(a.body.summary.duplicate).toBe(1000);
  expect(b.body.summary.duplicate).toBe(1000);

  expect((await db.one(`SELECT count(*)::int AS n FROM referral WHERE message_id = ANY($1)`, [ids])).n).toBe(1000);
  expect((await db.one(`SELECT count(DISTINCT message_id)::int AS n FROM referral WHERE message_id = ANY($1)`, [ids])).n).toBe(1000);
  await waitUntil(async () => (await evaluationsPer(ids)).evaluated === 1000, 60_000, 250);
  await new Promise((r) => setTimeout(r, 2500));
  expect(await evaluationsPer(ids)).toEqual({ referrals: 1000, evaluated: 1000, maxEvaluations: 1, total: 1000 });
  console.log(
    `fault idempotency: a batch of 1,000 takes ${Math.round(fullMs)} ms; cut off at ${cuts.join(' / ')} ms, stored after each: ${storedAfterTimeout.join(' / ')}; after the retries 1000, each evaluated once`,
  );
});
