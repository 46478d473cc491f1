/**
 * The retention run and a lead reopening the task of a referral it is about to erase, at the same
 * moment. Whatever the interleaving: either the reopen commits first — the task is open and the
 * referral keeps its personal data (the run passes it over) — or the erasure does, and the reopen
 * is refused (409). Never an open task of an erased person. Each seed draws both start delays
 * (RACE_SEEDS=1-30 by default). Works on a database of its own.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ensureDatabase } from '@app/platform';
import { RetentionService } from '@app/mediation';
import { giveTask, http, referralMessage, RunningApi, startApi, token } from './support/harness';
import { replayThenDrop } from './support/replay';
import { rng, seeds } from './support/seeded';

const url = (() => {
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.pathname = `${u.pathname}_rr${randomBytes(3).toString('hex')}`;
  return u.toString();
})();
const UZOVI = '8802';
const SEEDS = seeds('1-30');
let api: RunningApi;
let db: Client;
const lead = () => token('mediation-lead', { uzovi: [UZOVI], subject: 'lead-rr' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seen = { reopened: 0, erased: 0 };

beforeAll(async () => {
  await ensureDatabase(url);
  api = await startApi({ DATABASE_URL: url, RETENTION_DAYS_AFTER_CLOSE: '90' });
  db = new Client({ connectionString: url });
  await db.connect();
});
afterAll(async () => {
  await api?.close();
  await db?.end();
  await replayThenDrop(url);
});

it.each(SEEDS)('seed %i: a reopen racing the erasure either keeps the person or is refused; never an open task of an erased referral', async (seed) => {
  const rand = rng(seed);
  const delays = [Math.floor(rand() * 8), Math.floor(rand() * 8)];
  const res = await http(api.url, 'POST', '/v1/referrals', { token: token('referral-service', { uzovi: [UZOVI] }), body: referralMessage({ uzovi: UZOVI }) });
  expect(res.status).toBe(201);
  const referralId = res.body.id as string;
  const taskId = await giveTask(db, referralId);
  // Closed 100 days ago (past RETENTION_DAYS_AFTER_CLOSE): due for erasure.
  await db.query(`UPDATE mediation_task SET status = 'closed', outcome = 'prefers-to-wait', closed_at = now() - interval '100 days' WHERE id = $1`, [taskId]);
  const [{ version }] = (await db.query(`SELECT version FROM mediation_task WHERE id = $1`, [taskId])).rows;

  const [reopen, run] = await Promise.all([
    sleep(delays[0]).then(() => http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/reopen`, { token: lead(), body: { version } })),
    sleep(delays[1]).then(() => api.app.get(RetentionService).eraseDue()),
  ]);
  const schedule = `delays ${delays.join('/')} ms`;
  const [task] = (await db.query(`SELECT status FROM mediation_task WHERE id = $1`, [taskId])).rows;
  const [referral] = (await db.query(`SELECT status, bsn_ciphertext IS NULL AS erased_data FROM referral WHERE id = $1`, [referralId])).rows;
  if (reopen.status === 200) {
    seen.reopened++;
    expect([schedule, task.status, referral]).toEqual([schedule, 'open', { status: 'evaluated', erased_data: false }]);
  } else {
    seen.erased++;
    expect([schedule, reopen.status, reopen.body.details]).toEqual([schedule, 409, [{ field: 'id', reason: "its referral's personal data were erased by the retention run" }]]);
    expect([schedule, task.status, referral, run.afterTask]).toEqual([schedule, 'closed', { status: 'erased', erased_data: true }, 1]);
  }
  // The run has erased it now or leaves it for another night: a second run changes nothing of an open task's referral.
  await api.app.get(RetentionService).eraseDue();
  const [after] = (await db.query(`SELECT status FROM referral WHERE id = $1`, [referralId])).rows;
  expect([schedule, after.status]).toEqual([schedule, reopen.status === 200 ? 'evaluated' : 'erased']);
});

it('the seeds meet both orders', () => {
  expect(seen.reopened + seen.erased).toBe(SEEDS.length);
  if (SEEDS.length >= 10) expect(Math.min(seen.reopened, seen.erased)).toBeGreaterThan(0);
});
