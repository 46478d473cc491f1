/**
 * Waiting-list snapshots at the TTP: streamed CSV and NDJSON, or a JSON array; every person
 * stored only as a pseudonym; one invalid row refuses the whole snapshot and leaves the previous
 * one in force; concurrent uploads end with exactly one snapshot in force.
 */
import type { Client } from 'pg';
import { stage1PrePseudonym, syntheticBsn } from '@app/core';
import { http, pg, RunningApi, startApi, token } from './support/harness';
import { addProvider } from './support/registry';

let api: RunningApi;
let db: Client;
const HEADER = 'clientRef,bsn,prePseudonym,location,diagnosisGroup,registeredOn,intakeOn,stage,waitsForThisProvider';
const provider = (agb: string) => token('provider', { agb, subject: `provider-${agb}` });

let seed = 40_000_000 + Math.floor(Math.random() * 1_000_000) * 7;
const person = () => syntheticBsn((seed += 13));

function row(o: { ref: string; bsn?: string; pre?: string; location?: string; group?: string; registeredOn?: string; intakeOn?: string; stage?: string; waits?: boolean }): string {
  return [
    o.ref,
    o.bsn ?? '',
    o.pre ?? '',
    o.location ?? 'a',
    o.group ?? 'depressie',
    o.registeredOn ?? '2026-09-01',
    o.intakeOn ?? '',
    o.stage ?? 'waiting-intake',
    String(o.waits ?? false),
  ].join(',');
}

async function upload(agb: string, body: string, type = 'text/csv') {
  return http(api.url, 'POST', '/v1/ttp/snapshots', { token: provider(agb), rawBody: body, headers: { 'content-type': type } });
}

async function inForce(agb: string) {
  const { rows } = await db.query(
    `SELECT c.snapshot_id, s.entries, (SELECT count(*)::int FROM ttp.snapshot_entry e WHERE e.snapshot_id = c.snapshot_id) AS stored,
            (SELECT count(*)::int FROM ttp.snapshot WHERE agb = $1) AS snapshots
       FROM ttp.current_snapshot c JOIN ttp.snapshot s ON s.id = c.snapshot_id WHERE c.agb = $1`,
    [agb],
  );
  return rows[0];
}

beforeAll(async () => {
  db = await pg();
  api = await startApi();
  for (const agb of ['73880001', '73880002', '73880003']) {
    await addProvider(db, {
      agb,
      name: `GGZ ${agb}`,
      locations: [
        { code: 'a', region: 'utrecht', groups: ['depressie', 'angst'] },
        { code: 'b', region: 'utrecht', groups: ['angst'] },
      ],
    });
  }
});
afterAll(async () => {
  await api?.close();
  await db?.end();
});

describe('a valid snapshot', () => {
  const shared = person();
  const bsns = [shared, person(), person()];

  it('is stored as pseudonyms only, and the same person sent as bsn or as prePseudonym is linked', async () => {
    const a = await upload(
      '73880001',
      [
        HEADER,
        row({ ref: 'K1', bsn: bsns[0] }),
        row({ ref: 'K2', bsn: bsns[1], stage: 'waiting-treatment', intakeOn: '2026-10-01', waits: true }),
        row({ ref: 'K3', bsn: bsns[2], location: 'b', group: 'angst' }),
      ].join('\n') + '\n',
    );
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ agb: '73880001', entries: 3, keyVersion: 1, replaced: null });
    // The other provider pseudonymised stage 1 itself, with the shared key (the development key here).
    const pre = stage1PrePseudonym(shared, api.config.ttp.stage1Key);
    const b = await upload('73880002', `${HEADER}\r\n${row({ ref: 'X9', pre })}\r\n`);
    expect(b.status).toBe(201);
    const { rows } = await db.query(
      `SELECT s.agb, e.client_ref, e.pseudonym FROM ttp.snapshot_entry e JOIN ttp.snapshot s ON s.id = e.snapshot_id
        WHERE s.agb IN ('73880001', '73880002') ORDER BY s.agb, e.row_no`,
    );
    expect(rows.map((r) => r.client_ref)).toEqual(['K1', 'K2', 'K3', 'X9']);
    expect(rows[3].pseudonym).toBe(rows[0].pseudonym);
    expect(new Set(rows.map((r) => r.pseudonym)).size).toBe(3);
    // No column of schema ttp holds a BSN, in any form, nor the stage-1 value.
    const dump = await db.query(`SELECT row_to_json(e)::text AS j FROM ttp.snapshot_entry e`);
    const text = dump.rows.map((r) => r.j).join('\n') + JSON.stringify((await db.query(`SELECT * FROM ttp.snapshot`)).rows);
    for (const bsn of bsns) {
      expect(text).not.toContain(bsn);
      expect(text).not.toContain(bsn.replace(/^0/, ''));
    }
    expect(text).not.toContain(pre);
  });

  it('replaces the previous snapshot at once; NDJSON and a JSON array work too', async () => {
    const before = await inForce('73880001');
    const nd = [
      {
        clientRef: 'K1',
        bsn: bsns[0],
        location: 'a',
        diagnosisGroup: 'depressie',
        registeredOn: '2026-09-01',
        intakeOn: null,
        stage: 'waiting-intake',
        waitsForThisProvider: false,
      },
      { clientRef: 'K4', bsn: person(), location: 'a', diagnosisGroup: 'depressie', registeredOn: '2026-09-02', stage: 'waiting-intake', waitsForThisProvider: true },
    ];
    const res = await upload('73880001', nd.map((o) => JSON.stringify(o)).join('\n'), 'application/x-ndjson');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ entries: 2, replaced: before.snapshot_id });
    expect(await inForce('73880001')).toMatchObject({ snapshot_id: res.body.snapshotId, entries: 2, stored: 2, snapshots: 1 });
    const json = await http(api.url, 'POST', '/v1/ttp/snapshots', { token: provider('73880001'), body: nd.slice(0, 1) });
    expect(json.status).toBe(201);
    expect(await inForce('73880001')).toMatchObject({ entries: 1, stored: 1, snapshots: 1 });
  });
});

