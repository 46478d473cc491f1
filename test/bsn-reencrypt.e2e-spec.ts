/**
 * BSN key rotation: referrals delivered under the development key "dev1" are re-encrypted under
 * a new key "k2" in batches (rows held by another transaction are skipped and taken by a next
 * run), a repeat changes nothing, an API configured with only the new key still reads them, and
 * withdrawn referrals stay erased. Works for insurer 8721 only.
 *
 * The job works on the whole table, so at the end everything is rotated back to "dev1": files
 * that run after this one read their referrals with the default configuration.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { createAppDataSource } from '@app/migrations/data-source';
import { AppConfig, BsnVault } from '@app/platform';
import { describeReencryptReport, ReencryptReport, reencryptBsns } from '@app/referrals';
import { giveTask, http, pg, referralMessage, startApi, testConfig, token } from './support/harness';

const UZOVI = '8721';
const rs = () => token('referral-service', { uzovi: [UZOVI], subject: 'verwijsdienst' });
const mediator = () => token('mediator', { uzovi: [UZOVI], subject: 'mediator-8721' });

const dev1 = testConfig().bsn.keys.get('dev1')!.toString('base64');
const k2 = randomBytes(32).toString('base64');
const env = {
  rotated: { BSN_ENCRYPTION_KEYS: `dev1:${dev1},k2:${k2}`, BSN_ENCRYPTION_KEY_ID: 'k2' },
  onlyNew: { BSN_ENCRYPTION_KEYS: `k2:${k2}`, BSN_ENCRYPTION_KEY_ID: 'k2' },
  back: { BSN_ENCRYPTION_KEYS: `dev1:${dev1},k2:${k2}`, BSN_ENCRYPTION_KEY_ID: 'dev1' },
};

let db: Client;
let ds: DataSource;
const delivered: Array<{ id: string; bsn: string; messageId: string; msg: Record<string, any> }> = [];
let withdrawnId: string;
let taskId: string;

interface Row {
  id: string;
  bsn_key_id: string | null;
  bsn_ciphertext: Buffer | null;
  bsn_blind_index: string | null;
  content_fingerprint: string | null;
}
async function rows(): Promise<Map<string, Row>> {
  const { rows: rs } = await db.query(`SELECT id, bsn_key_id, bsn_ciphertext, bsn_blind_index, content_fingerprint FROM referral WHERE uzovi = $1`, [UZOVI]);
  return new Map(rs.map((r: Row) => [r.id, r]));
}

async function run(config: AppConfig, batchSize = 2): Promise<ReencryptReport> {
  const report = await reencryptBsns(ds, config.bsn, { batchSize });
  // What an operator sees: counts and key ids, never a BSN.
  const shown = JSON.stringify(report) + describeReencryptReport(report).join('\n');
  for (const d of delivered) expect(shown).not.toContain(d.bsn);
  return report;
}

let before: Map<string, Row>;

beforeAll(async () => {
  db = await pg();
  const api = await startApi();
  try {
    for (let i = 0; i < 5; i++) {
      const msg = referralMessage({ uzovi: UZOVI });
      const res = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg });
      expect(res.status).toBe(201);
      delivered.push({ id: res.body.id, bsn: msg.bsn, messageId: msg.messageId, msg });
    }
    // One person withdraws consent: their BSN is erased (NULL ciphertext and key id).
    const withdrawn = delivered.pop()!;
    expect((await http(api.url, 'POST', '/v1/consent-withdrawals', { token: rs(), body: { messageId: withdrawn.messageId } })).status).toBe(200);
    withdrawnId = withdrawn.id;
    taskId = await giveTask(db, delivered[0].id);
  } finally {
    await api.close();
  }
  ds = createAppDataSource(testConfig(), 'ggz-test-reencrypt');
  await ds.initialize();
  before = await rows();
});

afterAll(async () => {
  // Everything back under dev1 for the files that run after this one.
  if (ds?.isInitialized) {
    await reencryptBsns(ds, testConfig(env.back).bsn, { batchSize: 500 });
    await ds.destroy();
  }
  await db?.end();
});

it('starts with the referrals under dev1 and the withdrawn one erased', () => {
  for (const d of delivered) expect(before.get(d.id)!.bsn_key_id).toBe('dev1');
  expect(before.get(withdrawnId)).toMatchObject({ bsn_key_id: null, bsn_ciphertext: null });
});

it('re-encrypts in batches under the new key, skipping a row another transaction holds, and a next run takes it', async () => {
  const held = await pg();
  try {
    await held.query('BEGIN');
    await held.query('SELECT id FROM referral WHERE id = $1 FOR UPDATE', [delivered[1].id]);
    const first = await run(testConfig(env.rotated));
    expect(first.currentKeyId).toBe('k2');
    // Every dev1 referral of this run's database (other files' too), except the one held.
    expect(first.reencrypted.dev1).toBeGreaterThanOrEqual(delivered.length - 1);
    expect(first.total).toBe(first.reencrypted.dev1);
    expect(first.batches).toBeGreaterThanOrEqual(2);
    expect(first.leftOver).toBeGreaterThanOrEqual(1);
    expect(describeReencryptReport(first).join('\n')).toMatch(/re-encrypted \d+ referral\(s\) under key "k2" in \d+ batch\(es\), \d+\.\d s: \d+ from "dev1"/);
    const mid = await rows();
    expect(mid.get(delivered[1].id)!.bsn_key_id).toBe('dev1');
    for (const d of [delivered[0], ...delivered.slice(2)]) expect(mid.get(d.id)!.bsn_key_id).toBe('k2');
  } finally {
    await held.query('COMMIT');
    await held.end();
  }
  const second = await run(testConfig(env.rotated));
  expect(second.reencrypted.dev1).toBeGreaterThanOrEqual(1);
  expect(second.leftOver).toBe(0);

  const after = await rows();
  const vault = new BsnVault(testConfig(env.onlyNew).bsn);
  for (const d of delivered) {
    const was = before.get(d.id)!;
    const now = after.get(d.id)!;
    expect(now.bsn_key_id).toBe('k2');
    expect(now.bsn_ciphertext!.equals(was.bsn_ciphertext!)).toBe(false);
    // The blind index and the fingerprint are under their own keys: unchanged.
    expect(now.bsn_blind_index).toBe(was.bsn_blind_index);
    expect(now.content_fingerprint).toBe(was.content_fingerprint);
    expect(vault.open({ keyId: 'k2', ciphertext: now.bsn_ciphertext! })).toBe(d.bsn);
  }
  expect(after.get(withdrawnId)).toMatchObject({ bsn_key_id: null, bsn_ciphertext: null, bsn_blind_index: null });
});

it('changes nothing when run again', async () => {
  const was = await rows();
  const again = await run(testConfig(env.rotated), 1000);
  expect(again).toMatchObject({ total: 0, batches: 0, reencrypted: {}, leftOver: 0 });
  expect(describeReencryptReport(again)[0]).toMatch(/^nothing to re-encrypt/);
  const now = await rows();
  for (const [id, r] of was) expect(now.get(id)).toEqual(r);
});

it('lets the old key go: an API with only the new key reads, takes re-deliveries and writes under it', async () => {
  const api = await startApi(env.onlyNew);
  try {
    const claim = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/claim`, { token: mediator(), body: { version: 1 } });
    expect(claim.status).toBe(200);
    const task = await http(api.url, 'GET', `/v1/worklist/tasks/${taskId}`, { token: mediator() });
    expect(task.status).toBe(200);
    expect(task.body.referral).toMatchObject({ id: delivered[0].id, bsn: delivered[0].bsn, bsnMasked: false });
    const referral = await http(api.url, 'GET', `/v1/referrals/${delivered[0].id}`, { token: mediator() });
    expect(referral.status).toBe(200);
    expect(referral.body.bsn).toBe(`*****${delivered[0].bsn.slice(-4)}`);
    // A re-delivery is recognised by its fingerprint (unchanged by the rotation).
    const again = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: delivered[2].msg });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(delivered[2].id);
    const fresh = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: referralMessage({ uzovi: UZOVI }) });
    expect(fresh.status).toBe(201);
    expect((await db.query('SELECT bsn_key_id FROM referral WHERE id = $1', [fresh.body.id])).rows[0].bsn_key_id).toBe('k2');
    expect(api.logs.text).not.toMatch(/"level":50/);
    for (const d of delivered) expect(api.logs.text).not.toContain(d.bsn);
  } finally {
    await api.close();
  }
  // With only the new key there is nothing left to do.
  expect((await run(testConfig(env.onlyNew))).total).toBe(0);
});
