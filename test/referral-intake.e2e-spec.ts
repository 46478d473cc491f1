/**
 * POST /v1/referrals and GET /v1/referrals/:id against the real app, Postgres and Redis.
 */
import type { Client } from 'pg';
import { daysAgo, giveTask, http, nextBsn, pg, referralMessage, RunningApi, startApi, token } from './support/harness';

let api: RunningApi;
let db: Client;
const rs = () => token('referral-service', { uzovi: ['3311'] });
const mediator = (uzovi = '3311') => token('mediator', { uzovi: [uzovi] });

async function referralCount(): Promise<number> {
  const { rows } = await db.query('SELECT count(*)::int AS n FROM referral');
  return rows[0].n;
}

beforeAll(async () => {
  api = await startApi();
  db = await pg();
});
afterAll(async () => {
  await db.end();
  await api.close();
});

describe('happy path', () => {
  it('stores a consented referral, answers 201 with the BSN masked, and reads it back', async () => {
    const msg = referralMessage();
    const res = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      messageId: msg.messageId,
      uzovi: '3311',
      bsn: `*****${msg.bsn.slice(-4)}`,
      verwijsdatum: msg.verwijsdatum,
      klachtenprofiel: 'depressie',
      dsmCode: 'F32.1',
      agb: '94012345',
      consent: { id: msg.consent.id, scope: 'zorgbemiddeling', channel: 'verwijsportaal' },
      status: 'pending',
    });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(res.body)).not.toContain(msg.bsn);

    // Staff reach a referral only through its mediation task.
    expect((await http(api.url, 'GET', `/v1/referrals/${res.body.id}`, { token: mediator() })).status).toBe(404);
    await giveTask(db, res.body.id);
    const got = await http(api.url, 'GET', `/v1/referrals/${res.body.id}`, { token: mediator() });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: res.body.id, bsn: `*****${msg.bsn.slice(-4)}`, verwijsdatum: msg.verwijsdatum });
    expect(['pending', 'evaluated']).toContain(got.body.status);

    const { rows } = await db.query('SELECT uzovi, agb, klachtenprofiel, bsn_key_id, length(bsn_ciphertext) AS len FROM referral WHERE id = $1', [res.body.id]);
    expect(rows[0]).toMatchObject({ uzovi: '3311', agb: '94012345', klachtenprofiel: 'depressie', bsn_key_id: 'dev1', len: 12 + 16 + 9 });
  });

  it('accepts an 8-digit BSN and stores it with its leading zero', async () => {
    const nine = nextBsnStartingWithZero();
    const res = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: referralMessage({ bsn: nine.slice(1) }) });
    expect(res.status).toBe(201);
    expect(res.body.bsn).toBe(`*****${nine.slice(-4)}`);
  });

  it('accepts a message without the optional dsmCode', async () => {
    const msg = referralMessage();
    delete msg.dsmCode;
    const res = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg });
    expect(res.status).toBe(201);
    expect(res.body.dsmCode).toBeNull();
  });

  it('lets a referral service send for any of the insurers in its token', async () => {
    const multi = token('referral-service', { uzovi: ['3311', '7095'] });
    const res = await http(api.url, 'POST', '/v1/referrals', { token: multi, body: referralMessage({ uzovi: '7095' }) });
    expect(res.status).toBe(201);
    expect(res.body.uzovi).toBe('7095');
  });
});

function nextBsnStartingWithZero(): string {
  for (;;) {
    const b = nextBsn();
    if (b.startsWith('0')) return b;
  }
}

