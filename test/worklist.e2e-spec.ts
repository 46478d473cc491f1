/**
 * The mediation worklist end to end: concurrent claiming, claim order, optimistic locking,
 * commands and their rules, tenant walls, the detail (BSN only for the assignee, every read
 * logged), listing with filters and cursors, due dates and stale claims.
 *
 * Each part works for an insurer code of its own, so claim-next sees only its own tasks.
 */
import type { Client } from 'pg';
import { amsterdamDate } from '@app/core';
import { ReferralEvaluationService, WorklistService } from '@app/mediation';
import { daysAgo, giveTask, http, pg, referralMessage, RunningApi, startApi, startWorker, token, waitFor } from './support/harness';
import { addProvider, monthsAgo } from './support/registry';

let api: RunningApi;
let db: Client;
const today = amsterdamDate(new Date());
const plusDays = (n: number) => amsterdamDate(new Date(Date.now() + n * 86_400_000));

const mediator = (uzovi: string, subject = `mediator-${uzovi}`) => token('mediator', { uzovi: [uzovi], subject });
const lead = (uzovi: string) => token('mediation-lead', { uzovi: [uzovi], subject: `lead-${uzovi}` });

/** Delivers referrals for an insurer through the real intake and gives each a task. */
async function tasksFor(uzovi: string, n: number, task: (i: number) => { priority?: number; dueDate?: string } = () => ({}), agb = '73990001') {
  const messages = Array.from({ length: n }, () => referralMessage({ uzovi, agb }));
  const res = await http(api.url, 'POST', '/v1/referrals/batch', { token: token('referral-service', { uzovi: [uzovi] }), body: { messages } });
  expect(res.status).toBe(200);
  const ids: string[] = [];
  for (const [i, r] of res.body.results.entries()) ids.push(await giveTask(db, r.referralId, task(i)));
  return { taskIds: ids, referralIds: res.body.results.map((r: any) => r.referralId) as string[], bsns: messages.map((m) => m.bsn as string) };
}

async function version(taskId: string): Promise<number> {
  return (await db.query(`SELECT version FROM mediation_task WHERE id = $1`, [taskId])).rows[0].version;
}

async function claimed(uzovi: string, subject?: string) {
  const res = await http(api.url, 'POST', '/v1/worklist/claim-next', { token: mediator(uzovi, subject) });
  expect(res.status).toBe(200);
  return res.body;
}

beforeAll(async () => {
  db = await pg();
  // No worker: tasks come from fixtures, or from the evaluation called directly with a chosen date.
  api = await startApi({ UNREACHABLE_AFTER_ATTEMPTS: '3', TASK_FIRST_CONTACT_WORKING_DAYS: '3' });
});
afterAll(async () => {
  await api?.close();
  await db?.end();
});

describe('claim-next', () => {
  it('hands 1,000 tasks to 50 concurrent claimers, each exactly once; the only refusal is "queue empty"', async () => {
    const { taskIds } = await tasksFor('8401', 1000, (i) => ({ priority: 1 + (i % 5), dueDate: plusDays(i % 7) }));
    const claims = await Promise.all(
      Array.from({ length: 50 }, async (_, c) => {
        const got: string[] = [];
        const refusals: { status: number; message: string }[] = [];
        for (;;) {
          const res = await http(api.url, 'POST', '/v1/worklist/claim-next', { token: mediator('8401', `claimer-${c}`) });
          if (res.status === 200) got.push(res.body.id);
          else {
            refusals.push({ status: res.status, message: res.body.message });
            break;
          }
        }
        return { got, refusals };
      }),
    );
    const all = claims.flatMap((c) => c.got);
    expect(all).toHaveLength(1000);
    expect(new Set(all)).toEqual(new Set(taskIds));
    for (const c of claims) expect(c.refusals).toEqual([{ status: 404, message: 'Queue empty: no open, unassigned task for your insurer' }]);
    const { rows } = await db.query(
      `SELECT count(*)::int AS n, count(DISTINCT assignee)::int AS people,
              (SELECT count(*)::int FROM task_event e WHERE e.task_id = ANY($1::uuid[]) AND e.type = 'claimed') AS events
         FROM mediation_task WHERE id = ANY($1::uuid[]) AND status = 'in-progress'`,
      [taskIds],
    );
    expect(rows[0]).toEqual({ n: 1000, people: 50, events: 1000 });
  });

  it('gives the highest priority first, then the earliest due date', async () => {
    const plan = [
      { priority: 3, dueDate: plusDays(2) },
      { priority: 5, dueDate: plusDays(5) },
      { priority: 3, dueDate: plusDays(1) },
      { priority: 1, dueDate: today },
      { priority: 5, dueDate: plusDays(1) },
    ];
    const { taskIds } = await tasksFor('8402', plan.length, (i) => plan[i]);
    const order: string[] = [];
    for (let i = 0; i < plan.length; i++) order.push((await claimed('8402')).id);
    expect(order).toEqual([taskIds[4], taskIds[1], taskIds[2], taskIds[0], taskIds[3]]);
  });
});

