/**
 * The evaluation report against a scenario with known outcomes. Referrals are delivered through
 * the real intake, evaluated by the real worker, their tasks claimed, contacted and closed through
 * the worklist API (an accepted alternative, unreachable after three attempts, a consent
 * withdrawal…), snapshots uploaded and linked by the TTP. What the API cannot date in the past —
 * when a referral arrived, a task was made or first contacted, earlier months' waiting figures —
 * is then moved into earlier months in the database. Every figure is checked against numbers
 * worked out by hand below from the scenario, not from the report's SQL.
 *
 * A TTP run links every snapshot in force, so this file works in a database of its own.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { addWorkingDays, amsterdamDate, syntheticBsn } from '@app/core';
import { ensureDatabase } from '@app/platform';
import { http, referralMessage, RunningApi, RunningWorker, startApi, startWorker, token, waitFor } from './support/harness';
import { addProvider, monthsAgo } from './support/registry';
import { replayThenDrop } from './support/replay';

const url = (() => {
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.pathname = `${u.pathname}_rep${randomBytes(3).toString('hex')}`;
  return u.toString();
})();
const env = {
  DATABASE_URL: url,
  QUEUE_PREFIX: `${process.env.TEST_QUEUE_PREFIX}_rep`,
  SWEEPER_INTERVAL_SECONDS: '1',
  SWEEPER_DELAY_SECONDS: '2',
  TTP_LINKAGE_CRON: 'off',
  UNREACHABLE_AFTER_ATTEMPTS: '3',
  TASK_FIRST_CONTACT_WORKING_DAYS: '3',
};

let api: RunningApi;
let worker: RunningWorker;
let db: Client;

const A = '8931'; // the insurer under test
const B = '8932'; // another insurer, whose figures must never show in A's report
const P1 = '73980001'; // above the norm for depressie (8 + 12 weeks) and, for angst, only for behandeling (3 + 10.5)
const P2 = '73980002'; // within the norm (2 + 6 weeks): the alternative
const P3 = '73980003'; // in the registry, never delivers figures
const UNKNOWN = '73980009'; // not in the registry
const M0 = monthsAgo(0);
const M1 = monthsAgo(1);
const M2 = monthsAgo(2);
const today = amsterdamDate(new Date());

const lead = (uzovi: string) => token('mediation-lead', { uzovi: [uzovi], subject: `lead-${uzovi}` });
const mediator = (uzovi: string) => token('mediator', { uzovi: [uzovi], subject: `mediator-${uzovi}` });
const admin = () => token('admin', { subject: 'admin-1' });
const report = (t: string, query = `from=${M2}&to=${M0}`, headers?: Record<string, string>) => http(api.url, 'GET', `/v1/reports/mediation?${query}`, { token: t, headers });
const monthOf = (body: any, month: string) => body.months.find((m: any) => m.month === month);

/** Delivers referrals (count per provider and group) for an insurer; returns their ids in order. */
async function deliver(uzovi: string, spec: [agb: string, group: string, n: number][]): Promise<Record<string, string[]>> {
  const messages = spec.flatMap(([agb, klachtenprofiel, n]) => Array.from({ length: n }, () => referralMessage({ uzovi, agb, klachtenprofiel })));
  const res = await http(api.url, 'POST', '/v1/referrals/batch', { token: token('referral-service', { uzovi: [uzovi] }), body: { messages } });
  expect(res.status).toBe(200);
  const ids: string[] = res.body.results.map((r: any) => r.referralId);
  expect(ids.every(Boolean)).toBe(true);
  const out: Record<string, string[]> = {};
  let i = 0;
  for (const [agb, group, n] of spec) (out[`${agb}|${group}`] ??= []).push(...ids.slice(i, (i += n)));
  await waitFor(async () => {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM referral WHERE id = ANY($1::uuid[]) AND status = 'evaluated'`, [ids]);
    return rows[0].n === ids.length;
  }, 30_000);
  return out;
}

/** The tasks of these referrals, in the same order (undefined where none). */
async function tasksOf(referralIds: string[]): Promise<string[]> {
  const { rows } = await db.query(`SELECT referral_id, id FROM mediation_task WHERE referral_id = ANY($1::uuid[])`, [referralIds]);
  const byReferral = new Map(rows.map((r) => [r.referral_id, r.id]));
  return referralIds.map((id) => byReferral.get(id));
}

/** Claims a task and makes contact attempts through the worklist API; returns the task's version. */
async function claimAndContact(taskId: string, uzovi: string, results: string[]): Promise<number> {
  const claim = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/claim`, { token: mediator(uzovi), body: { version: 1 } });
  expect(claim.status).toBe(200);
  let version = claim.body.version;
  for (const result of results) {
    const res = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/contact-attempts`, { token: mediator(uzovi), body: { version, channel: 'phone', result } });
    expect(res.status).toBe(200);
    version = res.body.version;
  }
  return version;
}
async function close(taskId: string, uzovi: string, version: number, body: Record<string, unknown>) {
  const res = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/outcome`, { token: mediator(uzovi), body: { version, ...body } });
  expect(res.status).toBe(200);
}

/** Moves a cohort into day `day` of an earlier month: arrival, evaluation and task creation at noon. */
async function backdate(referralIds: string[], day: string) {
  await db.query(
    `UPDATE referral SET received_at = ($2::timestamp AT TIME ZONE 'Europe/Amsterdam'), status_changed_at = ($2::timestamp AT TIME ZONE 'Europe/Amsterdam'),
            evaluated_at = ($3::timestamp AT TIME ZONE 'Europe/Amsterdam') WHERE id = ANY($1::uuid[])`,
    [referralIds, `${day} 12:00`, `${day} 12:05`],
  );
  await db.query(`UPDATE referral_evaluation SET evaluated_at = ($2::timestamp AT TIME ZONE 'Europe/Amsterdam') WHERE referral_id = ANY($1::uuid[])`, [
    referralIds,
    `${day} 12:05`,
  ]);
  // The first judgement keeps a copy of the arrival time (fixed at intake, except here).
  await db.query(`UPDATE referral_judgement SET received_at = ($2::timestamp AT TIME ZONE 'Europe/Amsterdam') WHERE referral_id = ANY($1::uuid[])`, [referralIds, `${day} 12:00`]);
  await db.query(`UPDATE mediation_task SET created_at = ($2::timestamp AT TIME ZONE 'Europe/Amsterdam'), due_date = $3::date WHERE referral_id = ANY($1::uuid[])`, [
    referralIds,
    `${day} 12:05`,
    addWorkingDays(day, 3),
  ]);
}
/** First contact `k` working days after the task was made (14:00), and a closing an hour later if closed. */
async function firstContact(taskId: string, day: string, k: number) {
  const at = `${addWorkingDays(day, k)} 14:00`;
  await db.query(
    `UPDATE mediation_task SET first_contact_at = ($2::timestamp AT TIME ZONE 'Europe/Amsterdam'),
            closed_at = CASE WHEN status = 'closed' THEN ($2::timestamp AT TIME ZONE 'Europe/Amsterdam') + interval '1 hour' END WHERE id = $1`,
    [taskId, at],
  );
}

// The scenario's days: a working day early in each earlier month.
const D1 = addWorkingDays(`${M1}-07`, 1);
const D2 = addWorkingDays(`${M2}-07`, 1);
/** Working days to first contact of A's 13 tasks in M1 (10 depressie, then 3 angst). */
const A_CONTACT_DAYS = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 9];