describe('idempotency', () => {
  it('answers a re-delivery with the same content with 200 and the same referral', async () => {
    const msg = referralMessage({ bsn: nextBsnStartingWithZero() });
    const first = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg });
    const before = await referralCount();
    // Same content, written differently: key order, the 8-digit BSN form, another zone notation.
    const { consent, ...rest } = msg;
    const again = { consent: { ...consent, givenAt: consent.givenAt.replace('Z', '+00:00') }, ...rest, bsn: msg.bsn.slice(1) };
    const second = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: again });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(await referralCount()).toBe(before);
  });

  it('answers the same messageId with different content with 409 and stores nothing', async () => {
    const msg = referralMessage();
    const first = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg });
    expect(first.status).toBe(201);
    const before = await referralCount();
    const res = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: { ...msg, klachtenprofiel: 'angst' } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ statusCode: 409, error: 'Conflict', details: [{ field: 'messageId' }] });
    expect(await referralCount()).toBe(before);
    const { rows } = await db.query('SELECT klachtenprofiel FROM referral WHERE id = $1', [first.body.id]);
    expect(rows[0].klachtenprofiel).toBe('depressie');
  });

  it('keeps message ids per insurer: the same id for another insurer is another referral', async () => {
    const both = token('referral-service', { uzovi: ['3311', '7119'] });
    const msg = referralMessage();
    const a = await http(api.url, 'POST', '/v1/referrals', { token: both, body: msg });
    const b = await http(api.url, 'POST', '/v1/referrals', { token: both, body: { ...msg, uzovi: '7119' } });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).not.toBe(b.body.id);
  });

  it('turns 10 concurrent deliveries of one message into exactly one referral', async () => {
    const msg = referralMessage();
    const results = await Promise.all(Array.from({ length: 10 }, () => http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const { rows } = await db.query('SELECT count(*)::int AS n FROM referral WHERE message_id = $1', [msg.messageId]);
    expect(rows[0].n).toBe(1);
  });
});

