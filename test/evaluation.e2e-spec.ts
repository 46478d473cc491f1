/**
 * The mediation decision end to end: referrals evaluated against published waiting times and the
 * norm set of their referral date; above-norm referrals get one task with ranked alternatives;
 * new figures, a stricter norm set and the phase-2 switch re-evaluate open referrals.
 *
 * Norm sets and the policy are global, so this file works in a database of its own.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { dropDatabase, ensureDatabase } from '@app/platform';
import { amsterdamDate } from '@app/core';
import { daysAgo, http, referralMessage, RunningApi, RunningWorker, startApi, startWorker, token, waitFor } from './support/harness';
import { addProvider, monthsAgo } from './support/registry';
import { replayAll } from './support/replay';

const url = (() => {
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.pathname = `${u.pathname}_ev${randomBytes(3).toString('hex')}`;
  return u.toString();
})();
const env = { DATABASE_URL: url, QUEUE_PREFIX: `${process.env.TEST_QUEUE_PREFIX}_ev`, SWEEPER_INTERVAL_SECONDS: '1', SWEEPER_DELAY_SECONDS: '2' };

let api: RunningApi;
let worker: RunningWorker;
let db: Client;
const today = amsterdamDate(new Date());
const thisMonth = monthsAgo(0);

const rs = () => token('referral-service', { uzovi: ['3311'] });
const admin = () => token('admin', { subject: 'admin-1' });
const mediator = () => token('mediator', { uzovi: ['3311'] });
const auditor = () => token('auditor', { uzovi: ['3311'] });
const provider = (agb: string) => token('provider', { agb, subject: `provider-${agb}` });

async function refer(agb: string, klachtenprofiel: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: referralMessage({ agb, klachtenprofiel, ...overrides }) });
  expect(res.status).toBe(201);
  return res.body.id;
}

async function publish(agb: string, figures: { location: string; diagnosisGroup: string; aanmeldWeeks: number; behandelWeeks: number }[], month = thisMonth) {
  const res = await http(api.url, 'POST', `/v1/providers/${agb}/wait-times`, { token: provider(agb), body: { month, figures } });
  expect(res.status).toBe(201);
  return res.body;
}

/** Waits until the referral has `n` evaluations and is no longer pending; returns the latest. */
async function evaluated(id: string, n = 1) {
  return waitFor(async () => {
    const { rows } = await db.query(
      `SELECT r.status, r.verdict, (SELECT count(*)::int FROM referral_evaluation e WHERE e.referral_id = r.id) AS n FROM referral r WHERE r.id = $1`,
      [id],
    );
    return rows[0]?.status === 'evaluated' && rows[0].n >= n ? rows[0] : undefined;
  });
}

async function taskOf(referralId: string) {
  const { rows } = await db.query(`SELECT * FROM mediation_task WHERE referral_id = $1`, [referralId]);
  return rows;
}

beforeAll(async () => {
  await ensureDatabase(url);
  api = await startApi(env);
  worker = await startWorker(env);
  db = new Client({ connectionString: url });
  await db.connect();
});
afterAll(async () => {
  await worker?.close();
  await api?.close();
  await db?.end();
  // Every decision this file made, replayed with today's code, comes out the same.
  const replay = await replayAll(url);
  await dropDatabase(url);
  expect(replay.checked).toBeGreaterThan(0);
  expect(replay.differences).toEqual([]);
});