let p2Location: string;

beforeAll(async () => {
  await ensureDatabase(url);
  api = await startApi(env);
  worker = await startWorker(env);
  db = new Client({ connectionString: url });
  await db.connect();

  const contracts = [{ uzovi: A }, { uzovi: B }];
  const p1 = await addProvider(db, { agb: P1, name: 'GGZ Lang', locations: [{ code: 'a', region: 'utrecht', groups: ['depressie', 'angst'] }], contracts });
  p2Location = (await addProvider(db, { agb: P2, name: 'GGZ Kort', locations: [{ code: 'a', region: 'utrecht', groups: ['depressie'] }], contracts })).a;
  await addProvider(db, { agb: P3, name: 'GGZ Stil', locations: [{ code: 'a', region: 'utrecht', groups: ['depressie'] }], contracts });

  // This month's figures through the API; the figures P1 and P2 had in earlier months (the API
  // takes no past submission date) straight into the table.
  for (const [agb, figures] of [
    [
      P1,
      [
        { location: 'a', diagnosisGroup: 'depressie', aanmeldWeeks: 8, behandelWeeks: 12 },
        { location: 'a', diagnosisGroup: 'angst', aanmeldWeeks: 3, behandelWeeks: 10.5 },
      ],
    ],
    [P2, [{ location: 'a', diagnosisGroup: 'depressie', aanmeldWeeks: 2, behandelWeeks: 6 }]],
  ] as const) {
    const res = await http(api.url, 'POST', `/v1/providers/${agb}/wait-times`, { token: token('provider', { agb, subject: `provider-${agb}` }), body: { month: M0, figures } });
    expect(res.status).toBe(201);
  }
  for (const [location, month] of [
    [p1.a, M2],
    [p1.a, M1],
    [p2Location, M2],
  ]) {
    await db.query(
      `INSERT INTO wait_time (location_id, diagnosis_group, month, aanmeld_weeks, behandel_weeks, submitted_at, submitted_by)
       VALUES ($1, 'depressie', $2::date, 8, 12, ($3::timestamp AT TIME ZONE 'Europe/Amsterdam'), 'fixture')`,
      [location, `${month}-01`, `${month}-03 09:00`],
    );
  }

  // Month M1 for insurer A: 23 referrals, 18 of them judged (5 to providers without figures).
  const a1 = await deliver(A, [
    [P1, 'depressie', 10],
    [P1, 'angst', 3],
    [P2, 'depressie', 5],
    [P3, 'depressie', 3],
    [UNKNOWN, 'depressie', 2],
  ]);
  // Month M1 for insurer B: 7 referrals above the norm.
  const b1 = await deliver(B, [[P1, 'depressie', 7]]);
  // Month M2 for insurer A: 8 referrals, 6 judged.
  const a2 = await deliver(A, [
    [P1, 'depressie', 6],
    [P3, 'depressie', 2],
  ]);

  // A's 13 tasks of M1: six accepted alternatives (one at 10 weeks instead of the offered 8), one
  // prefers to wait, one unreachable after three failed attempts, one consent withdrawal, four
  // still being worked. Every one of them had a contact attempt.
  const dep = await tasksOf(a1[`${P1}|depressie`]);
  const angst = await tasksOf(a1[`${P1}|angst`]);
  expect([...dep, ...angst].every(Boolean)).toBe(true);
  for (let i = 0; i < 6; i++) {
    const v = await claimAndContact(dep[i], A, ['reached']);
    await close(dep[i], A, v, { outcome: 'accepted-alternative', locationId: p2Location, ...(i === 5 ? { expectedWeeks: 10 } : {}) });
  }
  await close(dep[6], A, await claimAndContact(dep[6], A, ['reached']), { outcome: 'prefers-to-wait' });
  await close(dep[7], A, await claimAndContact(dep[7], A, ['no-answer', 'voicemail', 'no-answer']), { outcome: 'unreachable' });
  await claimAndContact(dep[8], A, ['reached']);
  const withdrawal = await http(api.url, 'POST', '/v1/consent-withdrawals', { token: token('referral-service', { uzovi: [A] }), body: { referralId: a1[`${P1}|depressie`][8] } });
  expect(withdrawal.status).toBe(200);
  await claimAndContact(dep[9], A, ['reached']);
  for (const t of angst) await claimAndContact(t, A, ['reached']);

  // B's 7 tasks of M1: five accepted alternatives at the offered 8 weeks, two still open.
  const bTasks = await tasksOf(b1[`${P1}|depressie`]);
  for (const [i, t] of bTasks.entries()) {
    const v = await claimAndContact(t, B, ['reached']);
    if (i < 5) await close(t, B, v, { outcome: 'accepted-alternative', locationId: p2Location });
  }

  // Into the past: M1 and M2 cohorts; first contacts of M1 at known working-day distances.
  await backdate([...Object.values(a1).flat(), ...b1[`${P1}|depressie`]], D1);
  await backdate(Object.values(a2).flat(), D2);
  for (const [i, t] of [...dep, ...angst].entries()) await firstContact(t, D1, A_CONTACT_DAYS[i]);
  for (const t of bTasks) await firstContact(t, D1, 0);

  // This month (M0), insurer A: 5 referrals above the norm at P1, 5 within at P2.
  await deliver(A, [
    [P1, 'depressie', 5],
    [P2, 'depressie', 5],
  ]);

  // The TTP: P1's list holds five people waiting 20 weeks for intake (declared: 8 → flagged),
  // P2's five people 2 weeks (declared: 2 → not flagged). One run, finished now (in M0).
  let seed = 61_000_000 + Math.floor(Math.random() * 1_000_000) * 7;
  const registered = (days: number) => amsterdamDate(new Date(Date.now() - days * 86_400_000));
  for (const [agb, days] of [
    [P1, 140],
    [P2, 14],
  ] as const) {
    const rows = Array.from({ length: 5 }, (_, i) => `K${i},${syntheticBsn((seed += 13))},,a,depressie,${registered(days)},,waiting-intake,false`);
    const res = await http(api.url, 'POST', '/v1/ttp/snapshots', {
      token: token('provider', { agb, subject: `provider-${agb}` }),
      rawBody: ['clientRef,bsn,prePseudonym,location,diagnosisGroup,registeredOn,intakeOn,stage,waitsForThisProvider', ...rows].join('\n') + '\n',
      headers: { 'content-type': 'text/csv' },
    });
    expect(res.status).toBe(201);
  }
  const operator = token('ttp-operator', { subject: 'ttp-op' });
  const start = await http(api.url, 'POST', '/v1/ttp/runs', { token: operator });
  expect(start.status).toBe(202);
  const run = await waitFor(async () => {
    const res = await http(api.url, 'GET', `/v1/ttp/runs/${start.body.id}`, { token: operator });
    return ['done', 'failed'].includes(res.body.status) ? res.body : undefined;
  }, 60_000);
  expect(run.status).toBe('done');
}, 180_000);