describe('refused messages store nothing and name the field', () => {
  const tomorrow = daysAgo(-1);
  const base = referralMessage();
  const consent = base.consent;
  const without = (field: string) => {
    const m = referralMessage();
    delete m[field];
    return m;
  };
  const cases: Array<[string, string, Record<string, unknown>, RegExp]> = [
    ['bsn fails the elfproef', 'bsn', referralMessage({ bsn: '999999999' }), /elfproef/],
    ['bsn has a wrong check digit', 'bsn', referralMessage({ bsn: '123456783' }), /elfproef/],
    ['bsn all zeros', 'bsn', referralMessage({ bsn: '000000000' }), /elfproef/],
    ['bsn too short', 'bsn', referralMessage({ bsn: '1234567' }), /8 or 9 digits/],
    ['bsn too long', 'bsn', referralMessage({ bsn: '1234567890' }), /8 or 9 digits/],
    ['bsn with letters', 'bsn', referralMessage({ bsn: '12345678a' }), /8 or 9 digits/],
    ['bsn as a number', 'bsn', referralMessage({ bsn: 123456782 }), /string/],
    ['bsn missing', 'bsn', without('bsn'), /required/],
    ['verwijsdatum not a real date', 'verwijsdatum', referralMessage({ verwijsdatum: '2026-02-30' }), /real calendar date/],
    ['verwijsdatum in another format', 'verwijsdatum', referralMessage({ verwijsdatum: '20-11-2026' }), /YYYY-MM-DD/],
    ['verwijsdatum in the future', 'verwijsdatum', referralMessage({ verwijsdatum: tomorrow }), /future/],
    ['verwijsdatum missing', 'verwijsdatum', without('verwijsdatum'), /required/],
    ['klachtenprofiel unknown', 'klachtenprofiel', referralMessage({ klachtenprofiel: 'griep' }), /must be one of/],
    ['klachtenprofiel given as label', 'klachtenprofiel', referralMessage({ klachtenprofiel: 'Depressie' }), /must be one of/],
    ['klachtenprofiel missing', 'klachtenprofiel', without('klachtenprofiel'), /required/],
    ['dsmCode with spaces', 'dsmCode', referralMessage({ dsmCode: 'F32 1' }), /letters, digits or dots/],
    ['agb too short', 'agb', referralMessage({ agb: '9401234' }), /8 digits/],
    ['agb with letters', 'agb', referralMessage({ agb: '9401234x' }), /8 digits/],
    ['agb missing', 'agb', without('agb'), /required/],
    ['uzovi too long', 'uzovi', referralMessage({ uzovi: '33111' }), /4 digits/],
    ['uzovi missing', 'uzovi', without('uzovi'), /required/],
    ['messageId missing', 'messageId', without('messageId'), /required/],
    ['messageId too long', 'messageId', referralMessage({ messageId: 'x'.repeat(129) }), /1–128/],
    ['messageId with a space', 'messageId', referralMessage({ messageId: 'a b' }), /without spaces/],
    ['unknown top-level field', 'naam', referralMessage({ naam: 'Jansen' }), /not an allowed field/],
    ['unknown consent field', 'consent.extra', referralMessage({ consent: { ...consent, extra: true } }), /not an allowed field/],
    ['consent missing', 'consent', without('consent'), /consent/],
    ['consent null', 'consent', referralMessage({ consent: null }), /required/],
    ['consent not an object', 'consent', referralMessage({ consent: 'ja' }), /object/],
    ['consent scope for another purpose', 'consent.scope', referralMessage({ consent: { ...consent, scope: 'contractering' } }), /zorgbemiddeling/],
    ['consent scope missing', 'consent.scope', referralMessage({ consent: { id: 'c1', givenAt: consent.givenAt, channel: 'app' } }), /required/],
    ['consent givenAt in the future', 'consent.givenAt', referralMessage({ consent: { ...consent, givenAt: new Date(Date.now() + 86_400_000).toISOString() } }), /future/],
    ['consent givenAt without a zone', 'consent.givenAt', referralMessage({ consent: { ...consent, givenAt: '2026-11-01T10:00:00' } }), /time zone/],
    ['consent id missing', 'consent.id', referralMessage({ consent: { givenAt: consent.givenAt, scope: 'zorgbemiddeling', channel: 'app' } }), /required/],
    ['consent channel empty', 'consent.channel', referralMessage({ consent: { ...consent, channel: '' } }), /1–64/],
  ];

  it.each(cases)('%s → 400 naming %s', async (_name, field, body, reason) => {
    const before = await referralCount();
    const res = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    const detail = res.body.details.find((d: { field: string }) => d.field === field);
    expect(detail).toBeDefined();
    expect(detail.reason).toMatch(reason);
    // Never echo a BSN back in an error.
    if (typeof body.bsn === 'string') expect(JSON.stringify(res.body)).not.toContain(body.bsn);
    expect(await referralCount()).toBe(before);
  });

  it('refuses a message for an insurer the caller may not send for with 403, storing nothing', async () => {
    const before = await referralCount();
    const res = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: referralMessage({ uzovi: '7095' }) });
    expect(res.status).toBe(403);
    expect(res.body.details).toEqual([{ field: 'uzovi', reason: expect.stringMatching(/may send/) }]);
    expect(await referralCount()).toBe(before);
  });

  it.each([
    ['malformed JSON', 400, { rawBody: '{"messageId": ' }],
    ['a JSON array', 400, { rawBody: '[]' }],
    ['a JSON string', 400, { rawBody: '"hallo"' }],
    ['an empty body', 400, { rawBody: '' }],
    ['a form body', 415, { rawBody: 'bsn=123456782', headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
    ['a text body', 415, { rawBody: 'hello', headers: { 'content-type': 'text/plain' } }],
    ['a body over the size limit', 413, { rawBody: JSON.stringify({ pad: 'x'.repeat(3 * 1024 * 1024) }) }],
  ])('answers %s with a %s in the one error shape', async (_name, status, opts) => {
    const before = await referralCount();
    const res = await http(api.url, 'POST', '/v1/referrals', { token: rs(), ...(opts as object) });
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ statusCode: status, error: expect.any(String), message: expect.any(String), requestId: expect.any(String) });
    expect(await referralCount()).toBe(before);
  });
});

describe('reading a referral', () => {
  it('is tenant-bound: another insurer gets 404, as if it did not exist', async () => {
    const created = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: referralMessage() });
    await giveTask(db, created.body.id);
    expect((await http(api.url, 'GET', `/v1/referrals/${created.body.id}`, { token: mediator() })).status).toBe(200);
    const res = await http(api.url, 'GET', `/v1/referrals/${created.body.id}`, { token: mediator('7095') });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('answers an id that is not a UUID with 400 naming the field', async () => {
    const res = await http(api.url, 'GET', '/v1/referrals/123456782', { token: mediator() });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([{ field: 'id', reason: 'must be a UUID' }]);
  });

  it('answers an unknown id with 404', async () => {
    const res = await http(api.url, 'GET', '/v1/referrals/00000000-0000-4000-8000-000000000000', { token: token('mediation-lead', { uzovi: ['3311'] }) });
    expect(res.status).toBe(404);
  });
});
