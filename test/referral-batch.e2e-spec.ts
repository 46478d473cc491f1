/** POST /v1/referrals/batch: per-message outcomes, never all-or-nothing. */
import type { Client } from 'pg';
import { http, pg, referralMessage, RunningApi, startApi, token } from './support/harness';

let api: RunningApi;
let db: Client;
const rs = () => token('referral-service', { uzovi: ['3311'] });

beforeAll(async () => {
  api = await startApi();
  db = await pg();
});
afterAll(async () => {
  await db.end();
  await api.close();
});

async function countByMessageIds(ids: string[]): Promise<number> {
  const { rows } = await db.query('SELECT count(*)::int AS n FROM referral WHERE message_id = ANY($1)', [ids]);
  return rows[0].n;
}

it('answers each message on its own: created, duplicate, conflict, invalid, forbidden', async () => {
  const existing = referralMessage();
  const conflicting = referralMessage();
  await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: existing });
  await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: conflicting });
  const fresh = referralMessage();
  const invalid = referralMessage({ bsn: '999999999' });
  const foreign = referralMessage({ uzovi: '7095' });
  const messages = [fresh, existing, { ...conflicting, agb: '94099999' }, invalid, foreign, 'not an object'];

  const res = await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages } });
  expect(res.status).toBe(200);
  expect(res.body.summary).toEqual({ created: 1, duplicate: 1, conflict: 1, invalid: 2, forbidden: 1 });
  const r = res.body.results;
  expect(r.map((x: { outcome: string }) => x.outcome)).toEqual(['created', 'duplicate', 'conflict', 'invalid', 'forbidden', 'invalid']);
  expect(r.map((x: { status: number }) => x.status)).toEqual([201, 200, 409, 400, 403, 400]);
  expect(r.map((x: { index: number }) => x.index)).toEqual([0, 1, 2, 3, 4, 5]);
  expect(r[0]).toMatchObject({ messageId: fresh.messageId, referralId: expect.any(String) });
  expect(r[3].errors).toEqual([{ field: 'bsn', reason: expect.stringMatching(/elfproef/) }]);
  expect(r[4].errors).toEqual([{ field: 'uzovi', reason: expect.any(String) }]);
  expect(r[5].errors).toEqual([{ field: '(body)', reason: 'must be a JSON object' }]);
  expect(JSON.stringify(res.body)).not.toContain('999999999');

  expect(await countByMessageIds([fresh.messageId, invalid.messageId, foreign.messageId])).toBe(1);
  const { rows } = await db.query('SELECT agb FROM referral WHERE message_id = $1', [conflicting.messageId]);
  expect(rows).toEqual([{ agb: '94012345' }]);
});

it('stores a message repeated inside one batch once, and flags a changed repeat as a conflict', async () => {
  const m = referralMessage();
  const res = await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages: [m, m, { ...m, klachtenprofiel: 'angst' }] } });
  expect(res.body.results.map((x: { outcome: string }) => x.outcome)).toEqual(['created', 'duplicate', 'conflict']);
  expect(res.body.results[0].referralId).toBe(res.body.results[1].referralId);
  expect(await countByMessageIds([m.messageId])).toBe(1);
});

it('takes 1,000 messages in one request, and a re-sent batch changes nothing', async () => {
  const messages = Array.from({ length: 1000 }, () => referralMessage());
  const first = await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages } });
  expect(first.status).toBe(200);
  expect(first.body.summary.created).toBe(1000);
  const ids = messages.map((m) => m.messageId);
  expect(await countByMessageIds(ids)).toBe(1000);

  const again = await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages } });
  expect(again.body.summary).toMatchObject({ created: 0, duplicate: 1000 });
  expect(await countByMessageIds(ids)).toBe(1000);
});

it.each([
  ['more than 1,000 messages', { messages: Array.from({ length: 1001 }, () => ({})) }, /at most 1000/],
  ['no messages', { messages: [] }, /at least one/],
  ['messages not an array', { messages: { a: 1 } }, /array/],
  ['messages missing', {}, /required/],
])('refuses a batch with %s with 400 naming messages', async (_name, body, reason) => {
  const res = await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body });
  expect(res.status).toBe(400);
  expect(res.body.details).toEqual([{ field: 'messages', reason: expect.stringMatching(reason) }]);
});

it('refuses unknown fields beside messages', async () => {
  const res = await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages: [referralMessage()], dryRun: true } });
  expect(res.status).toBe(400);
  expect(res.body.details).toEqual([{ field: 'dryRun', reason: 'is not an allowed field' }]);
});

