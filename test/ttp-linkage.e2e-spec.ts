/**
 * Linkage runs end to end: snapshots uploaded through the API, a run started by a TTP operator
 * and carried out by the worker, and what comes out — each provider's own feedback, the insurer
 * report (aggregates, small cells suppressed) and cleaned waiting times, which the evaluation
 * shows next to the declared figures. Runs are idempotent, the nightly scheduler runs in
 * Europe/Amsterdam time, and after a key rotation only re-sent snapshots are linked.
 *
 * A run links every snapshot in force, so this file works in a database of its own.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { Queue } from 'bullmq';
import { amsterdamDate, stage1PrePseudonym, syntheticBsn } from '@app/core';
import { ensureDatabase } from '@app/platform';
import { LinkageService, TTP_LINKAGE_QUEUE } from '@app/ttp';
import { http, redis, referralMessage, RunningApi, RunningWorker, startApi, startWorker, token, waitFor } from './support/harness';
import { addProvider, monthsAgo } from './support/registry';
import { replayThenDrop } from './support/replay';
import { ageSnapshots as ageTtpSnapshots, runLinkage } from './support/ttp';

const url = (() => {
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.pathname = `${u.pathname}_ttp${randomBytes(3).toString('hex')}`;
  return u.toString();
})();
const prefix = `${process.env.TEST_QUEUE_PREFIX}_ttp`;
const env = { DATABASE_URL: url, QUEUE_PREFIX: prefix, SWEEPER_INTERVAL_SECONDS: '1', SWEEPER_DELAY_SECONDS: '2', TTP_LINKAGE_CRON: 'off' };

let api: RunningApi;
let worker: RunningWorker;
let db: Client;
const today = amsterdamDate(new Date());
const HEADER = 'clientRef,bsn,prePseudonym,location,diagnosisGroup,registeredOn,intakeOn,stage,waitsForThisProvider';

const operator = () => token('ttp-operator', { subject: 'ttp-op-1' });
const mediator = () => token('mediator', { uzovi: ['3311'] });
const provider = (agb: string) => token('provider', { agb, subject: `provider-${agb}` });
const daysBefore = (n: number) => amsterdamDate(new Date(Date.now() - n * 86_400_000));

let seed = 51_000_000 + Math.floor(Math.random() * 1_000_000) * 7;
const person = () => syntheticBsn((seed += 17));

interface Row {
  ref: string;
  bsn?: string;
  pre?: string;
  location?: string;
  group?: string;
  registeredDaysAgo?: number;
  intakeDaysAgo?: number;
}
const csv = (rows: Row[]) =>
  [
    HEADER,
    ...rows.map((r) =>
      [
        r.ref,
        r.bsn ?? '',
        r.pre ?? '',
        r.location ?? 'a',
        r.group ?? 'depressie',
        daysBefore(r.registeredDaysAgo ?? 70),
        r.intakeDaysAgo === undefined ? '' : daysBefore(r.intakeDaysAgo),
        r.intakeDaysAgo === undefined ? 'waiting-intake' : 'waiting-treatment',
        'false',
      ].join(','),
    ),
  ].join('\n') + '\n';

async function upload(agb: string, rows: Row[], a: RunningApi = api) {
  const res = await http(a.url, 'POST', '/v1/ttp/snapshots', { token: provider(agb), rawBody: csv(rows), headers: { 'content-type': 'text/csv' } });
  expect(res.status).toBe(201);
  return res.body;
}

/** Starts a run as the operator and waits until the worker has finished it. */
const linkNow = (a: RunningApi = api) => runLinkage(a.url, 'ttp-op-1');
const ageSnapshots = (days: number) => ageTtpSnapshots(db, days);

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
  await replayThenDrop(url);
});

describe('before any run', () => {
  it('has no report, feedback or cleaned waits yet: 404 naming why', async () => {
    for (const [path, t] of [
      ['/v1/ttp/report', mediator()],
      ['/v1/ttp/feedback', provider('73900001')],
      ['/v1/ttp/cleaned-waits', mediator()],
    ] as const) {
      const res = await http(api.url, 'GET', path, { token: t });
      expect(res.status).toBe(404);
      expect(res.body.message).toMatch(/No linkage run/);
    }
  });
});