describe('an invalid snapshot', () => {
  let before: any;
  beforeAll(async () => {
    expect((await upload('73880003', `${HEADER}\n${row({ ref: 'R1', bsn: person() })}\n`)).status).toBe(201);
    before = await inForce('73880003');
  });

  it('is refused whole, naming rows and fields, and the previous snapshot stays in force', async () => {
    const rows = [
      row({ ref: 'R1', bsn: person() }),
      row({ ref: 'R2', bsn: '123456789' }),
      row({ ref: 'R3', bsn: person(), pre: 'a'.repeat(64) }),
      row({ ref: 'R4', location: 'zz', bsn: person() }),
      row({ ref: 'R5', bsn: person(), stage: 'waiting-treatment' }),
      row({ ref: 'R6', bsn: person(), registeredOn: '2026-02-30', group: 'rouw' }),
      row({ ref: 'R7', pre: 'XYZ' }),
      row({ ref: 'R8', bsn: person(), waits: 'ja' as never }),
    ];
    const res = await upload('73880003', [HEADER, ...rows].join('\n'));
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/7 invalid row\(s\); nothing was stored and the previous snapshot stays in force/);
    expect(res.body.details).toEqual([
      { field: 'rows[1].bsn', reason: 'fails the elfproef (not a valid BSN)' },
      { field: 'rows[2].bsn', reason: 'give either bsn or prePseudonym, not both' },
      { field: 'rows[3].location', reason: 'is not a location of this provider in the registry' },
      { field: 'rows[4].intakeOn', reason: 'is required when the stage is waiting-treatment' },
      { field: 'rows[5].diagnosisGroup', reason: 'must be a diagnosis group code (e.g. depressie)' },
      { field: 'rows[5].registeredOn', reason: 'must be a date YYYY-MM-DD' },
      { field: 'rows[6].prePseudonym', reason: 'must be 64 lowercase hex characters (stage 1, see the README)' },
      { field: 'rows[7].waitsForThisProvider', reason: 'must be true or false' },
    ]);
    expect(JSON.stringify(res.body)).not.toMatch(/\d{9}/);
    expect(await inForce('73880003')).toEqual(before);
  });

  it('refuses a repeated clientRef, a wrong header, an empty file and other media types', async () => {
    const dup = await upload('73880003', [HEADER, row({ ref: 'D1', bsn: person() }), row({ ref: 'D2', bsn: person() }), row({ ref: 'D1', bsn: person() })].join('\n'));
    expect(dup.status).toBe(400);
    expect(dup.body.details).toEqual([{ field: 'rows[2].clientRef', reason: 'repeats the clientRef of row 0' }]);
    const header = await upload('73880003', `clientRef,bsn,location\n${'K1,x,a'}\n`);
    expect(header.status).toBe(400);
    expect(header.body.details).toEqual(expect.arrayContaining([{ field: '(header)', reason: 'column "stage" is missing' }]));
    const empty = await upload('73880003', `${HEADER}\n`);
    expect(empty.body.details).toEqual([{ field: '(body)', reason: 'holds no entries' }]);
    const quote = await upload('73880003', `${HEADER}\n"K1,${person()}\n`);
    expect(quote.status).toBe(400);
    expect((await upload('73880003', 'hello', 'text/plain')).status).toBe(415);
    expect(await inForce('73880003')).toEqual(before);
  });
});

describe('who may upload', () => {
  it('only a provider, for its own AGB (taken from the token)', async () => {
    const body = `${HEADER}\n${row({ ref: 'Z1', bsn: person() })}\n`;
    for (const role of ['mediator', 'mediation-lead', 'admin', 'ttp-operator', 'auditor', 'referral-service'] as const) {
      const res = await http(api.url, 'POST', '/v1/ttp/snapshots', { token: token(role, { uzovi: ['3311'] }), rawBody: body, headers: { 'content-type': 'text/csv' } });
      expect({ role, status: res.status }).toEqual({ role, status: 403 });
    }
  });
});

describe('concurrent uploads by one provider', () => {
  it('end with exactly one snapshot in force', async () => {
    await addProvider(db, { agb: '73880004', name: 'GGZ Race', locations: [{ code: 'a', region: 'utrecht', groups: ['depressie'] }] });
    const bodies = Array.from({ length: 6 }, (_, i) => [HEADER, ...Array.from({ length: 200 + i }, (_, k) => row({ ref: `C${k}`, bsn: person() }))].join('\n'));
    const results = await Promise.all(bodies.map((b) => upload('73880004', b)));
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201]);
    const now = await inForce('73880004');
    expect(now.snapshots).toBe(1);
    expect(now.stored).toBe(now.entries);
    expect(results.map((r) => r.body.snapshotId)).toContain(now.snapshot_id);
  });
});