afterAll(async () => {
  await worker?.close();
  await api?.close();
  await db?.end();
  await replayThenDrop(url);
});

const NO_OUTCOMES = {
  'accepted-alternative': 0,
  'prefers-to-wait': 0,
  'already-in-care': 0,
  unreachable: 0,
  declined: 0,
  'no-longer-needed': 0,
  'consent-withdrawn': 0,
  'phase-withdrawn': 0,
};

describe("an insurer's report", () => {
  it('gives every figure of the main month as worked out by hand', async () => {
    const res = await report(lead(A));
    expect(res.status).toBe(200);
    expect(res.body.scope).toEqual({ kind: 'insurer', uzovi: [A] });
    expect(res.body.months.map((m: any) => m.month)).toEqual([M2, M1, M0]);
    expect(res.body.suppression.threshold).toBe(5);

    // 13 tasks: contacts after [0,0,1,1,2,2,3,3,4,4,5,6,9] working days: the 7th value (median,
    // nearest rank) is 3, the 12th (90%: ceil(11.7)) is 6; 8 within the 3 working days due.
    // Weeks saved: referred 8 + 12 = 20 weeks against 8 offered (5 ×) and 10 once: 5 × 12 + 10 = 70, 11.7 per task.
    expect(monthOf(res.body, M1)).toEqual({
      month: M1,
      referrals: { received: 23, evaluated: 18 },
      aboveNorm: { aanmelding: { count: 10, share: 0.556 }, behandeling: { count: 13, share: 0.722 }, totaal: { count: 10, share: 0.556 } },
      tasks: {
        created: 13,
        stillOpen: null,
        outcomes: { ...NO_OUTCOMES, 'accepted-alternative': 6, 'prefers-to-wait': null, unreachable: null, 'consent-withdrawn': null },
      },
      firstContact: { contacted: 13, onTime: 8, medianWorkingDays: 3, p90WorkingDays: 6 },
      weeksSaved: { total: 70, perAcceptedTask: 11.7 },
      providers: { referredTo: 3, withoutCurrentFigures: 1, shareWithoutCurrentFigures: 0.333, notInRegistry: 1 },
      accuracy: { run: null, measuredCells: null, flaggedCells: null, flaggedShare: null },
      // 1, 1, 1 and 4: each 1–4, and together (7 = 13 − 6) they pin none of them down.
      suppressed: {
        'tasks.outcomes.prefers-to-wait': 'primary',
        'tasks.outcomes.unreachable': 'primary',
        'tasks.outcomes.consent-withdrawn': 'primary',
        'tasks.stillOpen': 'primary',
      },
    });
  });

  it('hides a count that could be worked out from the others (complementary suppression)', async () => {
    const m2 = monthOf((await report(lead(A))).body, M2);
    // 8 received, 6 judged: the 2 not judged would follow from the two printed counts. The
    // received count is hidden; the judged count (the shares' denominator) stays.
    expect(m2.referrals).toEqual({ received: null, evaluated: 6 });
    expect(m2.suppressed).toEqual({ 'referrals.received': 'secondary' });
    expect(m2.aboveNorm).toEqual({ aanmelding: { count: 6, share: 1 }, behandeling: { count: 6, share: 1 }, totaal: { count: 6, share: 1 } });
    expect(m2.tasks).toEqual({ created: 6, stillOpen: 6, outcomes: NO_OUTCOMES });
    expect(m2.firstContact).toEqual({ contacted: 0, onTime: 0, medianWorkingDays: null, p90WorkingDays: null });
    expect(m2.weeksSaved).toEqual({ total: 0, perAcceptedTask: null });
    // P1 sent M2 figures in M2; P3 never did.
    expect(m2.providers).toEqual({ referredTo: 2, withoutCurrentFigures: 1, shareWithoutCurrentFigures: 0.5, notInRegistry: 0 });
    expect(m2.accuracy.run).toBeNull();
  });

  it("answers 'is the information accurate?' from the TTP run standing at the month's end", async () => {
    const m0 = monthOf((await report(lead(A))).body, M0);
    expect(m0.referrals).toEqual({ received: 10, evaluated: 10 });
    expect(m0.aboveNorm.totaal).toEqual({ count: 5, share: 0.5 });
    expect(m0.tasks).toEqual({ created: 5, stillOpen: 5, outcomes: NO_OUTCOMES });
    expect(m0.providers).toEqual({ referredTo: 2, withoutCurrentFigures: 0, shareWithoutCurrentFigures: 0, notInRegistry: 0 });
    // Cells of the month's providers and groups: P1/a/depressie (median 20 weeks against 8
    // declared: flagged) and P2/a/depressie (2 against 2).
    expect(m0.accuracy).toEqual({ run: { asOf: today, finishedAt: expect.any(String) }, measuredCells: 2, flaggedCells: 1, flaggedShare: 0.5 });
    expect(m0.suppressed).toEqual({});
  });

  it('never counts another insurer: B sees only its own, with its small cell protected', async () => {
    const b = await report(lead(B));
    expect(b.status).toBe(200);
    const m1 = monthOf(b.body, M1);
    expect(m1.referrals).toEqual({ received: 7, evaluated: 7 });
    // 7 tasks = 5 accepted + 2 open: the 2 would follow from 7 − 5, so the 5 goes too, and the
    // weeks saved with it (total / mean would give the count).
    expect(m1.tasks).toEqual({ created: 7, stillOpen: null, outcomes: { ...NO_OUTCOMES, 'accepted-alternative': null } });
    expect(m1.suppressed).toEqual({
      'tasks.stillOpen': 'primary',
      'tasks.outcomes.accepted-alternative': 'secondary',
      'weeksSaved.total': 'dependent',
      'weeksSaved.perAcceptedTask': 'dependent',
    });
    expect(m1.firstContact).toEqual({ contacted: 7, onTime: 7, medianWorkingDays: 0, p90WorkingDays: 0 });
    expect(monthOf(b.body, M2).referrals).toEqual({ received: 0, evaluated: 0 });
    expect(monthOf(b.body, M0).referrals).toEqual({ received: 0, evaluated: 0 });

    // A's own report asked for B's figures: refused, naming the parameter.
    const foreign = await report(lead(A), `uzovi=${B}`);
    expect(foreign.status).toBe(403);
    expect(foreign.body.details).toEqual([{ field: 'uzovi', reason: 'is not an insurer this token acts for' }]);
    // An auditor of A reads the same figures as A's lead; a mediator may not read the report.
    expect((await report(token('auditor', { uzovi: [A] }))).body.months).toEqual((await report(lead(A))).body.months);
    expect((await report(mediator(A))).status).toBe(403);
  });

  it('for an admin: national figures, or one insurer', async () => {
    const national = await report(admin());
    expect(national.status).toBe(200);
    expect(national.body.scope).toEqual({ kind: 'national' });
    const m1 = monthOf(national.body, M1);
    // A + B: 23 + 7 received, 18 + 7 judged; 10 + 7, 13 + 7, 10 + 7 above; 13 + 7 tasks.
    expect(m1.referrals).toEqual({ received: 30, evaluated: 25 });
    expect(m1.aboveNorm).toEqual({ aanmelding: { count: 17, share: 0.68 }, behandeling: { count: 20, share: 0.8 }, totaal: { count: 17, share: 0.68 } });
    // 20 = 11 accepted + 1 + 1 + 1 + 6 open: printed, the three would be 1 each, so the 6 goes.
    expect(m1.tasks).toEqual({
      created: 20,
      stillOpen: null,
      outcomes: { ...NO_OUTCOMES, 'accepted-alternative': 11, 'prefers-to-wait': null, unreachable: null, 'consent-withdrawn': null },
    });
    expect(m1.suppressed['tasks.stillOpen']).toBe('secondary');
    // Contacts: A's 13 and B's seven 0s: 20 values, the 10th is 1, the 18th is 5; 8 + 7 on time.
    expect(m1.firstContact).toEqual({ contacted: 20, onTime: 15, medianWorkingDays: 1, p90WorkingDays: 5 });
    // 70 + 5 × 12 = 130 over 11 accepted alternatives.
    expect(m1.weeksSaved).toEqual({ total: 130, perAcceptedTask: 11.8 });
    expect(m1.providers).toEqual({ referredTo: 3, withoutCurrentFigures: 1, shareWithoutCurrentFigures: 0.333, notInRegistry: 1 });
    expect(monthOf(national.body, M0).accuracy.flaggedCells).toBe(1);

    const onlyB = await report(admin(), `from=${M2}&to=${M0}&uzovi=${B}`);
    expect(onlyB.body.scope).toEqual({ kind: 'insurer', uzovi: [B] });
    expect(monthOf(onlyB.body, M1).referrals).toEqual({ received: 7, evaluated: 7 });
  });

  it('covers the twelve months through the current one by default', async () => {
    const res = await report(lead(A), '');
    expect(res.status).toBe(200);
    expect(res.body.months).toHaveLength(12);
    expect(res.body.to).toBe(M0);
    expect(res.body.from).toBe(monthsAgo(11));
    expect(monthOf(res.body, monthsAgo(5)).referrals).toEqual({ received: 0, evaluated: 0 });
  });
});