describe('one bad message is answered invalid on its own, never failing the batch', () => {
  const bsn = '123456782'; // synthetic, valid by the elfproef
  const DB_REFUSED = 'refused-by-the-database';

  it('mixes every kind of bad message with good ones: each bad one invalid naming its field, every good one stored', async () => {
    const consent = () => referralMessage().consent;
    const good = () => referralMessage();
    const bad: [string, Record<string, unknown>, string, RegExp][] = [
      ['a NUL in the message id', referralMessage({ messageId: 'msg-\u0000-1' }), 'messageId', /NUL|printable/],
      ['a NUL in the channel', referralMessage({ consent: { ...consent(), channel: 'portaal\u0000' } }), 'consent.channel', /NUL/],
      ['a NUL in the DSM code', referralMessage({ dsmCode: 'F32\u0000' }), 'dsmCode', /NUL|letters, digits/],
      ['a BSN with spaces in the channel', referralMessage({ consent: { ...consent(), channel: 'huisarts 123 456 782' } }), 'consent.channel', /elfproef/],
      ['a BSN with dots in the consent id', referralMessage({ consent: { ...consent(), id: 'c-1234.56.782' } }), 'consent.id', /elfproef/],
      ['a full-width BSN in the message id', referralMessage({ messageId: `m-${'１２３４５６７８２'}` }), 'messageId', /printable|elfproef/],
      ['a BSN in the DSM code', referralMessage({ dsmCode: bsn }), 'dsmCode', /elfproef/],
      ['a number for the message id', referralMessage({ messageId: 42 }), 'messageId', /string/],
      ['an array for the consent', referralMessage({ consent: [] }), 'consent', /object/],
      ['a BSN as a number', referralMessage({ bsn: Number(bsn) }), 'bsn', /string/],
      ['the database refuses the channel', referralMessage({ consent: { ...consent(), channel: DB_REFUSED } }), 'consent.channel', /could not be stored/],
    ];
    const goods = [good(), good(), good(), good()];
    // Good messages around and between the bad ones.
    const messages: Record<string, unknown>[] = [goods[0]];
    bad.forEach(([, m], i) => {
      messages.push(m);
      if (i === 3) messages.push(goods[1]);
      if (i === 7) messages.push(goods[2]);
    });
    messages.push(goods[3]);

    // A rule of the database the validation does not know (as a column range or a constraint
    // added later would be): the message it refuses must not fail the statement for the others.
    await db.query(`ALTER TABLE referral ADD CONSTRAINT ck_referral_consent_channel_input_test CHECK (consent_channel <> '${DB_REFUSED}') NOT VALID`);
    let res;
    try {
      res = await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages } });
    } finally {
      await db.query('ALTER TABLE referral DROP CONSTRAINT ck_referral_consent_channel_input_test');
    }
    expect(res.status).toBe(200);
    expect(res.body.summary).toEqual({ created: goods.length, duplicate: 0, conflict: 0, invalid: bad.length, forbidden: 0 });
    const byIndex = new Map(messages.map((m, i) => [m, res.body.results[i]]));
    for (const g of goods) expect(byIndex.get(g)).toMatchObject({ outcome: 'created', status: 201, messageId: g.messageId, referralId: expect.any(String) });
    for (const [what, m, field, reason] of bad) {
      const r = byIndex.get(m);
      expect([what, r.outcome, r.status]).toEqual([what, 'invalid', 400]);
      expect([what, r.errors]).toEqual([what, [{ field, reason: expect.stringMatching(reason) }]]);
      // Its message id is echoed only when it passed its own rule.
      if (field === 'messageId') expect(r.messageId).toBeUndefined();
    }
    expect(JSON.stringify(res.body)).not.toMatch(/123[ .]?456[ .]?782|１２３４/);

    // In the database: exactly the good ones, each with its access-log entry; none of the bad.
    const { rows } = await db.query(
      `SELECT r.message_id, (SELECT count(*)::int FROM access_log a WHERE a.resource = 'referral/' || r.id AND a.action = 'create') AS logged
         FROM referral r WHERE r.message_id = ANY($1) ORDER BY r.message_id`,
      [messages.map((m) => m.messageId).filter((id) => typeof id === 'string' && !id.includes('\u0000'))],
    );
    expect(rows).toEqual(goods.map((g) => ({ message_id: g.messageId, logged: 1 })).sort((a, b) => (a.message_id < b.message_id ? -1 : 1)));
    const { rows: refused } = await db.query(`SELECT count(*)::int AS n FROM referral WHERE consent_channel = $1`, [DB_REFUSED]);
    expect(refused[0].n).toBe(0);
  });

  it('the single route answers the same database refusal with 400 naming the field', async () => {
    await db.query(`ALTER TABLE referral ADD CONSTRAINT ck_referral_consent_channel_input_test CHECK (consent_channel <> '${DB_REFUSED}') NOT VALID`);
    let res;
    const m = referralMessage({ consent: { ...referralMessage().consent, channel: DB_REFUSED } });
    try {
      res = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: m });
    } finally {
      await db.query('ALTER TABLE referral DROP CONSTRAINT ck_referral_consent_channel_input_test');
    }
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([{ field: 'consent.channel', reason: expect.stringMatching(/could not be stored/) }]);
    expect(await countByMessageIds([m.messageId])).toBe(0);
  });
});
