/**
 * The TTP is not an oracle (security review, items 11 and 3). A provider that uploads arbitrary
 * BSNs learns nothing about other providers' lists: feedback names a person only once they were on
 * the provider's own list in two snapshots at least TTP_FEEDBACK_MIN_DAYS apart (and without a
 * break since), and its own cleaned waiting times leave nobody out for being in care elsewhere
 * until then. Snapshots per provider are limited per 24 hours (429 with Retry-After). Every upload
 * and every feedback read is in the access log, the disclosed people by pseudonymous reference.
 *
 * Time is moved, not faked: "a week later" makes the snapshots in force (and the sightings of
 * their people) eight days older, as if sent then. A run links every snapshot in force, so this
 * file works in a database of its own.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { amsterdamDate, syntheticBsn } from '@app/core';
import { ensureDatabase } from '@app/platform';
import { http, RunningApi, RunningWorker, startApi, startWorker, token } from './support/harness';
import { addProvider } from './support/registry';
import { replayThenDrop } from './support/replay';
import { ageSnapshots, runLinkage } from './support/ttp';

const url = (() => {
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.pathname = `${u.pathname}_or${randomBytes(3).toString('hex')}`;
  return u.toString();
})();
const LIMIT = 3;
const env = { DATABASE_URL: url, QUEUE_PREFIX: `${process.env.TEST_QUEUE_PREFIX}_or`, TTP_LINKAGE_CRON: 'off', TTP_SNAPSHOTS_PER_DAY: String(LIMIT) };
const HEADER = 'clientRef,bsn,prePseudonym,location,diagnosisGroup,registeredOn,intakeOn,stage,waitsForThisProvider';

let api: RunningApi;
let worker: RunningWorker;
let db: Client;

const A = '73910001'; // a real provider
const B = '73910002'; // another real provider
const M = '73910009'; // a provider probing with BSNs it has no business with
const R = '73910005'; // a provider replacing its snapshot too often

let seed = 61_000_000 + Math.floor(Math.random() * 1_000_000) * 7;
const person = () => syntheticBsn((seed += 23));
const daysBefore = (n: number) => amsterdamDate(new Date(Date.now() - n * 86_400_000));
const provider = (agb: string) => token('provider', { agb, subject: `provider-${agb}` });

interface Row {
  ref: string;
  bsn: string;
  treat?: boolean;
}
const csv = (rows: Row[]) =>
  [
    HEADER,
    ...rows.map((r) => [r.ref, r.bsn, '', 'a', 'depressie', daysBefore(60), r.treat ? daysBefore(20) : '', r.treat ? 'waiting-treatment' : 'waiting-intake', 'false'].join(',')),
  ].join('\n') + '\n';

async function upload(agb: string, rows: Row[]) {
  return http(api.url, 'POST', '/v1/ttp/snapshots', { token: provider(agb), rawBody: csv(rows), headers: { 'content-type': 'text/csv' } });
}
async function uploadOk(agb: string, rows: Row[]) {
  const res = await upload(agb, rows);
  expect([res.status, res.body?.message]).toEqual([201, undefined]);
  return res.body;
}

/** A week passes: the snapshots in force and the sightings of their people are eight days older. */
const aWeekLater = () => ageSnapshots(db, 8);

async function linkNow() {
  const run = await runLinkage(api.url, 'ttp-op-oracle');
  expect(run.status).toBe('done');
  return run;
}

async function feedback(agb: string) {
  const res = await http(api.url, 'GET', '/v1/ttp/feedback', { token: provider(agb) });
  expect(res.status).toBe(200);
  return res.body;
}

/** The access log's pseudonymous reference of a person, recomputed from the TTP's stage-2 pseudonym (the TTP can; nobody else). */
async function refOf(agb: string, clientRef: string): Promise<string> {
  const { rows } = await db.query(
    `SELECT e.pseudonym FROM ttp.snapshot_entry e JOIN ttp.current_snapshot c ON c.snapshot_id = e.snapshot_id WHERE c.agb = $1 AND e.client_ref = $2`,
    [agb, clientRef],
  );
  const mac = createHmac('sha256', api.config.ttp.keys.get(1)!).update(`ttp-access-log-ref|${rows[0].pseudonym}`).digest();
  return [...mac.subarray(0, 16)].map((b) => String.fromCharCode(97 + (b >> 4), 97 + (b & 15))).join('');
}