describe('CSV', () => {
  it('is long-form, with suppressed figures empty and their reason beside them; by ?format=csv or Accept', async () => {
    const byParam = await report(lead(A), `from=${M2}&to=${M0}&format=csv`);
    const byAccept = await report(lead(A), `from=${M2}&to=${M0}`, { accept: 'text/csv' });
    expect(byParam.status).toBe(200);
    expect(byParam.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(byAccept.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(byAccept.body).toBe(byParam.body);
    const lines: string[] = byParam.body.trim().split('\n');
    expect(lines[0]).toBe('month,figure,value,suppressed');
    expect(lines).toEqual(
      expect.arrayContaining([
        `${M1},referrals.received,23,`,
        `${M1},aboveNorm.behandeling.share,0.722,`,
        `${M1},tasks.outcomes.prefers-to-wait,,primary`,
        `${M1},firstContact.p90WorkingDays,6,`,
        `${M1},weeksSaved.total,70,`,
        `${M2},referrals.received,,secondary`,
        `${M1},accuracy.flaggedCells,,`,
        `${M0},accuracy.flaggedCells,1,`,
      ]),
    );
    // Every figure of every month, once.
    expect(lines.filter((l) => l.startsWith(`${M1},`))).toHaveLength(lines.filter((l) => l.startsWith(`${M0},`)).length);
    expect(byParam.body).not.toContain(B);
  });
});

describe('bad parameters', () => {
  it.each([
    ['from=2026-13', 'from', /YYYY-MM/],
    ['from=', 'from', /YYYY-MM/],
    ['from=1999-12', 'from', /from 2000-01/],
    ['to=26-01', 'to', /YYYY-MM/],
    [`to=${monthsAgo(-1)}`, 'to', /current month/],
    [`from=${M0}&to=${M1}`, 'from', /after to/],
    [`from=${monthsAgo(40)}&to=${M0}`, 'from', /36 months/],
    ['uzovi=33a1', 'uzovi', /4 digits/],
    ['uzovi=', 'uzovi', /4 digits/],
    ['format=xml', 'format', /json or csv/],
    ['month=2026-01', 'month', /not a parameter/],
    ['from=2026-01&from=2026-02', 'from', /once/],
  ])('%s → 400 naming %s', async (query, field, reason) => {
    const res = await report(lead(A), query);
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([{ field, reason: expect.stringMatching(reason) }]);
  });
});