describe('three providers, a handful of people', () => {
  // X waits at P1 (sent as BSN) and P2 (sent as prePseudonym, already waiting for treatment);
  // Y at all three; Z only at P1. P1 also sends Z twice by mistake (two references).
  const X = person();
  const Y = person();
  const Z = person();
  let run: Record<string, any>;

  beforeAll(async () => {
    for (const [agb, region] of [
      ['73900001', 'utrecht'],
      ['73900002', 'utrecht'],
      ['73900003', 'groningen'],
    ]) {
      await addProvider(db, { agb, name: `GGZ ${agb}`, locations: [{ code: 'a', region, groups: ['depressie', 'angst'] }] });
    }
    const k1 = api.config.ttp.stage1Key;
    const send = async () => {
      await upload('73900001', [
        { ref: 'P1-X', bsn: X, registeredDaysAgo: 70 },
        { ref: 'P1-Y', bsn: Y, registeredDaysAgo: 35 },
        { ref: 'P1-Z', bsn: Z, registeredDaysAgo: 14 },
        { ref: 'P1-Z2', bsn: Z, registeredDaysAgo: 21 },
      ]);
      await upload('73900002', [
        { ref: 'P2-X', pre: stage1PrePseudonym(X, k1), registeredDaysAgo: 100, intakeDaysAgo: 28 },
        { ref: 'P2-Y', pre: stage1PrePseudonym(Y, k1), group: 'angst', registeredDaysAgo: 49 },
      ]);
      await upload('73900003', [{ ref: 'P3-Y', bsn: Y, registeredDaysAgo: 7 }]);
    };
    // The same lists eight days apart: everyone is established on their lists.
    await send();
    await ageSnapshots(8);
    await send();
    run = await linkNow();
  });

  it('is recorded with its inputs, timings and counts', async () => {
    expect(run).toMatchObject({ status: 'done', trigger: 'on-demand', requestedBy: 'ttp-op-1', keyVersion: 1, asOf: today, sameAs: null, awaitingResend: [] });
    expect(run.httpStatus).toBe(202);
    expect(run.inputs.map((i: { agb: string }) => i.agb)).toEqual(['73900001', '73900002', '73900003']);
    expect(run.inputs[0]).toMatchObject({ asOf: today, keyVersion: 1, entries: 4 });
    expect(run.counts).toMatchObject({ providers: 3, entries: 7, distinctPeople: 3, peopleOnSeveralLists: 2, feedbackEntries: 5 });
    expect(run.timings.totalMs).toBeGreaterThanOrEqual(0);
  });

  it('tells each provider which of its own clients wait elsewhere, how often and at which stage — never where', async () => {
    const p1 = await http(api.url, 'GET', '/v1/ttp/feedback', { token: provider('73900001') });
    expect(p1.status).toBe(200);
    expect(p1.body.linked).toBe(true);
    expect(p1.body.entries).toEqual([
      { clientRef: 'P1-X', otherLists: 1, otherStages: ['waiting-treatment'] },
      { clientRef: 'P1-Y', otherLists: 2, otherStages: ['waiting-intake'] },
    ]);
    const p3 = await http(api.url, 'GET', '/v1/ttp/feedback', { token: provider('73900003') });
    expect(p3.body.entries).toEqual([{ clientRef: 'P3-Y', otherLists: 2, otherStages: ['waiting-intake'] }]);
    // Nothing of another provider: no reference, AGB, pseudonym or BSN.
    const text = JSON.stringify(p1.body) + JSON.stringify(p3.body);
    for (const s of ['P2-', '73900002', X, Y, Z]) expect(text).not.toContain(s);
    expect(JSON.stringify(p3.body)).not.toContain('P1-');
    expect(text).not.toMatch(/[0-9a-f]{64}/);
    const asCsv = await http(api.url, 'GET', '/v1/ttp/feedback?format=csv', { token: provider('73900001') });
    expect(asCsv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(asCsv.body).toBe('clientRef,otherLists,otherStages\nP1-X,1,waiting-treatment\nP1-Y,2,waiting-intake\n');
  });

  it('gives insurers aggregates only, with counts of 1–4 shown as <5; feedback and runs are refused to them', async () => {
    const rep = await http(api.url, 'GET', '/v1/ttp/report', { token: mediator() });
    expect(rep.status).toBe(200);
    expect(rep.body.run).toMatchObject({ runId: run.id, asOf: today });
    expect(rep.body.national).toEqual({ entries: 7, distinctPeople: '<5', peopleOn: { '1': '<5', '2': '<5', '3': '<5', '4+': 0 } });
    expect(rep.body.providers).toEqual([
      { agb: '73900001', name: 'GGZ 73900001', entries: '<5', distinctPeople: '<5', alsoElsewhere: '<5' },
      { agb: '73900002', name: 'GGZ 73900002', entries: '<5', distinctPeople: '<5', alsoElsewhere: '<5' },
      { agb: '73900003', name: 'GGZ 73900003', entries: '<5', distinctPeople: '<5', alsoElsewhere: '<5' },
    ]);
    expect(rep.body.largestOverlaps).toEqual([]);
    expect(JSON.stringify(rep.body)).not.toMatch(/P1-|P2-|P3-|[0-9a-f]{64}/);
    const asCsv = await http(api.url, 'GET', '/v1/ttp/report', { token: token('auditor', { uzovi: ['3311'] }), headers: { accept: 'text/csv' } });
    expect(asCsv.status).toBe(200);
    expect((asCsv.body as string).split('\n')).toEqual(
      expect.arrayContaining(['section,key,name,measure,value', 'national,NL,,entries,7', 'provider,73900001,GGZ 73900001,alsoElsewhere,<5']),
    );

    for (const role of ['mediator', 'mediation-lead', 'auditor'] as const) {
      const t = token(role, { uzovi: ['3311'] });
      expect((await http(api.url, 'GET', '/v1/ttp/feedback', { token: t })).status).toBe(403);
      expect((await http(api.url, 'GET', '/v1/ttp/runs', { token: t })).status).toBe(403);
      expect((await http(api.url, 'POST', '/v1/ttp/runs', { token: t })).status).toBe(403);
      expect((await http(api.url, 'GET', `/v1/ttp/runs/${run.id}`, { token: t })).status).toBe(403);
    }
    expect((await http(api.url, 'GET', '/v1/ttp/report', { token: provider('73900001') })).status).toBe(403);
    expect((await http(api.url, 'GET', '/v1/ttp/report?format=xml', { token: mediator() })).body.details).toEqual([{ field: 'format', reason: 'must be json or csv' }]);
  });

  it('cleans waiting times: each person once, intake entries of people in care elsewhere left out; a provider sees its own in full', async () => {
    const own = await http(api.url, 'GET', '/v1/ttp/cleaned-waits', { token: provider('73900001') });
    expect(own.status).toBe(200);
    // P1, a/depressie: X (70 days, but waiting for treatment at P2: left out), Y (35 days), Z once (21 days, the earlier of two).
    expect(own.body.cells).toEqual([
      {
        agb: '73900001',
        location: 'a',
        diagnosisGroup: 'depressie',
        waitingIntake: 2,
        waitingTreatment: 0,
        intake: { medianWeeks: 3, p80Weeks: 5 },
        treatment: { medianWeeks: null, p80Weeks: null },
        declared: null,
        flagged: false,
      },
    ]);
    const all = await http(api.url, 'GET', '/v1/ttp/cleaned-waits?agb=73900002', { token: mediator() });
    expect(all.body.cells).toEqual([
      expect.objectContaining({ agb: '73900002', diagnosisGroup: 'angst', waitingIntake: '<5', waitingTreatment: 0, intake: { medianWeeks: null, p80Weeks: null } }),
      expect.objectContaining({ agb: '73900002', diagnosisGroup: 'depressie', waitingIntake: 0, waitingTreatment: '<5', treatment: { medianWeeks: null, p80Weeks: null } }),
    ]);
    expect((await http(api.url, 'GET', '/v1/ttp/cleaned-waits?agb=123', { token: mediator() })).status).toBe(400);
    expect((await http(api.url, 'GET', '/v1/ttp/cleaned-waits?diagnosisGroup=nope', { token: mediator() })).body.details[0].field).toBe('diagnosisGroup');
  });

  it('keeps no BSN anywhere in schema ttp, the run outputs included', async () => {
    const { rows: tables } = await db.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'ttp'`);
    expect(tables.map((t) => t.table_name).sort()).toEqual([
      'current_snapshot',
      'list_presence',
      'run',
      'run_cleaned_wait',
      'run_feedback',
      'snapshot',
      'snapshot_accepted',
      'snapshot_entry',
    ]);
    let text = '';
    for (const { table_name } of tables) text += JSON.stringify((await db.query(`SELECT * FROM ttp."${table_name}"`)).rows);
    for (const bsn of [X, Y, Z]) {
      expect(text).not.toContain(bsn);
      expect(text).not.toContain(stage1PrePseudonym(bsn, api.config.ttp.stage1Key));
    }
  });

  it('is idempotent: the same snapshots give the same run back, on demand or at night', async () => {
    const again = await http(api.url, 'POST', '/v1/ttp/runs', { token: operator() });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(run.id);
    const nightly = await worker.app.get(LinkageService).runNow('nightly', 'scheduler');
    expect(nightly).toMatchObject({ status: 'done', sameAs: run.id, counts: run.counts });
    const rep = await http(api.url, 'GET', '/v1/ttp/report', { token: mediator() });
    expect(rep.body.run.runId).toBe(run.id);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM ttp.run_feedback`);
    expect(rows[0].n).toBe(5);
  });

  it('hands measured figures to the evaluation, flagging a declared wait more than four weeks off', async () => {
    // P1 declares 12 weeks to intake for depressie; people there have waited 3 weeks (median) so far.
    const pub = await http(api.url, 'POST', '/v1/providers/73900001/wait-times', {
      token: provider('73900001'),
      body: { month: monthsAgo(0), figures: [{ location: 'a', diagnosisGroup: 'depressie', aanmeldWeeks: 12, behandelWeeks: 3 }] },
    });
    expect(pub.status).toBe(201);
    // Declared figures are part of a run's inputs: a new run follows.
    const second = await linkNow();
    expect(second.id).not.toBe(run.id);
    expect(second.counts.flaggedCells).toBe(1);
    const own = await http(api.url, 'GET', '/v1/ttp/cleaned-waits', { token: provider('73900001') });
    expect(own.body.cells[0]).toMatchObject({ declared: { month: monthsAgo(0), aanmeldWeeks: 12, behandelWeeks: 3 }, flagged: true });

    const res = await http(api.url, 'POST', '/v1/referrals', {
      token: token('referral-service', { uzovi: ['3311'] }),
      body: referralMessage({ agb: '73900001', klachtenprofiel: 'depressie' }),
    });
    expect(res.status).toBe(201);
    const evaluation = await waitFor(async () => {
      const { rows } = await db.query(`SELECT explanation FROM referral_evaluation WHERE referral_id = $1`, [res.body.id]);
      return rows[0]?.explanation;
    });
    expect(evaluation.measured).toEqual({
      runId: second.id,
      asOf: today,
      flagWeeks: 4,
      locations: [{ location: 'a', waitingIntake: 2, waitingTreatment: 0, intakeMedianWeeks: 3, treatmentMedianWeeks: null, flagged: true }],
    });
    // The verdict still rests on the declared figures: 12 weeks is above the norm of 4.
    const history = await http(api.url, 'GET', `/v1/referrals/${res.body.id}/evaluations`, { token: mediator() });
    expect(history.status).toBe(200);
    expect(history.body.evaluations[0].summary.join(' ')).toMatch(/Measured by the TTP .*declared figure more than 4 weeks off/);
  });
});

