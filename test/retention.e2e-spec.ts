/**
 * Retention end to end: the nightly run erases the personal data of referrals whose task closed
 * long enough ago and of referrals that can no longer lead to mediation, records what it erased,
 * logs each erasure in the access log (whose chain still verifies), and leaves everything else.
 * It erases whatever is due in the whole database, so this file works in a database of its own.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { amsterdamDate } from '@app/core';
import { RetentionService } from '@app/mediation';
import { AuditService, ensureDatabase } from '@app/platform';
import { giveTask, http, referralMessage, RunningApi, startApi, token } from './support/harness';
import { replayThenDrop } from './support/replay';

const url = (() => {
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.pathname = `${u.pathname}_rt${randomBytes(3).toString('hex')}`;
  return u.toString();
})();
const UZOVI = '8801';
let api: RunningApi;
let db: Client;
const days = (n: number) => new Date(Date.now() - n * 86_400_000);

async function referral(): Promise<{ id: string; bsn: string; blindIndex: string }> {
  const msg = referralMessage({ uzovi: UZOVI });
  const res = await http(api.url, 'POST', '/v1/referrals', { token: token('referral-service', { uzovi: [UZOVI] }), body: msg });
  expect(res.status).toBe(201);
  const { rows } = await db.query(`SELECT bsn_blind_index FROM referral WHERE id = $1`, [res.body.id]);
  return { id: res.body.id, bsn: msg.bsn, blindIndex: rows[0].bsn_blind_index };
}
const evaluated = (id: string, verwijsdatum: Date) =>
  db.query(`UPDATE referral SET status = 'evaluated', judged_generation = generation, verdict = 'within-norm', evaluated_at = now(), verwijsdatum = $2 WHERE id = $1`, [
    id,
    amsterdamDate(verwijsdatum),
  ]);
const closeTask = (taskId: string, at: Date) => db.query(`UPDATE mediation_task SET status = 'closed', outcome = 'prefers-to-wait', closed_at = $2 WHERE id = $1`, [taskId, at]);

let closedLongAgo: Awaited<ReturnType<typeof referral>>;
let closedRecently: Awaited<ReturnType<typeof referral>>;
let noTaskOld: Awaited<ReturnType<typeof referral>>;
let noTaskRecent: Awaited<ReturnType<typeof referral>>;
let openTaskOld: Awaited<ReturnType<typeof referral>>;
let taskOfClosedLongAgo: string;

beforeAll(async () => {
  await ensureDatabase(url);
  api = await startApi({ DATABASE_URL: url, RETENTION_RUN: 'true', RETENTION_DAYS_AFTER_CLOSE: '90', REEVALUATION_HORIZON_WEEKS: '26' });
  db = new Client({ connectionString: url });
  await db.connect();
  closedLongAgo = await referral();
  await evaluated(closedLongAgo.id, days(130));
  taskOfClosedLongAgo = await giveTask(db, closedLongAgo.id);
  await closeTask(taskOfClosedLongAgo, days(100));
  closedRecently = await referral();
  await evaluated(closedRecently.id, days(130));
  await closeTask(await giveTask(db, closedRecently.id), days(10));
  noTaskOld = await referral();
  await evaluated(noTaskOld.id, days(30 * 7));
  noTaskRecent = await referral();
  await evaluated(noTaskRecent.id, days(20 * 7));
  openTaskOld = await referral();
  await evaluated(openTaskOld.id, days(30 * 7));
  await giveTask(db, openTaskOld.id);
});
afterAll(async () => {
  await api?.close();
  await db?.end();
  await replayThenDrop(url);
});

it('runs once a night from its hour, erasing what served its purpose and recording the figures', async () => {
  const retention = api.app.get(RetentionService);
  // 02:00 in Amsterdam is before RETENTION_HOUR (4): nothing happens.
  const early = new Date(`${amsterdamDate(new Date())}T01:00:00Z`);
  expect(await retention.runIfDue(early)).toBeNull();
  const due = new Date(`${amsterdamDate(new Date())}T04:30:00Z`);
  expect(await retention.runIfDue(due)).toEqual({ afterTask: 1, withoutTask: 1, accessLogPurged: 0 });
  expect(await retention.runIfDue(due)).toBeNull(); // once a day
  const { rows } = await db.query(`SELECT affected, details FROM daily_run WHERE kind = 'retention'`);
  expect(rows).toEqual([{ affected: 2, details: { afterTask: 1, withoutTask: 1, accessLogPurged: 0 } }]);
});

it('erases BSN, blind index, fingerprint and DSM code, and nothing of the others', async () => {
  const { rows } = await db.query(`SELECT id, status, bsn_ciphertext, bsn_blind_index, content_fingerprint, dsm_code, erased_at FROM referral WHERE uzovi = $1`, [UZOVI]);
  const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
  for (const gone of [closedLongAgo, noTaskOld]) {
    expect(byId[gone.id]).toMatchObject({ status: 'erased', bsn_ciphertext: null, bsn_blind_index: null, content_fingerprint: null, dsm_code: null });
    expect(byId[gone.id].erased_at).toBeInstanceOf(Date);
  }
  for (const kept of [closedRecently, noTaskRecent, openTaskOld]) {
    expect(byId[kept.id]).toMatchObject({ status: 'evaluated', bsn_blind_index: kept.blindIndex });
  }
  const all = (await db.query(`SELECT string_agg(row_to_json(r)::text, E'\\n') AS j FROM referral r`)).rows[0].j;
  for (const gone of [closedLongAgo, noTaskOld]) {
    expect(all).not.toContain(gone.blindIndex);
    expect(all).not.toContain(gone.bsn);
  }
});

it('logs each erasure, and the access log still verifies', async () => {
  const { rows } = await db.query(`SELECT actor, actor_role, organisation, action, resource, purpose, details FROM access_log WHERE action = 'erase' ORDER BY resource`);
  expect(rows).toEqual(
    [
      { resource: `referral/${closedLongAgo.id}`, details: { reason: 'task closed' } },
      { resource: `referral/${noTaskOld.id}`, details: { reason: 'can no longer lead to mediation' } },
    ]
      .map((e) => ({ actor: 'retention', actor_role: 'system', organisation: UZOVI, action: 'erase', purpose: 'retention', ...e }))
      .sort((a, b) => (a.resource < b.resource ? -1 : 1)),
  );
  expect(await api.app.get(AuditService).verify()).toMatchObject({ brokenAt: null });
});

it('leaves staff a closed task without a person, and a withdrawal nothing to erase', async () => {
  const lead = token('mediation-lead', { uzovi: [UZOVI] });
  const detail = await http(api.url, 'GET', `/v1/worklist/tasks/${taskOfClosedLongAgo}`, { token: lead });
  expect(detail.status).toBe(200);
  expect(detail.body.referral).toMatchObject({ bsn: null, dsmCode: null });
  const withdrawal = await http(api.url, 'POST', '/v1/consent-withdrawals', { token: lead, body: { referralId: closedLongAgo.id } });
  expect(withdrawal.status).toBe(200);
  expect(withdrawal.body).toMatchObject({ status: 'erased', alreadyWithdrawn: true, tasksClosed: 0 });
});
