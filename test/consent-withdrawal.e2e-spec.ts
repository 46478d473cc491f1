/**
 * Consent withdrawal end to end: by message id (the referral service) or referral id (an insurer's
 * mediation lead, on the patient's request). Afterwards no BSN, blind index or fingerprint of the
 * person remains in any table, an open task is closed with outcome consent-withdrawn, queued
 * evaluation work does nothing, a re-delivery is refused, and a repeat changes nothing.
 * Works for insurer 8501 only, so other files' data do not interfere.
 */
import type { Client } from 'pg';
import { giveTask, http, pg, referralMessage, RunningApi, startApi, startWorker, token, waitFor } from './support/harness';

const UZOVI = '8501';
let api: RunningApi;
let db: Client;
const rs = () => token('referral-service', { uzovi: [UZOVI], subject: 'verwijsdienst' });
const lead = () => token('mediation-lead', { uzovi: [UZOVI], subject: 'lead-1' });

async function deliver(overrides: Record<string, unknown> = {}) {
  const msg = referralMessage({ uzovi: UZOVI, ...overrides });
  const res = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg });
  expect(res.status).toBe(201);
  return { msg, id: res.body.id as string };
}

/** Every row of every table in the public schema, as text. */
async function everything(): Promise<string> {
  const { rows: tables } = await db.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`);
  let text = '';
  for (const { table_name } of tables) text += (await db.query(`SELECT coalesce(string_agg(row_to_json(t)::text, E'\\n'), '') AS j FROM "${table_name}" t`)).rows[0].j;
  return text;
}

beforeAll(async () => {
  db = await pg();
  // No worker yet: the first referral's evaluation job stays queued.
  api = await startApi();
});
afterAll(async () => {
  await api?.close();
  await db?.end();
});

describe('withdrawn by the referral service before the evaluation ran', () => {
  let msg: Record<string, any>;
  let id: string;
  let before: { bsn_blind_index: string; content_fingerprint: string };

  beforeAll(async () => {
    ({ msg, id } = await deliver());
    ({
      rows: [before],
    } = await db.query(`SELECT bsn_blind_index, content_fingerprint FROM referral WHERE id = $1`, [id]));
  });

  it('erases the BSN and everything derived from it, keeping what anonymous counts need', async () => {
    const res = await http(api.url, 'POST', '/v1/consent-withdrawals', { token: rs(), body: { messageId: msg.messageId } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ referralId: id, messageId: msg.messageId, uzovi: UZOVI, status: 'withdrawn', tasksClosed: 0, alreadyWithdrawn: false });
    const { rows } = await db.query(`SELECT * FROM referral WHERE id = $1`, [id]);
    expect(rows[0]).toMatchObject({
      status: 'withdrawn',
      bsn_ciphertext: null,
      bsn_key_id: null,
      bsn_blind_index: null,
      content_fingerprint: null,
      dsm_code: null,
      withdrawn_by: 'verwijsdienst',
      klachtenprofiel: msg.klachtenprofiel,
      agb: msg.agb,
    });
    const all = await everything();
    for (const trace of [msg.bsn, before.bsn_blind_index, before.content_fingerprint]) expect(all).not.toContain(trace);
    expect(api.logs.text).not.toContain(msg.bsn);
  });

  it('leaves the queued evaluation nothing to do', async () => {
    const worker = await startWorker({ SWEEPER_INTERVAL_SECONDS: '1', SWEEPER_DELAY_SECONDS: '1' });
    try {
      // A referral delivered after it is evaluated by the same worker: the queue has been worked.
      const later = await deliver();
      await waitFor(async () => (await db.query(`SELECT 1 FROM referral_evaluation WHERE referral_id = $1`, [later.id])).rows.length > 0);
      const { rows } = await db.query(`SELECT status, (SELECT count(*)::int FROM referral_evaluation e WHERE e.referral_id = r.id) AS evaluations FROM referral r WHERE id = $1`, [
        id,
      ]);
      expect(rows[0]).toEqual({ status: 'withdrawn', evaluations: 0 });
    } finally {
      await worker.close();
    }
  });

  it('is idempotent: a repeat answers with the same withdrawal and changes nothing', async () => {
    const first = await db.query(`SELECT withdrawn_at, status_changed_at FROM referral WHERE id = $1`, [id]);
    const res = await http(api.url, 'POST', '/v1/consent-withdrawals', { token: rs(), body: { referralId: id } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ referralId: id, alreadyWithdrawn: true, tasksClosed: 0, withdrawnAt: first.rows[0].withdrawn_at.toISOString() });
    expect((await db.query(`SELECT withdrawn_at, status_changed_at FROM referral WHERE id = $1`, [id])).rows).toEqual(first.rows);
  });

  it('refuses a re-delivery of the message, single or in a batch, and stores nothing', async () => {
    const count = async () => (await db.query(`SELECT count(*)::int AS n FROM referral WHERE uzovi = $1`, [UZOVI])).rows[0].n;
    const n = await count();
    const single = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg });
    expect(single.status).toBe(409);
    expect(single.body.details).toEqual([{ field: 'messageId', reason: 'belongs to a referral whose consent was withdrawn' }]);
    const batch = await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages: [msg] } });
    expect(batch.body.results[0]).toMatchObject({
      outcome: 'conflict',
      status: 409,
      errors: [{ field: 'messageId', reason: 'belongs to a referral whose consent was withdrawn' }],
    });
    expect(await count()).toBe(n);
    expect((await db.query(`SELECT bsn_ciphertext FROM referral WHERE id = $1`, [id])).rows[0].bsn_ciphertext).toBeNull();
  });
});

describe("withdrawn through the insurer while a mediator works the referral's task", () => {
  let id: string;
  let taskId: string;
  const mediator = () => token('mediator', { uzovi: [UZOVI], subject: 'mediator-1' });

  beforeAll(async () => {
    ({ id } = await deliver());
    taskId = await giveTask(db, id);
    const claim = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/claim`, { token: mediator(), body: { version: 1 } });
    expect(claim.status).toBe(200);
  });

  it('closes the task with outcome consent-withdrawn, in its history, and the person can no longer be read', async () => {
    const res = await http(api.url, 'POST', '/v1/consent-withdrawals', { token: lead(), body: { referralId: id } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ referralId: id, tasksClosed: 1, alreadyWithdrawn: false });
    const { rows } = await db.query(`SELECT status, outcome, assignee, closed_at FROM mediation_task WHERE id = $1`, [taskId]);
    expect(rows[0]).toMatchObject({ status: 'closed', outcome: 'consent-withdrawn', assignee: null });
    const { rows: events } = await db.query(`SELECT type, actor, actor_role, details FROM task_event WHERE task_id = $1 ORDER BY id DESC LIMIT 1`, [taskId]);
    expect(events[0]).toMatchObject({ type: 'outcome', actor: 'lead-1', actor_role: 'mediation-lead', details: { outcome: 'consent-withdrawn' } });
    // No staff route says anything about the referral any more, beyond the anonymous counts.
    for (const t of [mediator(), lead(), token('auditor', { uzovi: [UZOVI] }), token('admin')]) {
      for (const path of [`/v1/worklist/tasks/${taskId}`, `/v1/referrals/${id}`, `/v1/referrals/${id}/evaluations`]) {
        const res = await http(api.url, 'GET', path, { token: t });
        expect([403, 404]).toContain(res.status);
        expect(JSON.stringify(res.body)).not.toContain(id);
      }
    }
    for (const t of [mediator(), lead()]) {
      const list = await http(api.url, 'GET', '/v1/worklist/tasks?status=closed&limit=200', { token: t });
      expect(list.status).toBe(200);
      expect(list.body.items.map((i: any) => i.id)).not.toContain(taskId);
      const command = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/reopen`, { token: t, body: { version: 1 } });
      expect(command.status).toBe(404);
    }
    const counts = await http(api.url, 'GET', '/v1/worklist/counts', { token: lead() });
    expect(counts.body.byStatus.closed).toBeGreaterThanOrEqual(1);
  });
});

describe('who may withdraw, and what', () => {
  it('another insurer gets 404, roles without the right 403', async () => {
    const { id } = await deliver();
    const other = await http(api.url, 'POST', '/v1/consent-withdrawals', { token: token('mediation-lead', { uzovi: ['3311'] }), body: { referralId: id } });
    expect(other.status).toBe(404);
    for (const role of ['mediator', 'auditor'] as const) {
      expect((await http(api.url, 'POST', '/v1/consent-withdrawals', { token: token(role, { uzovi: [UZOVI] }), body: { referralId: id } })).status).toBe(403);
    }
    expect((await http(api.url, 'POST', '/v1/consent-withdrawals', { token: token('provider', { agb: '94012345' }), body: { referralId: id } })).status).toBe(403);
    expect((await db.query(`SELECT status FROM referral WHERE id = $1`, [id])).rows[0].status).toBe('pending');
  });

  it.each([
    [{}, 'referralId', 'is required, or messageId instead'],
    [{ referralId: '7f7b3c2e-0000-4000-8000-000000000000', messageId: 'm-1' }, 'referralId', 'give either referralId or messageId, not both'],
    [{ referralId: 'abc' }, 'referralId', 'must be a UUID'],
    [{ messageId: 'has space' }, 'messageId', 'must be printable ASCII without spaces'],
    [{ messageId: 'm-1', uzovi: '33' }, 'uzovi', 'must be a 4-digit UZOVI code'],
    [{ messageId: 'm-1', reason: 'x' }, 'reason', 'is not an allowed field'],
  ])('refuses %j naming the field', async (body, field, reason) => {
    const res = await http(api.url, 'POST', '/v1/consent-withdrawals', { token: rs(), body });
    expect(res.status).toBe(400);
    expect(res.body.details).toContainEqual({ field, reason });
  });

  it('asks which insurer when the token acts for several and only a messageId is given', async () => {
    const res = await http(api.url, 'POST', '/v1/consent-withdrawals', { token: token('referral-service', { uzovi: [UZOVI, '3311'] }), body: { messageId: 'm-1' } });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([{ field: 'uzovi', reason: 'is required with messageId when your token acts for more than one insurer' }]);
    const unknown = await http(api.url, 'POST', '/v1/consent-withdrawals', { token: rs(), body: { messageId: 'no-such-message' } });
    expect(unknown.status).toBe(404);
  });
});