describe('runs whose process or job went missing', () => {
  it('are picked up by the worker timer: a queued run without a job is carried out, a running run without a process is run again (failed after 3 attempts)', async () => {
    const {
      rows: [lost],
    } = await db.query(`INSERT INTO ttp.run (trigger, requested_by, requested_at) VALUES ('on-demand', 'ttp-op-1', now() - interval '2 minutes') RETURNING id`);
    const {
      rows: [orphan],
    } = await db.query(`INSERT INTO ttp.run (trigger, requested_by, status, started_at, attempts) VALUES ('on-demand', 'ttp-op-1', 'running', now(), 1) RETURNING id`);
    const {
      rows: [hopeless],
    } = await db.query(`INSERT INTO ttp.run (trigger, requested_by, status, started_at, attempts) VALUES ('on-demand', 'ttp-op-1', 'running', now(), 3) RETURNING id`);
    const ids = [lost.id, orphan.id, hopeless.id];
    const states = await waitFor(async () => {
      const { rows } = await db.query(`SELECT id, status, same_as, error, attempts FROM ttp.run WHERE id = ANY($1::uuid[])`, [ids]);
      const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
      return byId[lost.id].status === 'done' && byId[orphan.id].status === 'done' && byId[hopeless.id].status === 'failed' ? byId : undefined;
    });
    expect(states[lost.id].same_as).not.toBeNull(); // nothing changed since the last run
    expect(states[orphan.id]).toMatchObject({ attempts: 2, error: null });
    expect(states[orphan.id].same_as).not.toBeNull();
    expect(states[hopeless.id]).toMatchObject({ attempts: 3, error: expect.stringMatching(/interrupted/) });
  });
});

