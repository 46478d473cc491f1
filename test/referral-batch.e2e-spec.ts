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
