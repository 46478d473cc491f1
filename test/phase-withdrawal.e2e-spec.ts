/**
 * Phase 1 to the letter: when new figures bring above-norm referrals back within the norm, a task
 * nobody has contacted leaves the queue within seconds (claimed or not) and its referral is
 * invisible to mediators again; a task whose contact is under way stays with its assignee,
 * flagged "start no new contact", and the lead sees it; above the norm again, the same tasks come
 * back. claim-next never hands out a referral whose decision is being made again.
 *
 * Works for an insurer code of its own, so claim-next sees only these tasks.
 */
import type { Client } from 'pg';
import { ReferralEvaluationService } from '@app/mediation';
import { daysAgo, http, pg, referralMessage, RunningApi, RunningWorker, startApi, startWorker, token, waitFor } from './support/harness';
import { addProvider, monthsAgo } from './support/registry';

const UZOVI = '5544';
const AGB = '73200001';
let api: RunningApi;
let worker: RunningWorker;
let db: Client;
const rs = () => token('referral-service', { uzovi: [UZOVI] });
const mediator = (n = 1) => token('mediator', { uzovi: [UZOVI], subject: `pw-mediator-${n}` });
const lead = () => token('mediation-lead', { uzovi: [UZOVI], subject: 'pw-lead' });
const auditor = () => token('auditor', { uzovi: [UZOVI], subject: 'pw-auditor' });
const provider = () => token('provider', { agb: AGB, subject: `provider-${AGB}` });

async function publish(aanmeldWeeks: number): Promise<number> {
  const res = await http(api.url, 'POST', `/v1/providers/${AGB}/wait-times`, {
    token: provider(),
    body: { month: monthsAgo(0), figures: [{ location: 'a', diagnosisGroup: 'angst', aanmeldWeeks, behandelWeeks: 3 }] },
  });
  expect(res.status).toBe(201);
  return res.body.reevaluating;
}

async function task(referralId: string) {
  const { rows } = await db.query(`SELECT * FROM mediation_task WHERE referral_id = $1`, [referralId]);
  expect(rows).toHaveLength(1);
  return rows[0];
}

async function events(taskId: string): Promise<string[]> {
  const { rows } = await db.query(`SELECT type FROM task_event WHERE task_id = $1 ORDER BY id`, [taskId]);
  return rows.map((r) => r.type);
}