describe('the nightly run', () => {
  it('is a BullMQ job scheduler on the configured cron in Europe/Amsterdam time, and makes runs by itself', async () => {
    const nightlyWorker = await startWorker({ ...env, TTP_LINKAGE_CRON: '*/2 * * * * *' });
    const connection = redis();
    const queue = new Queue(TTP_LINKAGE_QUEUE.name, { connection, prefix });
    try {
      const scheduler = await waitFor(() => queue.getJobScheduler('ttp-linkage-nightly'));
      expect(scheduler).toMatchObject({ pattern: '*/2 * * * * *', tz: 'Europe/Amsterdam' });
      const nightly = await waitFor(async () => {
        const { rows } = await db.query(`SELECT status, requested_by, same_as FROM ttp.run WHERE trigger = 'nightly' AND requested_by = 'scheduler' AND status = 'done'`);
        return rows.length >= 2 ? rows : undefined;
      });
      // Nothing changed in between, so the nightly runs stand on the last computed run.
      expect(nightly.every((r) => r.same_as !== null)).toBe(true);
    } finally {
      await nightlyWorker.close();
      // A worker with TTP_LINKAGE_CRON=off removes the scheduler again.
      const quiet = await startWorker(env);
      await waitFor(async () => !(await queue.getJobScheduler('ttp-linkage-nightly')));
      await quiet.close();
      await queue.close();
      connection.disconnect();
    }
  });
});

