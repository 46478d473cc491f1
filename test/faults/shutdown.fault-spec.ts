/**
 * SIGTERM (a deploy, a scale-down) under load. The API lets requests it has begun finish, takes
 * nothing new and exits 0; the worker finishes the jobs it holds (or leaves them safely to a
 * retry) and exits 0. What was answered 2xx is stored; what was not is not.
 */
import { dropFaultDb, Db, FaultEnv, faultEnv, http, leaks, referralMessage, Reply, Service, sleep, token, waitUntil } from './support/faults';

jest.setTimeout(120_000);

let f: FaultEnv;
let db: Db;
const rs = () => token('referral-service', { uzovi: ['3311'], subject: 'zorgdomein' });

beforeAll(async () => {
  f = await faultEnv('term');
  db = new Db(f.dbUrl);
});
afterAll(async () => {
  await Service.stopAll();
  await db?.close();
  if (f) await dropFaultDb(f);
});

interface Sent {
  kind: 'single' | 'batch';
  messageIds: string[];
  start: number;
  end: number;
  reply: Reply;
}

it('SIGTERM to the API during load: requests in flight finish, nothing new is accepted, exit code 0', async () => {
  const api = await Service.api(f.env);
  const sent: Sent[] = [];
  let stop = false;
  const batchesInProgress = new Set<number>();
  const send = async (kind: Sent['kind']) => {
    const messages = kind === 'single' ? [referralMessage()] : Array.from({ length: 1000 }, () => referralMessage());
    const start = performance.now();
    if (kind === 'batch') batchesInProgress.add(start);
    const reply = await http(api.url, 'POST', kind === 'single' ? '/v1/referrals' : '/v1/referrals/batch', {
      token: rs(),
      body: kind === 'single' ? messages[0] : { messages },
    });
    batchesInProgress.delete(start);
    sent.push({ kind, messageIds: messages.map((m) => m.messageId), start, end: performance.now(), reply });
    if (reply.status === 0) await sleep(20); // refused: the client backs off a little
  };
  const loops = [
    ...Array.from({ length: 6 }, async () => {
      while (!stop) await send('single');
    }),
    // Large batches (about a second each) are what is most surely in flight at the signal.
    ...Array.from({ length: 2 }, async () => {
      while (!stop) await send('batch');
    }),
  ];
  await sleep(1500);
  // The signal comes while a batch has been in progress for 100 ms (its body is in, it is working).
  await waitUntil(async () => [...batchesInProgress].some((start) => performance.now() - start >= 100), 10_000, 1);
  const termAt = performance.now();
  api.kill('SIGTERM');
  const exit = await api.exited;
  const exitedAt = performance.now();
  await sleep(300); // clients keep trying after the exit: refused
  stop = true;
  await Promise.all(loops);

  expect(exit).toEqual({ code: 0, signal: null });
  // In flight at the signal: begun before it, answered after it. Each got its full answer.
  const inFlight = sent.filter((s) => s.start < termAt && s.end > termAt);
  const inFlightBatches = inFlight.filter((s) => s.kind === 'batch' && s.start <= termAt - 100);
  expect(inFlightBatches.length).toBeGreaterThan(0);
  for (const s of inFlightBatches) {
    expect(s.reply.status).toBe(200);
    expect(s.reply.body.summary.created).toBe(1000);
  }
  // Nothing else but an answer, a 503 (closing) or a refused connection; no 500.
  const statuses = new Map<number, number>();
  for (const s of sent) statuses.set(s.reply.status, (statuses.get(s.reply.status) ?? 0) + 1);
  expect([...statuses.keys()].every((k) => [0, 200, 201, 503].includes(k))).toBe(true);
  for (const s of sent.filter((x) => x.reply.status >= 500)) expect(leaks(s.reply)).toEqual([]);
  // Requests begun after the API let go of its port were refused.
  expect(sent.filter((s) => s.start > exitedAt).every((s) => s.reply.status === 0)).toBe(true);

  // The database holds exactly what was answered 2xx.
  const answered = sent.filter((s) => s.reply.status === 200 || s.reply.status === 201).flatMap((s) => s.messageIds);
  const refused = sent.filter((s) => s.reply.status !== 200 && s.reply.status !== 201).flatMap((s) => s.messageIds);
  const stored = new Set((await db.query(`SELECT message_id FROM referral WHERE message_id = ANY($1)`, [[...answered, ...refused]])).map((r) => r.message_id));
  expect(answered.filter((id) => !stored.has(id))).toEqual([]);
  expect(refused.filter((id) => stored.has(id))).toEqual([]);
  console.log(
    `fault api-sigterm: ${sent.length} requests (${answered.length} messages answered 2xx, all stored; ${refused.length} not accepted, none stored); ` +
      `${inFlight.length} in flight at SIGTERM (${inFlightBatches.length} batches of 1,000) all answered; exit ${exit.code} after ${Math.round(exitedAt - termAt)} ms; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
  );
});

it('SIGTERM to the worker during jobs: the jobs it holds finish (no half-written evaluation), exit code 0; the rest is evaluated once by the next worker', async () => {
  // A database of this test's own: nothing else is pending in it.
  const g = await faultEnv('term2');
  const gdb = new Db(g.dbUrl);
  const api = await Service.api(g.env);
  // Small jobs, a few at a time, so that the signal lands with jobs in progress and more waiting.
  const workerEnv = { ...g.env, WORKER_CONCURRENCY: '2', EVALUATION_BATCH_SIZE: '2' };
  const ids: string[] = [];
  for (let b = 0; b < 3; b++) {
    const res = await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages: Array.from({ length: 1000 }, () => referralMessage()) } });
    expect(res.status).toBe(200);
    ids.push(...res.body.results.map((r: { messageId: string }) => r.messageId));
  }
  const count = async () =>
    gdb.one<{ evaluated: number; evaluations: number; mismatched: number }>(
      `SELECT count(*) FILTER (WHERE r.status = 'evaluated')::int AS evaluated, coalesce(sum(e.n), 0)::int AS evaluations,
              count(*) FILTER (WHERE (r.status = 'evaluated') <> (e.n = 1) OR e.n > 1)::int AS mismatched
         FROM referral r CROSS JOIN LATERAL (SELECT count(*) AS n FROM referral_evaluation x WHERE x.referral_id = r.id) e
        WHERE r.message_id = ANY($1)`,
      [ids],
    );
  const evaluated = async () => (await gdb.one(`SELECT count(*)::int AS n FROM referral WHERE status = 'evaluated'`)).n;
  const worker = await Service.worker(workerEnv);
  await waitUntil(async () => (await evaluated()) >= 300, 60_000, 5);
  const termAt = performance.now();
  worker.kill('SIGTERM');
  const exit = await worker.exited;
  const tookMs = Math.round(performance.now() - termAt);
  expect(exit).toEqual({ code: 0, signal: null });
  const atExit = await count();
  // Every referral is either evaluated with exactly one evaluation, or pending with none.
  expect(atExit.mismatched).toBe(0);
  expect(atExit.evaluated).toBeLessThan(3000);
  expect(worker.logs).not.toMatch(/"level":"(error|fatal)"/);

  const next = await Service.worker(workerEnv);
  await waitUntil(async () => (await evaluated()) === 3000, 90_000, 250);
  await sleep(3000);
  expect(await count()).toEqual({ evaluated: 3000, evaluations: 3000, mismatched: 0 });
  await Promise.all([next.stop(), api.stop()]);
  await gdb.close();
  await dropFaultDb(g);
  console.log(
    `fault worker-sigterm: 3,000 referrals; ${atExit.evaluated} evaluated when the worker exited (exit ${exit.code}, ${tookMs} ms after SIGTERM); the next worker evaluated the rest, each once`,
  );
});
