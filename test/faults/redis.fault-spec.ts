/**
 * Redis loses everything (FLUSHALL), and Redis is down and comes back empty (restart without
 * persistence), each in the middle of a stream of intake. Postgres is the source of truth: every
 * accepted referral is evaluated exactly once — the jobs that vanished are replaced by the
 * worker's sweeper, and the intake keeps accepting while Redis is away.
 */
import { dropFaultDb, Db, FaultEnv, faultEnv, faults, http, leaks, referralMessage, Reply, Service, sleep, token, waitUntil } from './support/faults';

jest.setTimeout(120_000);

let f: FaultEnv;
let api: Service;
let worker: Service;
let db: Db;
const rs = () => token('referral-service', { uzovi: ['3311'], subject: 'zorgdomein' });

beforeAll(async () => {
  f = await faultEnv('redis');
  db = new Db(f.dbUrl);
  [api, worker] = await Promise.all([Service.api(f.env), Service.worker(f.env)]);
});
afterAll(async () => {
  await Service.stopAll();
  await db?.close();
  if (f) await dropFaultDb(f);
});

/** Single referrals from `concurrency` clients until stopped; returns what each got. */
function intakeStream(concurrency: number) {
  const sent: { messageId: string; reply: Reply }[] = [];
  let stop = false;
  const loops = Array.from({ length: concurrency }, async () => {
    while (!stop) {
      const msg = referralMessage();
      sent.push({ messageId: msg.messageId, reply: await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg }) });
      await sleep(5);
    }
  });
  return {
    sent,
    async end() {
      stop = true;
      await Promise.all(loops);
      return sent;
    },
  };
}

async function evaluatedOnce(messageIds: string[]) {
  return db.one<{ referrals: number; evaluated: number; evaluations: number; twice: number }>(
    `SELECT count(*)::int AS referrals, count(*) FILTER (WHERE r.status = 'evaluated')::int AS evaluated, coalesce(sum(e.n), 0)::int AS evaluations,
            count(*) FILTER (WHERE e.n > 1)::int AS twice
       FROM referral r CROSS JOIN LATERAL (SELECT count(*) AS n FROM referral_evaluation x WHERE x.referral_id = r.id) e
      WHERE r.message_id = ANY($1)`,
    [messageIds],
  );
}

/** Every message accepted (201), stored once, and — in the end — evaluated exactly once. */
async function expectEvaluatedOnce(sent: { messageId: string; reply: Reply }[], since: number) {
  const statuses = [...new Set(sent.map((s) => s.reply.status))];
  for (const s of sent.filter((x) => x.reply.status >= 500)) expect(leaks(s.reply)).toEqual([]);
  expect(statuses).toEqual([201]);
  const ids = sent.map((s) => s.messageId);
  await waitUntil(async () => (await evaluatedOnce(ids)).evaluated === ids.length, 60_000, 200);
  const recoveredMs = Math.round(performance.now() - since);
  // The sweeper and any late job have more turns: still one evaluation each.
  await sleep(2500);
  expect(await evaluatedOnce(ids)).toEqual({ referrals: ids.length, evaluated: ids.length, evaluations: ids.length, twice: 0 });
  return recoveredMs;
}

it('FLUSHALL in the middle of a stream of intake, with jobs waiting → every accepted referral is evaluated exactly once', async () => {
  // The worker is away during the flush, so the jobs of the referrals accepted before it are
  // waiting in Redis and are lost with it: only the sweeper can bring them back.
  worker.kill('SIGTERM');
  expect(await worker.exited).toEqual({ code: 0, signal: null });
  const stream = intakeStream(4);
  await sleep(1500);
  const waiting = await faults.redisKeys(f);
  await faults.redisFlushAll(f);
  const flushedAt = performance.now();
  const lost = await evaluatedOnce(stream.sent.map((s) => s.messageId));
  await sleep(1500);
  worker = await Service.worker(f.env);
  await sleep(1000);
  const sent = await stream.end();
  expect(waiting).toBeGreaterThan(0);
  expect(lost.referrals - lost.evaluated).toBeGreaterThan(0);
  const recoveredMs = await expectEvaluatedOnce(sent, flushedAt);
  console.log(
    `fault redis-flushall: ${sent.length} referrals accepted, all 201; the flush removed ${waiting} Redis keys, among them the jobs of ` +
      `${lost.referrals - lost.evaluated} pending referrals; all evaluated exactly once ${recoveredMs} ms after the flush`,
  );
});

it('Redis restarted (down 4 s, back empty; the worker restarts meanwhile) in the middle of a stream of intake → the API keeps accepting, reports not-ready, every referral is evaluated exactly once', async () => {
  const stream = intakeStream(4);
  await sleep(1500);
  // Readiness, probed every 200 ms throughout.
  const ready: { at: number; status: number }[] = [];
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const at = performance.now();
      ready.push({ at, status: (await http(api.url, 'GET', '/health/ready')).status });
      await sleep(200);
    }
  })();
  await faults.redisStop(f);
  const downAt = performance.now();
  // The worker also crashes and comes back while Redis is away: it starts without Redis, and its
  // queues are first used (by the sweeper) before Redis returns.
  worker.kill('SIGKILL');
  await worker.exited;
  worker = await Service.worker(f.env);
  await sleep(Math.max(0, 4000 - (performance.now() - downAt)));
  const duringOutage = stream.sent.length;
  await faults.redisStart(f);
  const upAt = performance.now();
  const readyAgain = await waitUntil(async () => ready.find((r) => r.at > upAt && r.status === 200)?.at, 30_000, 50);
  await sleep(2000);
  const sent = await stream.end();
  probing = false;
  await probe;
  const whileDown = ready.filter((r) => r.at > downAt + 100 && r.at < upAt - 100);
  expect(whileDown.length).toBeGreaterThan(5);
  expect(whileDown.every((r) => r.status === 503)).toBe(true);
  expect(ready.filter((r) => r.at > readyAgain).every((r) => r.status === 200)).toBe(true);
  const recoveredMs = await expectEvaluatedOnce(sent, upAt);
  expect(api.exit).toBeUndefined();
  expect(worker.exit).toBeUndefined();
  console.log(
    `fault redis-restart: ${sent.length} referrals accepted, all 201 (${duringOutage} by the end of the 4 s outage); readiness 503 throughout the outage, ` +
      `200 again ${Math.round(readyAgain - upAt)} ms after Redis was back; all evaluated exactly once ${recoveredMs} ms after it was back`,
  );
});