const settled = (ids: string[]) =>
  waitFor(async () => {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM referral WHERE id = ANY($1::uuid[]) AND status = 'pending'`, [ids]);
    return rows[0].n === 0;
  }, 10_000);

let untouched: string; // a task nobody claimed
let claimed: string; // claimed, no contact yet
let contacted: string; // claimed, contact under way
const ids = () => [untouched, claimed, contacted];

beforeAll(async () => {
  api = await startApi();
  worker = await startWorker();
  db = await pg();
  await addProvider(db, { agb: AGB, name: 'Phase Withdrawal GGZ', locations: [{ code: 'a', region: 'utrecht', groups: ['angst'] }], contracts: [{ uzovi: UZOVI }] });
  await publish(9);
  const refer = async () => {
    const res = await http(api.url, 'POST', '/v1/referrals', {
      token: rs(),
      body: referralMessage({ uzovi: UZOVI, agb: AGB, klachtenprofiel: 'angst', verwijsdatum: daysAgo(3) }),
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  [untouched, claimed, contacted] = [await refer(), await refer(), await refer()];
  await settled(ids());
  for (const id of ids()) expect((await task(id)).status).toBe('open');

  // Mediator 1 claims two tasks and reaches one of the two people.
  for (const id of [claimed, contacted]) {
    const t = await task(id);
    expect((await http(api.url, 'POST', `/v1/worklist/tasks/${t.id}/claim`, { token: mediator(), body: { version: t.version } })).status).toBe(200);
  }
  const c = await task(contacted);
  const attempt = await http(api.url, 'POST', `/v1/worklist/tasks/${c.id}/contact-attempts`, {
    token: mediator(),
    body: { version: c.version, channel: 'phone', result: 'reached' },
  });
  expect(attempt.status).toBe(200);
});

afterAll(async () => {
  await worker?.close();
  await api?.close();
  await db?.end();
});

describe('new figures bring the referrals within the norm', () => {
  let elapsedMs = 0;
  beforeAll(async () => {
    const t0 = Date.now();
    // The receipt counts the three: all will be judged again, claimed ones included.
    expect(await publish(1)).toBe(3);
    await settled(ids());
    elapsedMs = Date.now() - t0;
  });

  it('withdraws the tasks nobody had contacted, claimed or not, within seconds', async () => {
    expect(elapsedMs).toBeLessThan(10_000);
    for (const id of [untouched, claimed]) {
      const t = await task(id);
      expect(t).toMatchObject({ status: 'closed', outcome: 'phase-withdrawn', assignee: null });
      expect(t.outcome_details).toMatchObject({ verdict: 'within-norm', phase: 'phase-1' });
      expect((await events(t.id)).at(-1)).toBe('withdrawn');
    }
  });

  it('makes the referral and its task invisible to mediators and leads again', async () => {
    for (const id of [untouched, claimed]) {
      const t = await task(id);
      for (const who of [mediator(), lead()]) {
        expect((await http(api.url, 'GET', `/v1/referrals/${id}`, { token: who })).status).toBe(404);
        expect((await http(api.url, 'GET', `/v1/referrals/${id}/evaluations`, { token: who })).status).toBe(404);
        expect((await http(api.url, 'GET', `/v1/worklist/tasks/${t.id}`, { token: who })).status).toBe(404);
      }
      // The assignee of the claimed one can no longer act on it.
      const attempt = await http(api.url, 'POST', `/v1/worklist/tasks/${t.id}/contact-attempts`, {
        token: mediator(),
        body: { version: t.version, channel: 'phone', result: 'reached' },
      });
      expect(attempt.status).toBe(409);
      // Nor can a lead bring it back by hand.
      expect((await http(api.url, 'POST', `/v1/worklist/tasks/${t.id}/reopen`, { token: lead(), body: { version: t.version } })).status).toBe(409);
    }
    expect((await http(api.url, 'POST', '/v1/worklist/claim-next', { token: mediator(2) })).status).toBe(404);
  });

  it('keeps the task whose contact is under way with its assignee, flagged, and shows the lead', async () => {
    const t = await task(contacted);
    expect(t).toMatchObject({ status: 'in-progress', assignee: 'pw-mediator-1', outcome: null });
    expect(t.no_new_contact_since).not.toBeNull();
    expect((await events(t.id)).at(-1)).toBe('no-new-contact');
    const detail = await http(api.url, 'GET', `/v1/worklist/tasks/${t.id}`, { token: mediator() });
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ noNewContact: true, referral: { bsnMasked: false } });
    expect(detail.body.evaluation.summary.join(' ')).toMatch(/start no new contact/);
    const counts = await http(api.url, 'GET', '/v1/worklist/counts', { token: lead() });
    expect(counts.body).toMatchObject({ noNewContact: 1, unassignedOpen: 0 });
    const flagged = await http(api.url, 'GET', '/v1/worklist/tasks?noNewContact=true', { token: lead() });
    expect(flagged.body.items.map((i: any) => i.id)).toEqual([t.id]);
  });

  it('records the decisions in words for the auditor', async () => {
    const res = await http(api.url, 'GET', `/v1/referrals/${untouched}/evaluations`, { token: auditor() });
    expect(res.status).toBe(200);
    expect(res.body.evaluations[0]).toMatchObject({ verdict: 'within-norm', trigger: 'wait-times' });
    expect(res.body.evaluations[0].explanation).toMatchObject({ mediation: 'task-withdrawn', offered: false });
  });
});

describe('above the norm again', () => {
  it('brings the same tasks back, never a second one, and lifts the flag', async () => {
    const before = new Map<string, string>();
    for (const id of ids()) before.set(id, (await task(id)).id);
    expect(await publish(8)).toBe(3);
    await settled(ids());
    for (const id of [untouched, claimed]) {
      const t = await task(id);
      expect(t.id).toBe(before.get(id));
      expect(t).toMatchObject({ status: 'open', outcome: null, assignee: null, closed_at: null });
      expect((await events(t.id)).at(-1)).toBe('reinstated');
      expect((await http(api.url, 'GET', `/v1/referrals/${id}`, { token: mediator() })).status).toBe(200);
    }
    const c = await task(contacted);
    expect(c).toMatchObject({ status: 'in-progress', assignee: 'pw-mediator-1', no_new_contact_since: null });
    expect((await events(c.id)).at(-1)).toBe('contact-allowed');
  });
});

describe('while a new decision is being made', () => {
  it('claim-next hands out none of the referrals concerned, and the decision then decides', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const evaluation = worker.app.get(ReferralEvaluationService);
    evaluation.beforeStore = () => held;
    try {
      expect(await publish(1)).toBe(3);
      // The batch has read the new figures and holds its decision: the referrals are pending.
      await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM referral WHERE id = ANY($1::uuid[]) AND status = 'pending'`, [ids()])).rows[0].n === 3);
      expect((await http(api.url, 'POST', '/v1/worklist/claim-next', { token: mediator(3) })).status).toBe(404);
    } finally {
      evaluation.beforeStore = undefined;
      release();
    }
    await settled(ids());
    expect((await task(untouched)).outcome).toBe('phase-withdrawn');
    expect((await http(api.url, 'POST', '/v1/worklist/claim-next', { token: mediator(3) })).status).toBe(404);
  });
});