async function accessLog(agb: string, resourcePrefix: string) {
  const { rows } = await db.query(
    `SELECT actor, actor_role, organisation, person_index, action, resource, purpose, outcome, details FROM access_log
      WHERE organisation = $1 AND resource LIKE $2 ORDER BY id`,
    [agb, `${resourcePrefix}%`],
  );
  return rows;
}

beforeAll(async () => {
  await ensureDatabase(url);
  api = await startApi(env);
  worker = await startWorker(env);
  db = new Client({ connectionString: url });
  await db.connect();
  for (const agb of [A, B, M, R]) await addProvider(db, { agb, name: `GGZ ${agb}`, locations: [{ code: 'a', region: 'utrecht', groups: ['depressie'] }] });
}, 60_000);
afterAll(async () => {
  await worker?.close();
  await api?.close();
  await db?.end();
  await replayThenDrop(url);
});

describe('feedback discloses only people the provider demonstrably has on its list', () => {
  // X waits at A and at B (for treatment there); Y only at B; W only at A.
  const X = person();
  const Y = person();
  const W = person();
  const others = Array.from({ length: 6 }, () => person());
  const listA = [
    { ref: 'A-X', bsn: X },
    { ref: 'A-W', bsn: W },
  ];
  const listB = [
    { ref: 'B-X', bsn: X, treat: true },
    { ref: 'B-Y', bsn: Y, treat: true },
  ];
  // M uploads X and Y (and strangers) as waiting for intake, once.
  const listM = [{ ref: 'M-1', bsn: X }, { ref: 'M-2', bsn: Y }, ...others.map((bsn, i) => ({ ref: `M-${i + 3}`, bsn }))];

  it('tells a provider that uploaded BSNs once nothing about other lists: no feedback, no one left out of its own cleaned waits', async () => {
    // A and B have had their lists for a week; M uploads today.
    await uploadOk(A, listA);
    await uploadOk(B, listB);
    await aWeekLater();
    await uploadOk(A, listA);
    await uploadOk(B, listB);
    await uploadOk(M, listM);
    const run = await linkNow();
    expect(run.counts).toMatchObject({ providers: 3, distinctPeople: 9, peopleOnSeveralLists: 2 });

    const fm = await feedback(M);
    expect(fm).toMatchObject({ linked: true, entries: [] });
    // Its own cells in full: all 8 counted, although X and Y wait for treatment at B (established
    // entries of people in care elsewhere would be left out).
    const own = await http(api.url, 'GET', '/v1/ttp/cleaned-waits', { token: provider(M) });
    expect(own.body.cells).toEqual([expect.objectContaining({ agb: M, waitingIntake: 8, waitingTreatment: 0 })]);
    // The real providers do learn about their own clients (and the probing entry counts as a list).
    expect((await feedback(A)).entries).toEqual([{ clientRef: 'A-X', otherLists: 2, otherStages: ['waiting-intake', 'waiting-treatment'] }]);
    expect((await feedback(B)).entries).toEqual([
      { clientRef: 'B-X', otherLists: 2, otherStages: ['waiting-intake'] },
      { clientRef: 'B-Y', otherLists: 1, otherStages: ['waiting-intake'] },
    ]);
  });

  it('discloses a real client after two snapshots a week apart, and only then', async () => {
    // M keeps the same list for a week and sends it again: now those people are on its list
    // twice, a week apart — the rule M would have to meet in earnest, visibly (see the access log).
    await aWeekLater();
    await uploadOk(A, listA);
    await uploadOk(B, listB);
    await uploadOk(M, listM);
    await linkNow();
    expect((await feedback(M)).entries.map((e: { clientRef: string }) => e.clientRef)).toEqual(['M-1', 'M-2']);

    // A drops X from its list and adds X again: X starts over and is not named until a week later.
    await uploadOk(A, [listA[1]]);
    await uploadOk(A, listA);
    await linkNow();
    expect((await feedback(A)).entries).toEqual([]);
    await aWeekLater();
    await uploadOk(A, listA);
    await linkNow();
    expect((await feedback(A)).entries.map((e: { clientRef: string }) => e.clientRef)).toEqual(['A-X']);
  });

  it('logs every upload (counts) and every feedback read (how many people, by pseudonymous reference, never a client reference)', async () => {
    const uploads = await accessLog(A, 'ttp/snapshot/');
    expect(uploads.length).toBeGreaterThanOrEqual(5);
    for (const u of uploads) {
      expect(u).toMatchObject({
        actor: `provider-${A}`,
        actor_role: 'provider',
        organisation: A,
        person_index: null,
        action: 'create',
        purpose: 'zorgbemiddeling',
        outcome: 'allowed',
      });
      expect(u.details).toMatchObject({ entries: expect.any(Number), people: expect.any(Number), keyVersion: 1, format: 'csv' });
    }
    // The snapshot without X: one person left the list; the one after it: X is new again.
    expect(uploads.map((u) => [u.details.entries, u.details.newOnList, u.details.leftList])).toEqual(
      expect.arrayContaining([
        [1, 0, 1],
        [2, 1, 0],
      ]),
    );

    const reads = await accessLog(A, 'ttp/feedback/');
    const last = reads[reads.length - 1];
    expect(last).toMatchObject({ actor: `provider-${A}`, organisation: A, action: 'read', outcome: 'allowed', person_index: null });
    expect(last.details).toEqual({ disclosedEntries: 1, disclosedPeople: 1, personRefs: [await refOf(A, 'A-X')], linked: true });
    expect(last.details.personRefs[0]).toMatch(/^[a-p]{32}$/);
    // M's first read disclosed nobody, and said so.
    const readsM = await accessLog(M, 'ttp/feedback/');
    expect(readsM[0].details).toMatchObject({ disclosedEntries: 0, disclosedPeople: 0, personRefs: [] });
    expect(JSON.stringify([...reads, ...readsM, ...uploads])).not.toMatch(/A-X|M-1|B-X/);
    for (const bsn of [X, Y, W, ...others]) expect(JSON.stringify([...reads, ...readsM, ...uploads])).not.toContain(bsn);
  });
});