describe('commands on a task', () => {
  let taskId: string;
  const me = () => mediator('8403', 'anna');
  const other = () => mediator('8403', 'bram');
  beforeAll(async () => {
    ({
      taskIds: [taskId],
    } = await tasksFor('8403', 1));
  });

  it('claim, then a second claim of the assigned task gets 409 naming who has it', async () => {
    const res = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/claim`, { token: me(), body: { version: 1 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'in-progress', assignee: 'anna', version: 2 });
    const again = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/claim`, { token: other(), body: { version: 2 } });
    expect(again.status).toBe(409);
    expect(again.body.details).toEqual([{ field: 'id', reason: 'is assigned to someone else; a mediation lead may reassign it' }]);
  });

  it('prevents a lost update: two writers with the same version, one gets 409', async () => {
    const v = await version(taskId);
    const body = { version: v, channel: 'phone', result: 'no-answer' };
    const [a, b] = await Promise.all([
      http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/contact-attempts`, { token: me(), body }),
      http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/contact-attempts`, { token: me(), body }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const lost = a.status === 409 ? a : b;
    expect(lost.body.details).toEqual([{ field: 'version', reason: `is ${v}, but the task is at version ${v + 1}: read it again` }]);
    const { rows } = await db.query(`SELECT contact_attempts, failed_contact_attempts, first_contact_at FROM mediation_task WHERE id = $1`, [taskId]);
    expect(rows[0]).toMatchObject({ contact_attempts: 1, failed_contact_attempts: 1, first_contact_at: expect.any(Date) });
  });

  it('lets only the assignee (or a lead) work the task', async () => {
    const res = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/contact-attempts`, {
      token: other(),
      body: { version: await version(taskId), channel: 'phone', result: 'reached' },
    });
    expect(res.status).toBe(403);
    const assign = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/assign`, { token: other(), body: { version: await version(taskId), assignee: 'bram' } });
    expect(assign.status).toBe(403);
    expect(assign.body.details).toEqual([{ field: 'assignee', reason: 'requires the role mediation-lead' }]);
  });

  it('refuses bad commands naming the field', async () => {
    const url = `/v1/worklist/tasks/${taskId}/contact-attempts`;
    const v = await version(taskId);
    const cases: [unknown, string, string][] = [
      [{ channel: 'phone', result: 'reached' }, 'version', 'is required'],
      [{ version: 'x', channel: 'phone', result: 'reached' }, 'version', 'must be a whole number from 1: the version you read'],
      [{ version: v, channel: 'pigeon', result: 'reached' }, 'channel', 'must be one of: phone, e-mail, letter, portal'],
      [{ version: v, channel: 'phone', result: 'maybe' }, 'result', 'must be one of: reached, no-answer, voicemail, wrong-number'],
      [{ version: v, channel: 'phone', result: 'no-answer', awaitingPatient: true }, 'awaitingPatient', 'can be true only when the result is "reached"'],
      [{ version: v, channel: 'phone', result: 'reached', note: 'x' }, 'note', 'is not an allowed field'],
    ];
    for (const [body, field, reason] of cases) {
      const res = await http(api.url, 'POST', url, { token: me(), body });
      expect({ status: res.status, details: res.body.details }).toEqual({ status: 400, details: expect.arrayContaining([{ field, reason }]) });
    }
    expect((await http(api.url, 'POST', '/v1/worklist/tasks/not-a-uuid/claim', { token: me(), body: { version: 1 } })).body.details).toEqual([
      { field: 'id', reason: 'must be a UUID' },
    ]);
  });

  it('allows "unreachable" only after the configured failed attempts, and closing only with an outcome', async () => {
    const outcome = (body: object) => http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/outcome`, { token: me(), body });
    const noOutcome = await outcome({ version: await version(taskId) });
    expect(noOutcome.status).toBe(400);
    expect(noOutcome.body.details).toEqual([{ field: 'outcome', reason: 'is required' }]);
    const early = await outcome({ version: await version(taskId), outcome: 'unreachable' });
    expect(early.status).toBe(409);
    expect(early.body.details).toEqual([{ field: 'outcome', reason: '"unreachable" needs 3 failed contact attempts; this task has 1' }]);
    for (const result of ['voicemail', 'wrong-number']) {
      const r = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/contact-attempts`, { token: me(), body: { version: await version(taskId), channel: 'phone', result } });
      expect(r.status).toBe(200);
    }
    const noLocation = await outcome({ version: await version(taskId), outcome: 'accepted-alternative' });
    expect(noLocation.body.details).toEqual([{ field: 'locationId', reason: 'is required for accepted-alternative' }]);
    const closed = await outcome({ version: await version(taskId), outcome: 'unreachable' });
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ status: 'closed', outcome: 'unreachable', failedContactAttempts: 3, closedAt: expect.any(String) });
    // Closed: no more attempts; only a lead reopens.
    const after = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/contact-attempts`, {
      token: me(),
      body: { version: await version(taskId), channel: 'phone', result: 'reached' },
    });
    expect(after.status).toBe(409);
    expect((await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/reopen`, { token: me(), body: { version: await version(taskId) } })).status).toBe(403);
    const reopened = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/reopen`, { token: lead('8403'), body: { version: await version(taskId) } });
    expect(reopened.body).toMatchObject({ status: 'open', assignee: null, outcome: null });
  });

  it('lets a lead assign, and records every step in the history', async () => {
    const assigned = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/assign`, { token: lead('8403'), body: { version: await version(taskId), assignee: 'bram' } });
    expect(assigned.body).toMatchObject({ status: 'in-progress', assignee: 'bram' });
    const waiting = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/contact-attempts`, {
      token: other(),
      body: { version: await version(taskId), channel: 'e-mail', result: 'reached', awaitingPatient: true },
    });
    expect(waiting.body.status).toBe('awaiting-patient');
    const released = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/release`, { token: other(), body: { version: await version(taskId) } });
    expect(released.body).toMatchObject({ status: 'open', assignee: null });
    const detail = await http(api.url, 'GET', `/v1/worklist/tasks/${taskId}`, { token: lead('8403') });
    expect(detail.body.history.map((e: any) => [e.type, e.actor])).toEqual([
      ['claimed', 'anna'],
      ['contact-attempt', 'anna'],
      ['contact-attempt', 'anna'],
      ['contact-attempt', 'anna'],
      ['outcome', 'anna'],
      ['reopened', 'lead-8403'],
      ['assigned', 'lead-8403'],
      ['awaiting-patient', 'bram'],
      ['released', 'bram'],
    ]);
    expect(detail.body.history[4].details).toEqual({ outcome: 'unreachable' });
    // Append-only, whoever asks.
    await expect(db.query(`UPDATE task_event SET actor = 'x' WHERE task_id = $1`, [taskId])).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM task_event WHERE task_id = $1`, [taskId])).rejects.toThrow(/append-only/);
  });

  it('records an accepted alternative with the location and its expected wait', async () => {
    await addProvider(db, { agb: '73990101', name: 'GGZ Alternatief', locations: [{ code: 'a', region: 'utrecht', groups: ['depressie'] }] });
    const { rows } = await db.query(`SELECT id FROM provider_location WHERE agb = '73990101'`);
    await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/claim`, { token: me(), body: { version: await version(taskId) } });
    const res = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/outcome`, {
      token: me(),
      body: { version: await version(taskId), outcome: 'accepted-alternative', locationId: rows[0].id, expectedWeeks: 5.5 },
    });
    expect(res.status).toBe(200);
    const detail = await http(api.url, 'GET', `/v1/worklist/tasks/${taskId}`, { token: me() });
    expect(detail.body.outcomeDetails).toEqual({ locationId: rows[0].id, agb: '73990101', locationName: 'GGZ Alternatief a', expectedWeeks: 5.5, offered: false });
  });
});

describe('the task detail', () => {
  it('shows the full BSN only to the assignee, and logs every read', async () => {
    const { taskIds, bsns } = await tasksFor('8404', 1);
    const [taskId] = taskIds;
    await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/claim`, { token: mediator('8404', 'anna'), body: { version: 1 } });
    const own = await http(api.url, 'GET', `/v1/worklist/tasks/${taskId}`, { token: mediator('8404', 'anna') });
    expect(own.body.referral).toMatchObject({ bsn: bsns[0], bsnMasked: false });
    const colleague = await http(api.url, 'GET', `/v1/worklist/tasks/${taskId}`, { token: mediator('8404', 'bram') });
    expect(colleague.body.referral).toMatchObject({ bsn: `*****${bsns[0].slice(-4)}`, bsnMasked: true });
    const boss = await http(api.url, 'GET', `/v1/worklist/tasks/${taskId}`, { token: lead('8404') });
    expect(boss.body.referral.bsnMasked).toBe(true);
    const { rows } = await db.query(`SELECT subject, role, bsn_shown FROM task_access WHERE task_id = $1 ORDER BY id`, [taskId]);
    expect(rows).toEqual([
      { subject: 'anna', role: 'mediator', bsn_shown: true },
      { subject: 'bram', role: 'mediator', bsn_shown: false },
      { subject: 'lead-8404', role: 'mediation-lead', bsn_shown: false },
    ]);
  });
});

