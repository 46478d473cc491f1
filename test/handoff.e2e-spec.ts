/**
 * From intake to the worker: the job carries referral ids only, the worker evaluates a pending
 * referral exactly once however often its job runs, and the sweeper repairs lost hand-offs
 * (Redis flushed, Redis unreachable).
 */
import type { Client } from 'pg';
import type IORedis from 'ioredis';
import { ReferralHandoffService } from '@app/referrals';
import { flushQueues, http, pg, redis, referralMessage, RunningApi, RunningWorker, startApi, startWorker, token, waitFor } from './support/harness';

let db: Client;
let r: IORedis;
const rs = () => token('referral-service', { uzovi: ['3311'] });

beforeAll(async () => {
  db = await pg();
  r = redis();
});
afterAll(async () => {
  await db.end();
  r.disconnect();
});

async function statuses(ids: string[]): Promise<string[]> {
  const { rows } = await db.query('SELECT status FROM referral WHERE id = ANY($1::uuid[])', [ids]);
  return rows.map((x) => x.status);
}

const allReady = (ids: string[]) => async () => {
  const s = await statuses(ids);
  return s.length === ids.length && s.every((x) => x === 'evaluated');
};

describe('with the API and the worker running', () => {
  let api: RunningApi;
  let worker: RunningWorker;
  beforeAll(async () => {
    api = await startApi();
    worker = await startWorker();
  });
  afterAll(async () => {
    await worker.close();
    await api.close();
  });

  it('evaluates a new referral', async () => {
    const res = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: referralMessage() });
    expect(res.body.status).toBe('pending');
    await waitFor(allReady([res.body.id]));
    const { rows } = await db.query('SELECT verdict, evaluated_at FROM referral WHERE id = $1', [res.body.id]);
    // The default test provider is not in this run's registry: no figures.
    expect(rows[0]).toMatchObject({ verdict: 'no-data', evaluated_at: expect.any(Date) });
  });

  it('evaluates a referral once, however often its job runs', async () => {
    const res = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: referralMessage() });
    await waitFor(allReady([res.body.id]));
    const { rows: before } = await db.query('SELECT status_changed_at FROM referral WHERE id = $1', [res.body.id]);
    const handoff = worker.app.get(ReferralHandoffService);
    await handoff.enqueue([res.body.id, res.body.id]);
    await handoff.enqueue([res.body.id], 'again');
    await new Promise((ok) => setTimeout(ok, 500));
    const { rows: after } = await db.query('SELECT status, status_changed_at FROM referral WHERE id = $1', [res.body.id]);
    expect(after[0].status).toBe('evaluated');
    expect(after[0].status_changed_at).toEqual(before[0].status_changed_at);
    const { rows: evaluations } = await db.query('SELECT count(*)::int AS n FROM referral_evaluation WHERE referral_id = $1', [res.body.id]);
    expect(evaluations[0].n).toBe(1);
  });
});

it('gets referrals to the worker after Redis lost their jobs (flush), through the sweeper', async () => {
  const api = await startApi();
  let worker: RunningWorker | undefined;
  try {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: referralMessage() })).body.id);
    const batch = await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages: [referralMessage(), referralMessage()] } });
    ids.push(...batch.body.results.map((x: { referralId: string }) => x.referralId));
    // The jobs are in Redis now; the flush takes them away.
    expect(await r.exists(`${process.env.TEST_QUEUE_PREFIX}:evaluate-referral:${ids[0]}`)).toBe(1);
    expect(await flushQueues(r)).toBeGreaterThan(0);
    expect(await r.exists(`${process.env.TEST_QUEUE_PREFIX}:evaluate-referral:${ids[0]}`)).toBe(0);
    expect(await statuses(ids)).toEqual(ids.map(() => 'pending'));

    worker = await startWorker({ SWEEPER_DELAY_SECONDS: '1', SWEEPER_INTERVAL_SECONDS: '1' });
    await waitFor(allReady(ids), 20000);
    expect(worker.logs.text).toContain('sweeper re-enqueues pending referrals');
  } finally {
    await worker?.close();
    await api.close();
  }
});

it('stores and answers 201 while Redis is unreachable; the sweeper hands the referral over later', async () => {
  // Port 1 on loopback: nothing listens there, so every Redis call fails at once.
  const api = await startApi({ REDIS_URL: 'redis://127.0.0.1:1' });
  let worker: RunningWorker | undefined;
  try {
    const res = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: referralMessage() });
    expect(res.status).toBe(201);
    expect(await statuses([res.body.id])).toEqual(['pending']);
    const ready = await http(api.url, 'GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toMatchObject({ postgres: 'up', redis: 'down' });
    expect(api.logs.text).toContain('enqueue failed; the sweeper will retry');

    worker = await startWorker({ SWEEPER_DELAY_SECONDS: '0', SWEEPER_INTERVAL_SECONDS: '1' });
    await waitFor(allReady([res.body.id]), 20000);
  } finally {
    await worker?.close();
    await api.close();
  }
});