describe('a referral to a provider above the norm', () => {
  let referralId: string;
  beforeAll(async () => {
    // Referred provider: two locations; the shorter one (6 + 5 weeks) still exceeds aanmelding 4.
    await addProvider(db, {
      agb: '73000001',
      name: 'GGZ Referred',
      locations: [
        { code: 'a', region: 'utrecht', groups: ['angst'] },
        { code: 'b', region: 'utrecht', groups: ['angst'] },
      ],
    });
    await publish('73000001', [
      { location: 'a', diagnosisGroup: 'angst', aanmeldWeeks: 6, behandelWeeks: 5 },
      { location: 'b', diagnosisGroup: 'angst', aanmeldWeeks: 9, behandelWeeks: 2 },
    ]);
    await addProvider(db, { agb: '73000002', name: 'Alt Same Region', locations: [{ code: 'x', region: 'utrecht', groups: ['angst'] }] });
    await publish('73000002', [{ location: 'x', diagnosisGroup: 'angst', aanmeldWeeks: 2, behandelWeeks: 4 }]);
    await addProvider(db, { agb: '73000003', name: 'Alt Other Region', locations: [{ code: 'x', region: 'amsterdam', groups: ['angst'], postcode: '1011AB' }] });
    await publish('73000003', [{ location: 'x', diagnosisGroup: 'angst', aanmeldWeeks: 1, behandelWeeks: 3 }]);
    // Not contracted by 3311, and one not shorter by two weeks: neither may be offered.
    await addProvider(db, { agb: '73000004', name: 'Alt Uncontracted', locations: [{ code: 'x', region: 'utrecht', groups: ['angst'] }], contracts: [{ uzovi: '7095' }] });
    await publish('73000004', [{ location: 'x', diagnosisGroup: 'angst', aanmeldWeeks: 1, behandelWeeks: 1 }]);
    await addProvider(db, { agb: '73000005', name: 'Alt Too Long', locations: [{ code: 'x', region: 'utrecht', groups: ['angst'] }] });
    await publish('73000005', [{ location: 'x', diagnosisGroup: 'angst', aanmeldWeeks: 5, behandelWeeks: 5 }]);

    referralId = await refer('73000001', 'angst', { verwijsdatum: daysAgo(7) });
  });

  it('gets one open task with ranked alternatives within seconds', async () => {
    const t0 = Date.now();
    const r = await evaluated(referralId);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.verdict).toBe('above-norm');
    const [task, ...more] = await taskOf(referralId);
    expect(more).toHaveLength(0);
    expect(task).toMatchObject({ uzovi: '3311', status: 'open', assignee: null });
    // Accrued 1 week + 6 weeks aanmelding = 7 against 4: 3 weeks over → priority 3.
    expect(task.priority).toBe(3);
    expect(task.alternatives.map((a: any) => [a.rank, a.agb, a.sameRegion, a.withinNorm])).toEqual([
      [1, '73000002', true, true],
      [2, '73000003', false, true],
    ]);
    expect(task.alternatives[0].reason).toMatch(/within the Treeknorm.*same region \(Utrecht\)/);
  });

  it('leaves an access-log entry for the system reading the referral, under the person as the log knows them', async () => {
    const { rows } = await db.query(
      `SELECT a.actor, a.actor_role, a.organisation, a.action, a.purpose, a.details, a.person_index = r.audit_index AS same_person
         FROM access_log a JOIN referral r ON a.resource = 'referral/' || r.id WHERE r.id = $1 AND a.action = 'evaluate'`,
      [referralId],
    );
    expect(rows).toEqual([
      { actor: 'evaluation', actor_role: 'system', organisation: '3311', action: 'evaluate', purpose: 'zorgbemiddeling', details: { verdict: 'above-norm' }, same_person: true },
    ]);
  });

  it('stores what the decision used, so that it can be explained and replayed', async () => {
    const { rows } = await db.query(`SELECT * FROM referral_evaluation WHERE referral_id = $1`, [referralId]);
    expect(rows).toHaveLength(1);
    const e = rows[0];
    expect(e).toMatchObject({ trigger: 'intake', verdict: 'above-norm', phase: 'phase-1' });
    expect(e.explanation).toMatchObject({
      referralDate: daysAgo(7),
      evaluationDate: today,
      normSet: { name: 'Treeknorm GGZ', maxWeeks: { aanmelding: 4, behandeling: 10, totaal: 14 } },
      result: { verdict: 'above-norm', accruedWeeks: 1, aboveNormStages: ['aanmelding'] },
      mediation: 'task-created',
      alternatives: 2,
    });
    expect(e.explanation.waits).toHaveLength(2);
    expect(e.explanation.waits[0]).toMatchObject({ month: thisMonth });
    const [task] = await taskOf(referralId);
    expect(e.task_id).toBe(task.id);
    expect(task.created_by_evaluation_id).toBe(e.id);
  });

  it('explains the decision history in plain terms to the mediator', async () => {
    const res = await http(api.url, 'GET', `/v1/referrals/${referralId}/evaluations`, { token: mediator() });
    expect(res.status).toBe(200);
    expect(res.body.evaluations).toHaveLength(1);
    const summary = res.body.evaluations[0].summary.join(' ');
    expect(summary).toMatch(/^Above the norm "Treeknorm GGZ"/);
    expect(summary).toMatch(/aanmelding \(to intake\): expected 7 weeks against a norm of 4, 3 weeks over/);
    expect(summary).toMatch(/phase 1 .*a mediation task was created with 2 alternatives/);
    const ref = await http(api.url, 'GET', `/v1/referrals/${referralId}`, { token: mediator() });
    expect(ref.status).toBe(200);
    expect(ref.body).toMatchObject({ status: 'evaluated', verdict: 'above-norm' });
  });

  it('re-evaluation on new figures updates the open task, never a second one', async () => {
    const [before] = await taskOf(referralId);
    const receipt = await publish('73000001', [{ location: 'a', diagnosisGroup: 'angst', aanmeldWeeks: 12, behandelWeeks: 5 }]);
    expect(receipt.reevaluating).toBe(1);
    await evaluated(referralId, 2);
    const tasks = await taskOf(referralId);
    expect(tasks).toHaveLength(1);
    expect(tasks[0].id).toBe(before.id);
    expect(tasks[0].version).toBe(before.version + 1);
    // Location b (9 weeks) is now the shortest aanmelding: 1 + 9 = 10, 6 over → priority 4.
    expect(tasks[0].priority).toBe(4);
    const { rows } = await db.query(`SELECT trigger, explanation->>'mediation' AS m FROM referral_evaluation WHERE referral_id = $1 ORDER BY evaluated_at`, [referralId]);
    expect(rows.map((r) => [r.trigger, r.m])).toEqual([
      ['intake', 'task-created'],
      ['wait-times', 'task-updated'],
    ]);
  });

  it('re-evaluates a claimed task’s referral but leaves the task with its assignee, alternatives untouched', async () => {
    await db.query(`UPDATE mediation_task SET status = 'in-progress', assignee = 'mediator-1' WHERE referral_id = $1`, [referralId]);
    // Still above the norm (1 week waited + 6), so the claim stands.
    const receipt = await publish('73000001', [{ location: 'a', diagnosisGroup: 'angst', aanmeldWeeks: 6, behandelWeeks: 5 }]);
    expect(receipt.reevaluating).toBe(1);
    await evaluated(referralId, 3);
    const [task] = await taskOf(referralId);
    expect(task).toMatchObject({ status: 'in-progress', assignee: 'mediator-1', no_new_contact_since: null });
    expect(task.alternatives).toHaveLength(2);
    const { rows } = await db.query(`SELECT explanation->>'mediation' AS m FROM referral_evaluation WHERE referral_id = $1 ORDER BY evaluated_at DESC LIMIT 1`, [referralId]);
    expect(rows[0].m).toBe('task-kept');
  });

  it('catches up with a registry change within seconds: a new contract brings a new alternative', async () => {
    await db.query(`UPDATE mediation_task SET status = 'open', assignee = NULL WHERE referral_id = $1`, [referralId]);
    // Back above the norm, with the two alternatives of before.
    await publish('73000001', [{ location: 'a', diagnosisGroup: 'angst', aanmeldWeeks: 12, behandelWeeks: 5 }]);
    await evaluated(referralId, 4);
    expect((await taskOf(referralId))[0].alternatives).toHaveLength(2);
    // 73000004 was contracted by another insurer only; now 3311 contracts it too (registry route).
    // A worker that catches up every second (this file's others don't: fixtures here are written
    // straight into the registry, and each would re-evaluate everything at a random moment).
    const catcher = await startWorker({ ...env, EVALUATION_CATCH_UP_SECONDS: '1' });
    let task: any;
    const t0 = Date.now();
    try {
      const contract = await http(api.url, 'POST', '/v1/providers/73000004/contracts', { token: admin(), body: { uzovi: '3311', validFrom: '2025-01-01' } });
      expect(contract.status).toBe(201);
      task = await waitFor(async () => {
        const [t] = await taskOf(referralId);
        return t.alternatives.some((a: any) => a.agb === '73000004') && t;
      }, 10_000);
      await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM referral WHERE status = 'pending'`)).rows[0].n === 0);
    } finally {
      await catcher.close();
    }
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(task.alternatives.map((a: any) => a.agb)).toContain('73000004');
    const { rows } = await db.query(`SELECT trigger FROM referral_evaluation WHERE referral_id = $1 ORDER BY evaluated_at DESC LIMIT 1`, [referralId]);
    expect(rows[0].trigger).toBe('registry');
  });

  it("leaves a referral whose task was closed alone when new figures come, and still re-evaluates the provider's open ones", async () => {
    await db.query(`UPDATE mediation_task SET status = 'closed', outcome = 'prefers-to-wait', closed_at = now() WHERE referral_id = $1`, [referralId]);
    const open = await refer('73000001', 'angst', { verwijsdatum: daysAgo(3) });
    await evaluated(open, 1);
    const [{ generation }] = (await db.query(`SELECT generation FROM referral WHERE id = $1`, [referralId])).rows;
    const receipt = await publish('73000001', [{ location: 'a', diagnosisGroup: 'angst', aanmeldWeeks: 13, behandelWeeks: 5 }]);
    expect(receipt.reevaluating).toBe(1);
    await evaluated(open, 2);
    expect((await db.query(`SELECT status, generation FROM referral WHERE id = $1`, [referralId])).rows[0]).toEqual({ status: 'evaluated', generation });
  });
});

describe('a referral within the norm', () => {
  let referralId: string;
  beforeAll(async () => {
    await addProvider(db, { agb: '73000011', name: 'GGZ Quick', locations: [{ code: 'a', region: 'twente', groups: ['trauma'], postcode: '7511AB' }] });
    await publish('73000011', [{ location: 'a', diagnosisGroup: 'trauma', aanmeldWeeks: 2, behandelWeeks: 6 }]);
    referralId = await refer('73000011', 'trauma');
  });

  it('gets no task, and no mediator can see it', async () => {
    expect((await evaluated(referralId)).verdict).toBe('within-norm');
    expect(await taskOf(referralId)).toHaveLength(0);
    expect((await http(api.url, 'GET', `/v1/referrals/${referralId}`, { token: mediator() })).status).toBe(404);
    expect((await http(api.url, 'GET', `/v1/referrals/${referralId}/evaluations`, { token: mediator() })).status).toBe(404);
    expect((await http(api.url, 'GET', `/v1/referrals/${referralId}/evaluations`, { token: token('mediation-lead', { uzovi: ['3311'] }) })).status).toBe(404);
  });

  it('is visible in the decision history to an auditor of its insurer, not of another', async () => {
    const res = await http(api.url, 'GET', `/v1/referrals/${referralId}/evaluations`, { token: auditor() });
    expect(res.status).toBe(200);
    expect(res.body.evaluations[0].summary.join(' ')).toMatch(/^Within the norm.*no mediation is offered\.$/);
    expect((await http(api.url, 'GET', `/v1/referrals/${referralId}/evaluations`, { token: token('auditor', { uzovi: ['7095'] }) })).status).toBe(404);
  });

  it('gets a task when new figures push its provider above the norm', async () => {
    const receipt = await publish('73000011', [{ location: 'a', diagnosisGroup: 'trauma', aanmeldWeeks: 8, behandelWeeks: 6 }]);
    expect(receipt.reevaluating).toBe(1);
    expect((await evaluated(referralId, 2)).verdict).toBe('above-norm');
    expect(await taskOf(referralId)).toHaveLength(1);
  });
});

describe('a referral to a provider without current figures', () => {
  it('is recorded as no-data, counted, and evaluated again when figures arrive', async () => {
    await addProvider(db, { agb: '73000021', name: 'GGZ Silent', locations: [{ code: 'a', region: 'zeeland', groups: ['eetstoornissen'], postcode: '4331AB' }] });
    // Stale figures (three months back) do not count.
    const stale = await http(api.url, 'POST', '/v1/providers/73000021/wait-times', {
      token: provider('73000021'),
      body: { month: monthsAgo(3), figures: [{ location: 'a', diagnosisGroup: 'eetstoornissen', aanmeldWeeks: 20, behandelWeeks: 20 }] },
    });
    expect(stale.status).toBe(201);
    const id = await refer('73000021', 'eetstoornissen');
    expect((await evaluated(id)).verdict).toBe('no-data');
    const counts = await http(api.url, 'GET', '/v1/evaluations/verdicts', { token: token('mediation-lead', { uzovi: ['3311'] }) });
    expect(counts.body).toContainEqual({ uzovi: '3311', status: 'evaluated', verdict: 'no-data', referrals: 1 });

    const current = await http(api.url, 'GET', '/v1/providers/73000021/wait-times?includeStale=true', { token: provider('73000021') });
    expect(current.body).toEqual([expect.objectContaining({ location: 'a', stale: true, month: monthsAgo(3) })]);

    await publish('73000021', [{ location: 'a', diagnosisGroup: 'eetstoornissen', aanmeldWeeks: 10, behandelWeeks: 10 }], monthsAgo(1));
    expect((await evaluated(id, 2)).verdict).toBe('above-norm');
    expect(await taskOf(id)).toHaveLength(1);
  });
});

describe('published waiting times', () => {
  beforeAll(async () => {
    await addProvider(db, { agb: '73000031', name: 'GGZ Reporter', locations: [{ code: 'a', region: 'drenthe', groups: ['depressie', 'angst'], postcode: '9401AB' }] });
  });

  it('refuses a bad report whole, naming each figure and field', async () => {
    const res = await http(api.url, 'POST', '/v1/providers/73000031/wait-times', {
      token: provider('73000031'),
      body: {
        month: thisMonth,
        figures: [
          { location: 'a', diagnosisGroup: 'depressie', aanmeldWeeks: 2, behandelWeeks: 3 },
          { location: 'nope', diagnosisGroup: 'depressie', aanmeldWeeks: 2, behandelWeeks: 3 },
          { location: 'a', diagnosisGroup: 'trauma', aanmeldWeeks: 2, behandelWeeks: 3 },
          { location: 'a', diagnosisGroup: 'depressie', aanmeldWeeks: 2, behandelWeeks: 3 },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([
      { field: 'figures[1].location', reason: 'is not a location of this provider in the registry' },
      { field: 'figures[2].diagnosisGroup', reason: 'is not a diagnosis group this location treats (per the registry)' },
      { field: 'figures[3]', reason: 'repeats a location and diagnosis group given earlier in this report' },
    ]);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM wait_time w JOIN provider_location l ON l.id = w.location_id WHERE l.agb = '73000031'`);
    expect(rows[0].n).toBe(0);
  });

  it.each([
    [{ month: '2026-13', figures: [] }, 'month', 'must be a month in the form YYYY-MM'],
    [{ month: thisMonth, figures: [] }, 'figures', 'must hold at least one figure'],
    [{ month: thisMonth, figures: [{ location: 'a', diagnosisGroup: 'angst', aanmeldWeeks: 2.25, behandelWeeks: 3 }] }, 'figures[0].aanmeldWeeks', 'must have at most one decimal'],
    [{ month: thisMonth, figures: [{ location: 'a', diagnosisGroup: 'angst', aanmeldWeeks: -1, behandelWeeks: 3 }] }, 'figures[0].aanmeldWeeks', 'must be between 0 and 260 weeks'],
    [{ month: thisMonth, figures: [{ location: 'a', diagnosisGroup: 'angst', aanmeldWeeks: 1, behandelWeeks: '3' }] }, 'figures[0].behandelWeeks', 'must be a number of weeks'],
    [
      { month: thisMonth, figures: [{ location: 'a', diagnosisGroup: 'rouw', aanmeldWeeks: 1, behandelWeeks: 3 }] },
      'figures[0].diagnosisGroup',
      expect.stringMatching(/^must be one of/),
    ],
    [{ month: '2099-01', figures: [{ location: 'a', diagnosisGroup: 'angst', aanmeldWeeks: 1, behandelWeeks: 3 }] }, 'month', 'must not be in the future'],
    [{ month: thisMonth, figures: [{ location: 'a', diagnosisGroup: 'angst', aanmeldWeeks: 1, behandelWeeks: 3, extra: 1 }] }, 'figures[0].extra', 'is not an allowed field'],
  ])('refuses %j naming %s', async (body, field, reason) => {
    const res = await http(api.url, 'POST', '/v1/providers/73000031/wait-times', { token: provider('73000031'), body });
    expect(res.status).toBe(400);
    expect(res.body.details).toContainEqual({ field, reason });
  });

  it("refuses another provider's AGB, an unknown AGB and a malformed one", async () => {
    const body = { month: thisMonth, figures: [{ location: 'a', diagnosisGroup: 'angst', aanmeldWeeks: 1, behandelWeeks: 3 }] };
    expect((await http(api.url, 'POST', '/v1/providers/73000031/wait-times', { token: provider('73000001'), body })).status).toBe(403);
    expect((await http(api.url, 'POST', '/v1/providers/73999999/wait-times', { token: provider('73999999'), body })).status).toBe(404);
    const bad = await http(api.url, 'POST', '/v1/providers/7300/wait-times', { token: provider('73000031'), body });
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual([{ field: 'agb', reason: 'must be 8 digits' }]);
  });

  it('keeps history; the latest month, then the latest submission, is current', async () => {
    const fig = (w: number) => [{ location: 'a', diagnosisGroup: 'angst', aanmeldWeeks: w, behandelWeeks: 1 }];
    await publish('73000031', fig(5), monthsAgo(1));
    await publish('73000031', fig(3), thisMonth);
    await publish('73000031', fig(4), thisMonth);
    await publish('73000031', fig(9), monthsAgo(2)); // a late correction of an older month
    const res = await http(api.url, 'GET', '/v1/providers/73000031/wait-times', { token: mediator() });
    expect(res.body).toEqual([expect.objectContaining({ location: 'a', diagnosisGroup: 'angst', month: thisMonth, aanmeldWeeks: 4, behandelWeeks: 1, stale: false })]);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM wait_time w JOIN provider_location l ON l.id = w.location_id WHERE l.agb = '73000031'`);
    expect(rows[0].n).toBe(4);
  });
});

describe('norm sets and the mediation policy (run last: they change what applies to everyone)', () => {
  let treeknormId: string;
  let withinId: string;
  beforeAll(async () => {
    await addProvider(db, { agb: '73000041', name: 'GGZ Middle', locations: [{ code: 'a', region: 'friesland', groups: ['bipolair'], postcode: '8911AB' }] });
    await publish('73000041', [{ location: 'a', diagnosisGroup: 'bipolair', aanmeldWeeks: 3, behandelWeeks: 8 }]);
    withinId = await refer('73000041', 'bipolair', { verwijsdatum: daysAgo(1) });
    expect((await evaluated(withinId)).verdict).toBe('within-norm');
    const sets = await http(api.url, 'GET', '/v1/norm-sets', { token: admin() });
    treeknormId = sets.body.find((s: any) => s.name === 'Treeknorm GGZ').id;
  });

  it('refuses an invalid set (400) and an overlapping one (409), storing nothing', async () => {
    const bad = await http(api.url, 'POST', '/v1/norm-sets', {
      token: admin(),
      body: { name: 'x', sector: 'ggz', validFrom: '2027-02-30', maxWeeks: { aanmelding: 4, behandeling: 10 }, colour: 'red' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual([{ field: 'colour', reason: 'is not an allowed field' }]);
    const bad2 = await http(api.url, 'POST', '/v1/norm-sets', {
      token: admin(),
      body: { name: 'x', sector: 'ggz', validFrom: '2027-02-30', maxWeeks: { aanmelding: 4, behandeling: 10 } },
    });
    expect(bad2.body.details).toEqual(
      expect.arrayContaining([
        { field: 'validFrom', reason: 'must be a real date YYYY-MM-DD' },
        { field: 'maxWeeks.totaal', reason: 'must be a number of weeks above 0 and at most 104' },
      ]),
    );
    const overlap = await http(api.url, 'POST', '/v1/norm-sets', {
      token: admin(),
      body: { name: 'Strict', sector: 'ggz', validFrom: '2027-01-01', maxWeeks: { aanmelding: 2, behandeling: 6, totaal: 8 } },
    });
    expect(overlap.status).toBe(409);
    expect(overlap.body.details[0]).toMatchObject({ field: 'validFrom', reason: expect.stringContaining('Treeknorm GGZ') });
    expect((await http(api.url, 'POST', '/v1/norm-sets', { token: mediator(), body: {} })).status).toBe(403);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM norm_set`);
    expect(rows[0].n).toBe(2);
  });

  it('a stricter set for recent referral dates gives an open within-norm referral a task', async () => {
    const start = daysAgo(10);
    const ended = await http(api.url, 'PATCH', `/v1/norm-sets/${treeknormId}`, { token: admin(), body: { validUntil: start } });
    expect(ended.status).toBe(200);
    expect(ended.body.validUntil).toBe(start);
    // Until a new set starts, recent referrals have no norm to be judged by.
    await evaluated(withinId, 2);
    const { rows: gap } = await db.query(`SELECT explanation->'normSet' AS n, verdict FROM referral_evaluation WHERE referral_id = $1 AND trigger = 'norm-set'`, [withinId]);
    // A distinct verdict, counted apart from missing figures.
    expect(gap).toEqual([{ n: null, verdict: 'no-norm' }]);
    const counts = await http(api.url, 'GET', '/v1/evaluations/verdicts', { token: admin() });
    expect(counts.body).toContainEqual(expect.objectContaining({ verdict: 'no-norm' }));
    const strict = await http(api.url, 'POST', '/v1/norm-sets', {
      token: admin(),
      body: { name: 'Strict GGZ', sector: 'ggz', validFrom: start, maxWeeks: { aanmelding: 2, behandeling: 6, totaal: 8 } },
    });
    expect(strict.status).toBe(201);
    expect(strict.body.reevaluating).toBeGreaterThanOrEqual(1);
    const r = await evaluated(withinId, 3); // intake, the end of the old set, the new set
    expect(r.verdict).toBe('above-norm');
    expect(await taskOf(withinId)).toHaveLength(1);
    const { rows } = await db.query(`SELECT norm_set_id, trigger FROM referral_evaluation WHERE referral_id = $1 ORDER BY evaluated_at DESC LIMIT 1`, [withinId]);
    expect(rows[0]).toEqual({ norm_set_id: strict.body.id, trigger: 'norm-set' });
  });

  it('the phase-2 switch lets within-norm referrals through only from its date', async () => {
    await addProvider(db, { agb: '73000051', name: 'GGZ Fast', locations: [{ code: 'a', region: 'groningen', groups: ['schizofrenie'], postcode: '9711AB' }] });
    await publish('73000051', [{ location: 'a', diagnosisGroup: 'schizofrenie', aanmeldWeeks: 1, behandelWeeks: 2 }]);
    const id = await refer('73000051', 'schizofrenie', { verwijsdatum: today });
    await evaluated(id);

    const tomorrow = amsterdamDate(new Date(Date.now() + 86_400_000));
    const later = await http(api.url, 'PUT', '/v1/mediation-policy', { token: admin(), body: { phase2From: tomorrow } });
    expect(later.status).toBe(200);
    expect((await evaluated(id, 2)).verdict).toBe('within-norm');
    expect(await taskOf(id)).toHaveLength(0);

    const now = await http(api.url, 'PUT', '/v1/mediation-policy', { token: admin(), body: { phase2From: today } });
    expect(now.status).toBe(200);
    expect((await evaluated(id, 3)).verdict).toBe('within-norm');
    const [task] = await taskOf(id);
    expect(task).toMatchObject({ status: 'open', priority: 1 });
    const { rows } = await db.query(`SELECT phase, trigger FROM referral_evaluation WHERE referral_id = $1 ORDER BY evaluated_at`, [id]);
    expect(rows.map((r) => [r.trigger, r.phase])).toEqual([
      ['intake', 'phase-1'],
      ['policy', 'phase-1'],
      ['policy', 'phase-2'],
    ]);
    const policy = await http(api.url, 'GET', '/v1/mediation-policy', { token: auditor() });
    expect(policy.body.current).toMatchObject({ phase1From: '2026-01-01', phase2From: today, changedBy: 'admin-1' });
    expect(policy.body.history).toHaveLength(3);
    const bad = await http(api.url, 'PUT', '/v1/mediation-policy', { token: admin(), body: { phase2From: '2025-01-01' } });
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual([{ field: 'phase2From', reason: 'must be null or a real date after phase1From' }]);
  });

  it('succeeds a norm set in one step: the old one ends where the successor starts, no moment without a set', async () => {
    const sets = (await http(api.url, 'GET', '/v1/norm-sets', { token: admin() })).body;
    const strict = sets.find((s: any) => s.name === 'Strict GGZ');
    const body = { name: 'Treeknorm GGZ C4', sector: 'ggz', validFrom: daysAgo(3), maxWeeks: { aanmelding: 3, behandeling: 8, totaal: 11 } };
    const path = `/v1/norm-sets/${strict.id}/successor`;
    // Refused, with nothing changed: another scope; a start not after the set it succeeds; a bad field; not an admin.
    const wrongScope = await http(api.url, 'POST', path, { token: admin(), body: { ...body, category: 'cruciaal' } });
    expect(wrongScope.status).toBe(400);
    expect(wrongScope.body.details).toEqual([{ field: 'category', reason: 'must be null, as in the set it succeeds' }]);
    const tooEarly = await http(api.url, 'POST', path, { token: admin(), body: { ...body, validFrom: strict.validFrom } });
    expect(tooEarly.status).toBe(400);
    expect(tooEarly.body.details[0].field).toBe('validFrom');
    expect((await http(api.url, 'POST', path, { token: admin(), body: { ...body, maxWeeks: { aanmelding: -1, behandeling: 8, totaal: 11 } } })).status).toBe(400);
    expect((await http(api.url, 'POST', path, { token: mediator(), body })).status).toBe(403);
    expect((await http(api.url, 'POST', `/v1/norm-sets/00000000-0000-4000-8000-000000000000/successor`, { token: admin(), body })).status).toBe(404);
    expect((await http(api.url, 'GET', `/v1/norm-sets/${strict.id}`, { token: admin() })).body.validUntil).toBeNull();

    const res = await http(api.url, 'POST', path, { token: admin(), body });
    expect(res.status).toBe(201);
    expect(res.body.ended).toMatchObject({ id: strict.id, validUntil: body.validFrom });
    expect(res.body.started).toMatchObject({ name: 'Treeknorm GGZ C4', validFrom: body.validFrom, validUntil: null });
    expect(res.body.reevaluating).toBeGreaterThan(0);
    // Every day from 2000 on has exactly one general GGZ set.
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM generate_series('2000-01-01'::date, current_date + 30, '1 day') d
        WHERE (SELECT count(*) FROM norm_set s WHERE s.sector = 'ggz' AND s.urgency IS NULL AND s.category IS NULL
                 AND s.valid_from <= d AND (s.valid_until IS NULL OR d < s.valid_until)) <> 1`,
    );
    expect(rows[0].n).toBe(0);
    await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM referral WHERE status = 'pending'`)).rows[0].n === 0);
  });

  it('the daily sweep re-evaluates open referrals once a day', async () => {
    await db.query(`DELETE FROM daily_run`);
    // A worker whose daily hour has passed claims today on its first tick.
    const daily = await startWorker({ ...env, DAILY_REEVALUATION: 'true', DAILY_REEVALUATION_HOUR: '0' });
    try {
      const run = await waitFor(
        async () => (await db.query(`SELECT * FROM daily_run WHERE kind = 'reevaluate'`)).rows[0]?.affected != null && (await db.query(`SELECT * FROM daily_run`)).rows,
      );
      expect(run).toHaveLength(1);
      expect(run[0].affected).toBeGreaterThan(0);
      await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM referral WHERE status = 'pending'`)).rows[0].n === 0);
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM referral_evaluation WHERE trigger = 'daily'`);
      expect(rows[0].n).toBe(run[0].affected);
    } finally {
      await daily.close();
    }
  });
});