describe('a key rotation', () => {
  it('links only snapshots made under the current key and names the providers that still have to re-send', async () => {
    // The worker of the old key must not take these runs.
    await worker.close();
    worker = undefined as unknown as RunningWorker;
    const v1 = api.config.ttp.keys.get(1)!.toString('base64');
    const rotated = { ...env, TTP_KEYS: `1:${v1},2:${randomBytes(32).toString('base64')}`, TTP_KEY_VERSION: '2' };
    const api2 = await startApi(rotated);
    const worker2 = await startWorker(rotated);
    try {
      const before = await linkNow(api2);
      expect(before).toMatchObject({ status: 'done', keyVersion: 2, inputs: [], error: null });
      expect(before.awaitingResend.map((a: { agb: string; keyVersion: number }) => [a.agb, a.keyVersion])).toEqual([
        ['73900001', 1],
        ['73900002', 1],
        ['73900003', 1],
      ]);
      const fb = await http(api2.url, 'GET', '/v1/ttp/feedback', { token: provider('73900001') });
      expect(fb.body).toMatchObject({ linked: false, entries: [], run: { awaitingResend: [{ agb: '73900001', keyVersion: 1 }] } });

      // P1 and P2 re-send: the same person X, as BSN and as prePseudonym, is linked under key 2.
      // Pseudonyms under the new key are new people to the TTP: they are established again only
      // after two snapshots a week apart.
      const X = person();
      const resend = async () => {
        const receipt = await upload('73900001', [{ ref: 'P1-X', bsn: X }], api2);
        expect(receipt.keyVersion).toBe(2);
        await upload('73900002', [{ ref: 'P2-X', pre: stage1PrePseudonym(X, api2.config.ttp.stage1Key) }], api2);
      };
      await resend();
      const fresh = await linkNow(api2);
      expect(fresh.counts).toMatchObject({ entries: 2, distinctPeople: 1, peopleOnSeveralLists: 1, feedbackEntries: 0 });
      await ageSnapshots(8);
      await resend();
      const after = await linkNow(api2);
      expect(after.inputs.map((i: { agb: string; keyVersion: number }) => [i.agb, i.keyVersion])).toEqual([
        ['73900001', 2],
        ['73900002', 2],
      ]);
      expect(after.awaitingResend.map((a: { agb: string }) => a.agb)).toEqual(['73900003']);
      expect(after.counts).toMatchObject({ entries: 2, distinctPeople: 1, peopleOnSeveralLists: 1 });
      const fb2 = await http(api2.url, 'GET', '/v1/ttp/feedback', { token: provider('73900001') });
      expect(fb2.body).toMatchObject({ linked: true, entries: [{ clientRef: 'P1-X', otherLists: 1, otherStages: ['waiting-intake'] }] });
      const { rows } = await db.query(`SELECT DISTINCT key_version FROM ttp.snapshot s JOIN ttp.current_snapshot c ON c.snapshot_id = s.id ORDER BY 1`);
      expect(rows.map((r) => r.key_version)).toEqual([1, 2]);
    } finally {
      await worker2.close();
      await api2.close();
    }
  });
});