describe('replacing a snapshot', () => {
  it(`is limited to ${LIMIT} per 24 hours per provider: 429 with Retry-After naming the reason, the previous snapshot stays in force, the refusal is logged`, async () => {
    const ids: string[] = [];
    for (let i = 0; i < LIMIT; i++) ids.push((await uploadOk(R, [{ ref: `R-${i}`, bsn: person() }])).snapshotId);
    const refused = await upload(R, [{ ref: 'R-late', bsn: person() }]);
    expect(refused.status).toBe(429);
    expect(refused.body.message).toMatch(new RegExp(`at most ${LIMIT} .*per 24 hours`));
    expect(refused.body.details).toEqual([{ field: '(snapshot)', reason: expect.stringContaining('TTP_SNAPSHOTS_PER_DAY') }]);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(86_000);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    const { rows } = await db.query(`SELECT snapshot_id FROM ttp.current_snapshot WHERE agb = $1`, [R]);
    expect(rows[0].snapshot_id).toBe(ids[LIMIT - 1]);
    // Other providers are not affected by R's count.
    await uploadOk(B, [{ ref: 'B-Z', bsn: person() }]);

    const log = await accessLog(R, 'ttp/snapshot');
    expect(log.filter((e) => e.outcome === 'allowed')).toHaveLength(LIMIT);
    expect(log.filter((e) => e.outcome === 'refused')).toEqual([
      expect.objectContaining({ action: 'create', resource: 'ttp/snapshot', details: { reason: 'rate-limit', limitPerDay: LIMIT, retryAfterSeconds: retryAfter } }),
    ]);

    // A day later the oldest has aged out of the window: one more is accepted.
    await db.query(`UPDATE ttp.snapshot_accepted SET at = at - interval '25 hours' WHERE agb = $1 AND snapshot_id = $2`, [R, ids[0]]);
    await uploadOk(R, [{ ref: 'R-next', bsn: person() }]);
  });

  it('holds across API instances: the count is in Postgres', async () => {
    const other = await startApi(env);
    try {
      const res = await http(other.url, 'POST', '/v1/ttp/snapshots', {
        token: provider(R),
        rawBody: csv([{ ref: 'R-2nd', bsn: person() }]),
        headers: { 'content-type': 'text/csv' },
      });
      expect(res.status).toBe(429);
    } finally {
      await other.close();
    }
  });
});
