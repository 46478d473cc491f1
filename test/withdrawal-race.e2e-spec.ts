/**
 * A mediator's command on a task and the patient's consent withdrawal, at the same moment
 * (security review, item 5, under concurrency). Whatever the interleaving, either the command
 * commits first — answered 2xx, its event before the withdrawal's — or it finds the referral
 * withdrawn and is answered 404, leaving no trace. Afterwards the task is closed, unassigned, the
 * person erased, and nothing the mediator sent lands after the withdrawal.
 * Each seed draws the command and both start delays from a seeded generator
 * (RACE_SEEDS=1-40 by default; RACE_SEEDS=17 replays one). Works for insurer 8503 only.
 */
import type { Client } from 'pg';
import { giveTask, http, pg, referralMessage, RunningApi, startApi, token } from './support/harness';
import { rng, seeds } from './support/seeded';

const UZOVI = '8503';
const SEEDS = seeds('1-40');
let api: RunningApi;
let db: Client;
const rs = () => token('referral-service', { uzovi: [UZOVI], subject: 'verwijsdienst' });
const lead = () => token('mediation-lead', { uzovi: [UZOVI], subject: 'lead-race' });
const mediator = () => token('mediator', { uzovi: [UZOVI], subject: 'mediator-race' });

/**
 * The commands a mediator may send on a claimed task (version 2 after the claim), with the event
 * each writes and whether the task is open before it and after it. Reopen first closes the task.
 */
const COMMANDS: { name: string; path: string; body: Record<string, unknown>; event: string; openBefore: boolean; openAfter: boolean; closeFirst?: boolean; by?: 'lead' }[] = [
  { name: 'contact attempt', path: 'contact-attempts', body: { version: 2, channel: 'phone', result: 'no-answer' }, event: 'contact-attempt', openBefore: true, openAfter: true },
  { name: 'outcome', path: 'outcome', body: { version: 2, outcome: 'prefers-to-wait' }, event: 'outcome', openBefore: true, openAfter: false },
  { name: 'release', path: 'release', body: { version: 2 }, event: 'released', openBefore: true, openAfter: true },
  // Reopening is a lead's command.
  { name: 'reopen', path: 'reopen', body: { version: 3 }, event: 'reopened', openBefore: false, openAfter: true, closeFirst: true, by: 'lead' },
];

/** How often the command won and lost the race, over the seeds. */
const seen = { first: 0, late: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  db = await pg();
  api = await startApi();
});
afterAll(async () => {
  await api?.close();
  await db?.end();
});

it.each(SEEDS)('seed %i: a command racing the withdrawal commits first or is answered 404; the end state is withdrawn and closed', async (seed) => {
  const rand = rng(seed);
  const command = COMMANDS[Math.floor(rand() * COMMANDS.length)];
  const delays = [Math.floor(rand() * 6), Math.floor(rand() * 6)];

  const delivered = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: referralMessage({ uzovi: UZOVI }) });
  expect(delivered.status).toBe(201);
  const referralId = delivered.body.id as string;
  const taskId = await giveTask(db, referralId);
  expect((await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/claim`, { token: mediator(), body: { version: 1 } })).status).toBe(200);
  if (command.closeFirst) {
    const closed = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/outcome`, { token: mediator(), body: { version: 2, outcome: 'prefers-to-wait' } });
    expect(closed.status).toBe(200);
  }

  const [sent, withdrawn] = await Promise.all([
    sleep(delays[0]).then(() => http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/${command.path}`, { token: command.by === 'lead' ? lead() : mediator(), body: command.body })),
    sleep(delays[1]).then(() => http(api.url, 'POST', '/v1/consent-withdrawals', { token: lead(), body: { referralId } })),
  ]);
  const schedule = `${command.name}, delays ${delays.join('/')} ms`;
  expect([schedule, withdrawn.status, withdrawn.body.alreadyWithdrawn]).toEqual([schedule, 200, false]);
  expect([schedule, [200, 404]]).toEqual([schedule, expect.arrayContaining([sent.status])]);

  const events: { id: number; type: string; actor: string; details: any }[] = (
    await db.query(`SELECT id::int AS id, type, actor, details FROM task_event WHERE task_id = $1 ORDER BY id`, [taskId])
  ).rows;
  const mine = events.filter((e) => e.actor === (command.by === 'lead' ? 'lead-race' : 'mediator-race') && e.type === command.event);
  const closedByWithdrawal = events.find((e) => e.type === 'outcome' && e.details?.outcome === 'consent-withdrawn');
  const [task] = (await db.query(`SELECT status, outcome, assignee FROM mediation_task WHERE id = $1`, [taskId])).rows;
  const [referral] = (await db.query(`SELECT status, bsn_ciphertext, bsn_blind_index FROM referral WHERE id = $1`, [referralId])).rows;

  // The person is gone and the task closed, whatever came first.
  expect([schedule, referral]).toEqual([schedule, { status: 'withdrawn', bsn_ciphertext: null, bsn_blind_index: null }]);
  expect([schedule, task.status]).toEqual([schedule, 'closed']);
  seen[sent.status === 200 ? 'first' : 'late']++;
  if (sent.status === 200) {
    // Committed first: its one event, before anything the withdrawal wrote.
    expect([schedule, mine.length]).toEqual([schedule, 1]);
    if (closedByWithdrawal) expect([schedule, mine[0].id < closedByWithdrawal.id]).toEqual([schedule, true]);
  } else {
    // Too late: no trace of the command, nothing of the task in the answer.
    expect([schedule, mine]).toEqual([schedule, []]);
    expect(JSON.stringify(sent.body)).not.toMatch(new RegExp(`${referralId}|version`));
  }
  // An open task at the moment of the withdrawal is closed by it, unassigned; a closed one keeps the mediator's outcome.
  const openAtWithdrawal = sent.status === 200 ? command.openAfter : command.openBefore;
  if (openAtWithdrawal) expect([schedule, task.outcome, task.assignee, withdrawn.body.tasksClosed]).toEqual([schedule, 'consent-withdrawn', null, 1]);
  else expect([schedule, task.outcome, withdrawn.body.tasksClosed, closedByWithdrawal]).toEqual([schedule, 'prefers-to-wait', 0, undefined]);
  // Nothing by staff after the withdrawal's close, and the task no longer answers them.
  if (closedByWithdrawal) expect([schedule, events.filter((e) => e.id > closedByWithdrawal.id)]).toEqual([schedule, []]);
  expect([schedule, (await http(api.url, 'GET', `/v1/worklist/tasks/${taskId}`, { token: mediator() })).status]).toEqual([schedule, 404]);
});

it('the seeds meet both orders: some commands committed first, some came too late', () => {
  // Guards the test above against schedules that never race (RACE_SEEDS of one seed excepted).
  expect(seen.first + seen.late).toBe(SEEDS.length);
  if (SEEDS.length >= 10) expect(Math.min(seen.first, seen.late)).toBeGreaterThan(0);
});