describe('tenant walls', () => {
  it("another insurer's staff cannot list, open or change a task (404)", async () => {
    const { taskIds, referralIds } = await tasksFor('8405', 1);
    const [taskId] = taskIds;
    const foreign = mediator('8406', 'eve');
    expect((await http(api.url, 'GET', '/v1/worklist/tasks', { token: foreign })).body.items).toEqual([]);
    expect((await http(api.url, 'GET', `/v1/worklist/tasks/${taskId}`, { token: foreign })).status).toBe(404);
    for (const cmd of ['claim', 'release', 'reopen']) {
      expect((await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/${cmd}`, { token: foreign, body: { version: 1 } })).status).toBe(404);
    }
    expect((await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/assign`, { token: lead('8406'), body: { version: 1, assignee: 'eve' } })).status).toBe(404);
    expect((await http(api.url, 'POST', '/v1/worklist/claim-next', { token: foreign })).status).toBe(404);
    expect((await http(api.url, 'GET', `/v1/referrals/${referralIds[0]}`, { token: foreign })).status).toBe(404);
    const { rows } = await db.query(`SELECT status, version FROM mediation_task WHERE id = $1`, [taskId]);
    expect(rows[0]).toEqual({ status: 'open', version: 1 });
    expect((await http(api.url, 'GET', '/v1/worklist/tasks', { token: token('provider', { agb: '73990001' }) })).status).toBe(403);
  });
});

describe('listing and counts', () => {
  let ids: string[];
  beforeAll(async () => {
    await addProvider(db, { agb: '73990201', name: 'GGZ Lijst', locations: [{ code: 'a', region: 'zeeland', groups: ['depressie'], postcode: '4331AB' }] });
    ({ taskIds: ids } = await tasksFor('8407', 7, (i) => ({ priority: 1 + (i % 3), dueDate: i < 2 ? daysAgo(3) : plusDays(i) }), '73990201'));
    await http(api.url, 'POST', `/v1/worklist/tasks/${ids[6]}/claim`, { token: mediator('8407', 'anna'), body: { version: 1 } });
  });
  const list = (query: string, who = mediator('8407', 'anna')) => http(api.url, 'GET', `/v1/worklist/tasks${query}`, { token: who });

  it('pages through every task by cursor, in claim order, without gaps or repeats', async () => {
    const seen: any[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await list(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen.map((t) => t.id).sort()).toEqual([...ids].sort());
    const keys = seen.map((t) => [5 - t.priority, t.dueDate, t.createdAt, t.id].join('|'));
    expect(keys).toEqual([...keys].sort());
  });

  it('filters by status, assignee, overdue, priority, diagnosis group and region', async () => {
    expect((await list('?status=in-progress')).body.items.map((t: any) => t.id)).toEqual([ids[6]]);
    expect((await list('?assignee=me')).body.items.map((t: any) => t.id)).toEqual([ids[6]]);
    expect((await list('?overdue=true')).body.items.map((t: any) => t.id).sort()).toEqual([ids[0], ids[1]].sort());
    expect((await list('?priority=3')).body.items).toHaveLength(2);
    expect((await list('?diagnosisGroup=depressie')).body.items).toHaveLength(7);
    expect((await list('?diagnosisGroup=angst')).body.items).toHaveLength(0);
    expect((await list('?region=zeeland')).body.items).toHaveLength(7);
    expect((await list('?region=utrecht')).body.items).toHaveLength(0);
    expect((await list('?sort=due&limit=2')).body.items.map((t: any) => t.dueDate)).toEqual([daysAgo(3), daysAgo(3)]);
  });

  it('refuses bad filters naming the parameter', async () => {
    for (const [q, field] of [
      ['?status=done', 'status'],
      ['?limit=0', 'limit'],
      ['?priority=9', 'priority'],
      ['?sort=name', 'sort'],
      ['?overdue=yes', 'overdue'],
      ['?cursor=bm9wZQ', 'cursor'],
      [`?cursor=${Buffer.from(JSON.stringify({ s: 'priority', p: 1, d: '2026-02-30', c: 'x', id: 'y' })).toString('base64url')}`, 'cursor'],
      ['?colour=red', 'colour'],
    ]) {
      const res = await list(q);
      expect({ q, status: res.status, field: res.body.details?.[0]?.field }).toEqual({ q, status: 400, field });
    }
  });

  it('counts tasks per status for the team dashboard', async () => {
    const res = await http(api.url, 'GET', '/v1/worklist/counts', { token: lead('8407') });
    expect(res.body).toEqual({ byStatus: { open: 6, 'in-progress': 1, 'awaiting-patient': 0, closed: 0 }, overdue: 2, unassignedOpen: 6, noNewContact: 0 });
  });
});

describe('due dates and stale claims', () => {
  it('sets first contact due three working days on, skipping a weekend and Christmas', async () => {
    await addProvider(db, {
      agb: '73990301',
      name: 'GGZ Traag',
      locations: [{ code: 'a', region: 'twente', groups: ['trauma'], postcode: '7511AB' }],
      contracts: [{ uzovi: '8408' }],
    });
    const month = monthsAgo(0);
    const put = await http(api.url, 'POST', '/v1/providers/73990301/wait-times', {
      token: token('provider', { agb: '73990301' }),
      body: { month, figures: [{ location: 'a', diagnosisGroup: 'trauma', aanmeldWeeks: 12, behandelWeeks: 12 }] },
    });
    expect(put.status).toBe(201);
    const res = await http(api.url, 'POST', '/v1/referrals', {
      token: token('referral-service', { uzovi: ['8408'] }),
      body: referralMessage({ uzovi: '8408', agb: '73990301', klachtenprofiel: 'trauma' }),
    });
    // Evaluated on Thursday 24 December 2026 (as the worker would on that day): Fri 25 and Sat 26
    // are Christmas, Sun 27 a Sunday, so three working days on is Wednesday 30 December.
    const christmasEve = new Date('2026-12-24T10:00:00+01:00');
    const outcome = await api.app.get(ReferralEvaluationService).evaluatePending([res.body.id], christmasEve);
    expect(outcome.tasksCreated).toBe(1);
    const { rows } = await db.query(`SELECT to_char(due_date, 'YYYY-MM-DD') AS due FROM mediation_task WHERE referral_id = $1`, [res.body.id]);
    expect(rows[0].due).toBe('2026-12-30');
    const { rows: events } = await db.query(`SELECT type, actor, details FROM task_event e JOIN mediation_task t ON t.id = e.task_id WHERE t.referral_id = $1`, [res.body.id]);
    expect(events).toEqual([{ type: 'created', actor: 'system', details: expect.objectContaining({ dueDate: rows[0].due }) }]);
  });

  it('puts a claim without activity back in the queue, with an event saying so', async () => {
    const { taskIds } = await tasksFor('8409', 2);
    for (const id of taskIds) await http(api.url, 'POST', `/v1/worklist/tasks/${id}/claim`, { token: mediator('8409', 'anna'), body: { version: 1 } });
    await db.query(`UPDATE mediation_task SET last_activity_at = now() - interval '3 hours' WHERE id = $1`, [taskIds[0]]);
    expect(await api.app.get(WorklistService).releaseStale()).toBe(1);
    const { rows } = await db.query(`SELECT id, status, assignee FROM mediation_task WHERE id = ANY($1::uuid[]) ORDER BY id = $2 DESC`, [taskIds, taskIds[0]]);
    expect(rows).toEqual([
      { id: taskIds[0], status: 'open', assignee: null },
      { id: taskIds[1], status: 'in-progress', assignee: 'anna' },
    ]);
    const { rows: ev } = await db.query(`SELECT type, actor, details FROM task_event WHERE task_id = $1 ORDER BY id DESC LIMIT 1`, [taskIds[0]]);
    expect(ev[0]).toEqual({ type: 'stale-released', actor: 'system', details: { idleMinutes: 120 } });
  });

  it('is done by the worker on its own, on its timer', async () => {
    const { taskIds } = await tasksFor('8410', 1);
    await http(api.url, 'POST', `/v1/worklist/tasks/${taskIds[0]}/claim`, { token: mediator('8410', 'anna'), body: { version: 1 } });
    await db.query(`UPDATE mediation_task SET last_activity_at = now() - interval '2 minutes' WHERE id = $1`, [taskIds[0]]);
    const worker = await startWorker({ STALE_CLAIM_MINUTES: '1', SWEEPER_INTERVAL_SECONDS: '1' });
    try {
      await waitFor(async () => (await db.query(`SELECT status FROM mediation_task WHERE id = $1`, [taskIds[0]])).rows[0].status === 'open');
    } finally {
      await worker.close();
    }
  });
});
