/**
 * The provider registry (/v1/providers…) against the real app and Postgres: single writes and
 * reads, filters and pagination, contract periods, and the all-or-nothing JSON and CSV imports.
 * Other suites share this run's database, so every provider here has an AGB of this file's own
 * (prefix 99 and a random block) and filters use an insurer code of this file's own.
 */
import type { Client } from 'pg';
import { http, pg, RunningApi, startApi, token } from './support/harness';

let api: RunningApi;
let db: Client;
const admin = () => token('admin');
const mediator = () => token('mediator', { uzovi: ['3311'] });

// A block of 200,000 AGBs of this run's own.
const BASE = 200_000 * Math.floor(Math.random() * 4);
const agb = (n: number) => `99${String(BASE + n).padStart(6, '0')}`;
// An insurer code no other suite uses, so contract filters see only this file's providers.
const UZOVI = String(8000 + Math.floor(Math.random() * 1000));

const LOC_HEADER = 'agb,providerName,code,name,postcode,municipality,region,diagnosisGroups';
const CONTRACT_HEADER = 'uzovi,agb,validFrom,validUntil';

function location(overrides: Record<string, unknown> = {}) {
  return { name: 'Vestiging Centrum', postcode: '1011AB', municipality: 'Amsterdam', region: 'amsterdam', diagnosisGroups: ['depressie'], ...overrides };
}

async function count(table: 'provider' | 'provider_location' | 'insurer_contract', agbs: string[]): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM ${table} WHERE agb = ANY($1::text[])`, [agbs]);
  return rows[0].n;
}

const csv = (text: string) => ({ rawBody: text, headers: { 'content-type': 'text/csv; charset=utf-8' } });

beforeAll(async () => {
  api = await startApi();
  db = await pg();
});
afterAll(async () => {
  await db.end();
  await api.close();
});

describe('providers and locations', () => {
  it('creates a provider (201), renames it (200), and reads it back', async () => {
    const a = agb(1);
    const created = await http(api.url, 'PUT', `/v1/providers/${a}`, { token: admin(), body: { name: 'GGZ Proef' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ agb: a, name: 'GGZ Proef', locations: [] });

    const renamed = await http(api.url, 'PUT', `/v1/providers/${a}`, { token: admin(), body: { name: 'GGZ Proef Noord' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('GGZ Proef Noord');
    expect(renamed.body.createdAt).toBe(created.body.createdAt);

    // The same name again is not a change: updatedAt stays.
    const same = await http(api.url, 'PUT', `/v1/providers/${a}`, { token: admin(), body: { name: 'GGZ Proef Noord' } });
    expect(same.status).toBe(200);
    expect(same.body.updatedAt).toBe(renamed.body.updatedAt);

    const got = await http(api.url, 'GET', `/v1/providers/${a}`, { token: mediator() });
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ agb: a, name: 'GGZ Proef Noord', createdAt: created.body.createdAt, updatedAt: renamed.body.updatedAt, locations: [], contracts: [] });
  });

  it('creates and updates a location, storing the postcode normalised', async () => {
    const a = agb(2);
    await http(api.url, 'PUT', `/v1/providers/${a}`, { token: admin(), body: { name: 'GGZ Locaties' } });
    const path = `/v1/providers/${a}/locations/centrum`;
    const created = await http(api.url, 'PUT', path, { token: admin(), body: location({ postcode: '1234 ab', diagnosisGroups: ['trauma', 'angst'] }) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ code: 'centrum', postcode: '1234AB', region: 'amsterdam', diagnosisGroups: ['angst', 'trauma'] });

    const updated = await http(api.url, 'PUT', path, { token: admin(), body: location({ name: 'Centrum (nieuw)', region: 'utrecht', diagnosisGroups: [] }) });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id: created.body.id, name: 'Centrum (nieuw)', region: 'utrecht', diagnosisGroups: [] });

    const got = await http(api.url, 'GET', `/v1/providers/${a}`, { token: token('provider', { agb: a }) });
    expect(got.body.locations).toEqual([updated.body]);
    const { rows } = await db.query('SELECT postcode FROM provider_location WHERE agb = $1', [a]);
    expect(rows).toEqual([{ postcode: '1011AB' }]);
  });

  it('answers 404 for an unknown provider, on reads and on location writes', async () => {
    const a = agb(3);
    expect((await http(api.url, 'GET', `/v1/providers/${a}`, { token: admin() })).status).toBe(404);
    const res = await http(api.url, 'PUT', `/v1/providers/${a}/locations/x`, { token: admin(), body: location() });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it.each([
    ['a malformed AGB in the path', 'PUT', '/v1/providers/1234', { name: 'x' }, ['agb']],
    ['a blank name', 'PUT', `/v1/providers/${agb(4)}`, { name: '  ' }, ['name']],
    ['a NUL byte in the name', 'PUT', `/v1/providers/${agb(4)}`, { name: 'a\u0000b' }, ['name']],
    ['an unknown field', 'PUT', `/v1/providers/${agb(4)}`, { name: 'x', colour: 'blue' }, ['colour']],
    ['a location code unfit for a path', 'PUT', `/v1/providers/${agb(1)}/locations/${'x'.repeat(41)}`, location(), ['code']],
    [
      'a bad postcode, region and diagnosis group',
      'PUT',
      `/v1/providers/${agb(1)}/locations/west`,
      location({ postcode: '0123AB', region: 'atlantis', diagnosisGroups: ['sadness'] }),
      ['postcode', 'region', 'diagnosisGroups'],
    ],
    ['a missing municipality', 'PUT', `/v1/providers/${agb(1)}/locations/west`, { ...location(), municipality: undefined }, ['municipality']],
  ])('refuses %s with 400 naming the field', async (_name, method, path, body, fields) => {
    const res = await http(api.url, method, path, { token: admin(), body });
    expect(res.status).toBe(400);
    expect(res.body.details.map((d: { field: string }) => d.field)).toEqual(fields);
    expect(JSON.stringify(res.body)).not.toMatch(/atlantis|sadness|blue/);
  });
});

describe('contracts', () => {
  const a = agb(10);
  beforeAll(async () => {
    await http(api.url, 'PUT', `/v1/providers/${a}`, { token: admin(), body: { name: 'GGZ Contract' } });
  });

  it('records contracts, refuses an overlapping period with 409, and allows adjacent ones and other insurers', async () => {
    const post = (body: object) => http(api.url, 'POST', `/v1/providers/${a}/contracts`, { token: admin(), body });
    const first = await post({ uzovi: '3311', validFrom: '2026-01-01', validUntil: '2027-01-01' });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ id: expect.any(String), uzovi: '3311', agb: a, validFrom: '2026-01-01', validUntil: '2027-01-01' });

    const overlap = await post({ uzovi: '3311', validFrom: '2026-06-01', validUntil: null });
    expect(overlap.status).toBe(409);
    expect(overlap.body).toMatchObject({ statusCode: 409, error: 'Conflict', details: [{ field: 'validFrom', reason: expect.stringContaining('overlaps') }] });

    // [from, until): a contract starting on the day the previous one ends does not overlap.
    expect((await post({ uzovi: '3311', validFrom: '2027-01-01' })).status).toBe(201);
    expect((await post({ uzovi: '7095', validFrom: '2026-06-01', validUntil: null })).status).toBe(201);

    const got = await http(api.url, 'GET', `/v1/providers/${a}`, { token: mediator() });
    expect(got.body.contracts.map((c: any) => [c.uzovi, c.validFrom, c.validUntil])).toEqual([
      ['3311', '2026-01-01', '2027-01-01'],
      ['3311', '2027-01-01', null],
      ['7095', '2026-06-01', null],
    ]);

    expect((await http(api.url, 'DELETE', `/v1/providers/${a}/contracts/${first.body.id}`, { token: admin() })).status).toBe(204);
    expect((await http(api.url, 'DELETE', `/v1/providers/${a}/contracts/${first.body.id}`, { token: admin() })).status).toBe(404);
    // With the first one gone, its period is free again.
    expect((await post({ uzovi: '3311', validFrom: '2026-06-01', validUntil: '2027-01-01' })).status).toBe(201);
  });

  it.each([
    ['validUntil not after validFrom', { uzovi: '3311', validFrom: '2030-01-01', validUntil: '2030-01-01' }, 'validUntil'],
    ['an impossible date', { uzovi: '3311', validFrom: '2030-02-30' }, 'validFrom'],
    ['a malformed uzovi', { uzovi: '331', validFrom: '2030-01-01' }, 'uzovi'],
  ])('refuses %s with 400 naming the field', async (_name, body, field) => {
    const res = await http(api.url, 'POST', `/v1/providers/${a}/contracts`, { token: admin(), body });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([{ field, reason: expect.any(String) }]);
  });

  it('answers 404 for a contract of an unknown provider and 400 for a malformed contract id', async () => {
    expect((await http(api.url, 'POST', `/v1/providers/${agb(11)}/contracts`, { token: admin(), body: { uzovi: '3311', validFrom: '2026-01-01' } })).status).toBe(404);
    const res = await http(api.url, 'DELETE', `/v1/providers/${a}/contracts/not-a-uuid`, { token: admin() });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([{ field: 'id', reason: 'must be a UUID' }]);
  });
});

describe('listing', () => {
  // Seven providers of this file, all contracted by UZOVI; p(0) has two locations.
  const ids = [20, 21, 22, 23, 24, 25, 26].map(agb);
  beforeAll(async () => {
    const res = await http(api.url, 'POST', '/v1/providers/import', {
      token: admin(),
      body: {
        providers: ids.map((a, i) => ({
          agb: a,
          name: `Lijst ${i}`,
          locations:
            i === 0
              ? [
                  { code: 'a', ...location({ region: 'amsterdam', diagnosisGroups: ['angst'] }) },
                  { code: 'u', ...location({ region: 'utrecht', diagnosisGroups: ['trauma'] }) },
                ]
              : [{ code: 'a', ...location({ region: i % 2 ? 'zeeland' : 'amsterdam', diagnosisGroups: i % 3 ? ['trauma'] : ['angst'] }) }],
        })),
        contracts: [
          ...ids.map((a) => ({ uzovi: UZOVI, agb: a, validFrom: '2020-01-01', validUntil: null })),
          // Only in 2020 (until is exclusive), with another insurer code of this file's own.
          { uzovi: String(Number(UZOVI) + 1000).slice(-4), agb: ids[1], validFrom: '2020-01-01', validUntil: '2021-01-01' },
        ],
      },
    });
    expect(res.status).toBe(200);
  });

  const list = (query: string, t = mediator()) => http(api.url, 'GET', `/v1/providers?${query}`, { token: t });

  it('pages through the providers of an insurer in AGB order', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const res: { status: number; body: any } = await list(`uzovi=${UZOVI}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      sizes.push(res.body.items.length);
      seen.push(...res.body.items.map((p: { agb: string }) => p.agb));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen).toEqual(ids);
  });

  it('filters by region and diagnosis group together (the same location must match)', async () => {
    const agbs = async (q: string) => (await list(`uzovi=${UZOVI}&limit=500&${q}`)).body.items.map((p: { agb: string }) => p.agb);
    // i=0: amsterdam/angst + utrecht/trauma; odd i: zeeland; i%3==0: angst, else trauma.
    expect(await agbs('region=amsterdam')).toEqual([ids[0], ids[2], ids[4], ids[6]]);
    expect(await agbs('region=amsterdam&diagnosisGroup=angst')).toEqual([ids[0], ids[6]]);
    expect(await agbs('region=amsterdam&diagnosisGroup=trauma')).toEqual([ids[2], ids[4]]);
    expect(await agbs('diagnosisGroup=trauma')).toEqual([ids[0], ids[1], ids[2], ids[4], ids[5]]);
    const full = (await list(`uzovi=${UZOVI}&region=utrecht`)).body.items;
    expect(full).toHaveLength(1);
    expect(full[0].locations.map((l: { code: string }) => l.code)).toEqual(['a', 'u']);
  });

  it('filters by the contracts in force on a day (today by default)', async () => {
    const other = String(Number(UZOVI) + 1000).slice(-4);
    expect((await list(`uzovi=${other}`)).body.items).toEqual([]);
    expect((await list(`uzovi=${other}&contractedOn=2020-06-01`)).body.items.map((p: { agb: string }) => p.agb)).toEqual([ids[1]]);
    expect((await list(`uzovi=${other}&contractedOn=2021-01-01`)).body.items).toEqual([]);
  });

  it('defaults to 50 a page and is readable by providers and admins too', async () => {
    const res = await list('', token('provider', { agb: ids[0] }));
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeLessThanOrEqual(50);
    expect((await list(`uzovi=${UZOVI}`, admin())).body.items).toHaveLength(7);
  });

  it.each([
    ['limit=501', 'limit'],
    ['limit=0', 'limit'],
    ['limit=ten', 'limit'],
    ['cursor=zzz', 'cursor'],
    ['region=atlantis', 'region'],
    ['diagnosisGroup=sadness', 'diagnosisGroup'],
    ['uzovi=12', 'uzovi'],
    ['contractedOn=2026-01-01', 'contractedOn'],
    ['region=amsterdam&region=utrecht', 'region'],
    ['colour=blue', 'colour'],
  ])('refuses ?%s with 400 naming %s', async (q, field) => {
    const res = await list(q);
    expect(res.status).toBe(400);
    expect(res.body.details.map((d: { field: string }) => d.field)).toEqual([field]);
  });
});

describe('JSON import', () => {
  const ids = [40, 41, 42].map(agb);
  const body = () => ({
    providers: ids.map((a, i) => ({
      agb: a,
      name: `Import ${i}`,
      locations: [
        { code: 'hoofd', ...location({ postcode: '3511 aa', region: 'utrecht' }) },
        { code: 'bij', ...location({ diagnosisGroups: ['eetstoornissen', 'angst'] }) },
      ],
    })),
    contracts: [{ uzovi: '3311', agb: ids[0], validFrom: '2026-01-01', validUntil: null }],
  });
  const post = (b: unknown) => http(api.url, 'POST', '/v1/providers/import', { token: admin(), body: b });

  it('stores everything and reports counts; a re-import changes nothing', async () => {
    const first = await post(body());
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      providers: { created: 3, updated: 0, unchanged: 0 },
      locations: { created: 6, updated: 0, unchanged: 0 },
      contracts: { created: 1, updated: 0, unchanged: 0 },
    });
    const again = await post(body());
    expect(again.body).toEqual({
      providers: { created: 0, updated: 0, unchanged: 3 },
      locations: { created: 0, updated: 0, unchanged: 6 },
      contracts: { created: 0, updated: 0, unchanged: 1 },
    });
    const { rows } = await db.query(`SELECT postcode, diagnosis_groups FROM provider_location WHERE agb = $1 ORDER BY code`, [ids[0]]);
    expect(rows).toEqual([
      { postcode: '1011AB', diagnosis_groups: ['angst', 'eetstoornissen'] },
      { postcode: '3511AA', diagnosis_groups: ['depressie'] },
    ]);
  });

  it('updates what changed, and ends an open contract by its (uzovi, agb, validFrom)', async () => {
    const b = body();
    b.providers[1].name = 'Import 1 (hernoemd)';
    b.providers[2].locations[0].municipality = 'Utrecht';
    b.contracts[0].validUntil = '2027-01-01' as never;
    const res = await post(b);
    expect(res.body).toEqual({
      providers: { created: 0, updated: 1, unchanged: 2 },
      locations: { created: 0, updated: 1, unchanged: 5 },
      contracts: { created: 0, updated: 1, unchanged: 0 },
    });
    const { rows } = await db.query(`SELECT to_char(valid_until, 'YYYY-MM-DD') AS until FROM insurer_contract WHERE agb = $1`, [ids[0]]);
    expect(rows).toEqual([{ until: '2027-01-01' }]);
  });

  it('refuses an import with one bad row: 400 with the row errors, nothing stored', async () => {
    const fresh = [50, 51, 52].map(agb);
    const b = body();
    b.providers.forEach((p, i) => (p.agb = fresh[i]));
    b.contracts = [];
    b.providers[1].locations[1].region = 'atlantis';
    const res = await post(b);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      statusCode: 400,
      message: expect.stringContaining('nothing was stored'),
      details: [{ field: 'providers[1].locations[1].region', reason: expect.stringMatching(/^must be a waiting-list region code/) }],
    });
    expect(await count('provider', fresh)).toBe(0);
  });

  it('refuses a contract of an unknown provider (400) and one overlapping a stored contract (409), rolling back the providers too', async () => {
    const fresh = agb(53);
    const provider = { agb: fresh, name: 'Nieuw', locations: [{ code: 'x', ...location() }] };
    const unknown = await post({ providers: [provider], contracts: [{ uzovi: '3311', agb: agb(54), validFrom: '2026-01-01', validUntil: null }] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.details).toEqual([{ field: 'contracts[0].agb', reason: expect.stringContaining('not a registered provider') }]);

    // ids[0] holds 3311 [2026-01-01, 2027-01-01); this one starts inside it.
    const overlap = await post({ providers: [provider], contracts: [{ uzovi: '3311', agb: ids[0], validFrom: '2026-06-01', validUntil: null }] });
    expect(overlap.status).toBe(409);
    expect(overlap.body.details).toEqual([{ field: 'contracts[0].validFrom', reason: expect.stringContaining('overlaps') }]);
    expect(await count('provider', [fresh])).toBe(0);
    expect(await count('provider_location', [fresh])).toBe(0);
  });

  it('may end a stored contract and start the next one in the same import', async () => {
    const a = agb(55);
    const put = (contracts: object[]) => post({ providers: [{ agb: a, name: 'Opvolging' }], contracts });
    expect((await put([{ uzovi: '7119', agb: a, validFrom: '2025-01-01', validUntil: null }])).status).toBe(200);
    const res = await put([
      { uzovi: '7119', agb: a, validFrom: '2025-01-01', validUntil: '2026-01-01' },
      { uzovi: '7119', agb: a, validFrom: '2026-01-01', validUntil: null },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.contracts).toEqual({ created: 1, updated: 1, unchanged: 0 });
  });

  it('lists at most 100 errors and says how many there were', async () => {
    const providers = Array.from({ length: 150 }, (_, i) => ({ agb: `99x${i}`, name: 'x' }));
    const res = await post({ providers });
    expect(res.status).toBe(400);
    expect(res.body.details).toHaveLength(100);
    expect(res.body.details[0]).toEqual({ field: 'providers[0].agb', reason: 'must be exactly 8 digits' });
    expect(res.body.message).toContain('150 errors (the first 100 are listed)');
  });

  it('refuses a body that is not an import', async () => {
    for (const b of [{}, [], { providers: 'all' }]) {
      const res = await post(b);
      expect(res.status).toBe(400);
      expect(res.body.details.length).toBeGreaterThan(0);
    }
  });
});

describe('CSV import', () => {
  const ids = [60, 61].map(agb);
  const rows = (a = ids) => [
    LOC_HEADER,
    `${a[0]},"GGZ Csv, Zuid",zuid,Zuid,5611 AB,Eindhoven,zuidoost-brabant,depressie|angst`,
    `${a[0]},"GGZ Csv, Zuid",noord,Noord,5612AB,Eindhoven,zuidoost-brabant,`,
    `${a[1]},GGZ Csv Twee,hoofd,Hoofdlocatie,7511AA,Enschede,twente,trauma`,
  ];
  const post = (text: string, route = '/v1/providers/import') => http(api.url, 'POST', route, { token: admin(), ...csv(text) });

  it('stores providers and locations from CSV; a re-import changes nothing', async () => {
    const first = await post(rows().join('\r\n') + '\r\n');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      providers: { created: 2, updated: 0, unchanged: 0 },
      locations: { created: 3, updated: 0, unchanged: 0 },
      contracts: { created: 0, updated: 0, unchanged: 0 },
    });
    const got = await http(api.url, 'GET', `/v1/providers/${ids[0]}`, { token: mediator() });
    expect(got.body).toMatchObject({
      name: 'GGZ Csv, Zuid',
      locations: [
        { code: 'noord', diagnosisGroups: [] },
        { code: 'zuid', postcode: '5611AB', diagnosisGroups: ['angst', 'depressie'] },
      ],
    });

    const again = await post(rows().join('\n'));
    expect(again.body.providers).toEqual({ created: 0, updated: 0, unchanged: 2 });
    expect(again.body.locations).toEqual({ created: 0, updated: 0, unchanged: 3 });
  });

  it('refuses a file with one bad row: 400 naming rows[n].column, nothing stored', async () => {
    const fresh = [62, 63].map(agb);
    const lines = rows(fresh);
    lines[3] = lines[3].replace('7511AA', '07511A');
    const res = await post(lines.join('\n'));
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([{ field: 'rows[2].postcode', reason: expect.stringMatching(/^must be a Dutch postcode/) }]);
    expect(await count('provider', fresh)).toBe(0);
  });

  it('imports contracts from CSV, naming rows in its refusals', async () => {
    const route = '/v1/providers/contracts/import';
    const ok = await post(`${CONTRACT_HEADER}\n3311,${ids[0]},2026-01-01,\n7095,${ids[0]},2026-01-01,2027-01-01\n`, route);
    expect(ok.status).toBe(200);
    expect(ok.body.contracts).toEqual({ created: 2, updated: 0, unchanged: 0 });
    expect((await post(`${CONTRACT_HEADER}\n3311,${ids[0]},2026-01-01,\n`, route)).body.contracts).toEqual({ created: 0, updated: 0, unchanged: 1 });

    const overlap = await post(`${CONTRACT_HEADER}\n3332,${ids[1]},2026-01-01,\n3311,${ids[0]},2026-03-01,\n`, route);
    expect(overlap.status).toBe(409);
    expect(overlap.body.details).toEqual([{ field: 'rows[1].validFrom', reason: expect.stringContaining('overlaps') }]);
    expect(await count('insurer_contract', [ids[1]])).toBe(0);

    const unknown = await post(`${CONTRACT_HEADER}\n3311,${agb(64)},2026-01-01,\n`, route);
    expect(unknown.status).toBe(400);
    expect(unknown.body.details).toEqual([{ field: 'rows[0].agb', reason: expect.any(String) }]);

    const json = await http(api.url, 'POST', route, { token: admin(), body: { contracts: [{ uzovi: '3332', agb: ids[1], validFrom: '2026-01-01', validUntil: null }] } });
    expect(json.status).toBe(200);
    expect(json.body.contracts.created).toBe(1);
  });

  it('refuses a wrong header with 400, other content types with 415, and CSV on other routes with 415', async () => {
    const bad = await post('agb;naam\n1;2\n');
    expect(bad.status).toBe(400);
    expect(bad.body.details[0].field).toMatch(/^header/);
    const plain = await http(api.url, 'POST', '/v1/providers/import', { token: admin(), rawBody: rows().join('\n'), headers: { 'content-type': 'text/plain' } });
    expect(plain.status).toBe(415);
    expect(plain.body.message).toContain('text/csv');
    const elsewhere = await http(api.url, 'PUT', `/v1/providers/${ids[0]}`, { token: admin(), ...csv('name\nx\n') });
    expect(elsewhere.status).toBe(415);
    expect(elsewhere.body.message).toBe('Unsupported content type: send application/json');
  });

  it('applies the body limit to CSV (413)', async () => {
    const small = await startApi({ BODY_LIMIT_BYTES: '2048' });
    try {
      const res = await http(small.url, 'POST', '/v1/providers/import', { token: admin(), ...csv(rows().join('\n') + '\n' + 'x'.repeat(4096)) });
      expect(res.status).toBe(413);
    } finally {
      await small.close();
    }
  });

  it('lets only admins import', async () => {
    expect((await http(api.url, 'POST', '/v1/providers/import', { token: mediator(), ...csv(rows().join('\n')) })).status).toBe(403);
    expect((await http(api.url, 'POST', '/v1/providers/contracts/import', { token: token('provider', { agb: ids[0] }), ...csv(`${CONTRACT_HEADER}\n`) })).status).toBe(403);
  });
});

describe('a national-size import', () => {
  it('stores 5,000 locations of 1,000 providers from CSV in a few seconds, and re-imports them as JSON unchanged', async () => {
    const groups = ['angst', 'depressie', 'trauma', 'eetstoornissen', 'persoonlijkheid'];
    const regions = ['groningen', 'amsterdam', 'rotterdam', 'zeeland', 'zuid-limburg'];
    const providers = Array.from({ length: 1000 }, (_, i) => ({
      agb: agb(100_000 + i),
      name: `Landelijk ${i}`,
      locations: Array.from({ length: 5 }, (_, k) => ({
        code: `loc-${k}`,
        name: `Locatie ${k}`,
        postcode: `${1000 + ((i * 5 + k) % 9000)}AB`,
        municipality: 'Ergens',
        region: regions[k],
        diagnosisGroups: groups.slice(0, 1 + ((i + k) % groups.length)).sort(),
      })),
    }));
    const text = [
      LOC_HEADER,
      ...providers.flatMap((p) => p.locations.map((l) => [p.agb, p.name, l.code, l.name, l.postcode, l.municipality, l.region, l.diagnosisGroups.join('|')].join(','))),
    ].join('\n');

    // Speed is the benchmark's business; this shows a national-size import works in one piece.
    const res = await http(api.url, 'POST', '/v1/providers/import', { token: admin(), ...csv(text) });
    expect(res.status).toBe(200);
    expect(res.body.providers).toEqual({ created: 1000, updated: 0, unchanged: 0 });
    expect(res.body.locations).toEqual({ created: 5000, updated: 0, unchanged: 0 });
    expect(
      await count(
        'provider_location',
        providers.map((p) => p.agb),
      ),
    ).toBe(5000);

    const again = await http(api.url, 'POST', '/v1/providers/import', { token: admin(), body: { providers } });
    expect(again.status).toBe(200);
    expect(again.body.locations).toEqual({ created: 0, updated: 0, unchanged: 5000 });
  });
});

describe('roles', () => {
  const a = agb(70);
  it('lets insurer staff and providers read but not write; other roles get 403', async () => {
    await http(api.url, 'PUT', `/v1/providers/${a}`, { token: admin(), body: { name: 'Rollen' } });
    for (const role of ['mediator', 'mediation-lead'] as const) {
      const t = token(role, { uzovi: ['3311'] });
      expect((await http(api.url, 'GET', `/v1/providers/${a}`, { token: t })).status).toBe(200);
      expect((await http(api.url, 'PUT', `/v1/providers/${a}`, { token: t, body: { name: 'x' } })).status).toBe(403);
      expect((await http(api.url, 'PUT', `/v1/providers/${a}/locations/x`, { token: t, body: location() })).status).toBe(403);
      expect((await http(api.url, 'POST', `/v1/providers/${a}/contracts`, { token: t, body: { uzovi: '3311', validFrom: '2026-01-01' } })).status).toBe(403);
    }
    expect((await http(api.url, 'PUT', `/v1/providers/${a}`, { token: token('provider', { agb: a }), body: { name: 'x' } })).status).toBe(403);
    expect((await http(api.url, 'GET', `/v1/providers/${a}`, { token: token('referral-service', { uzovi: ['3311'] }) })).status).toBe(403);
    expect((await http(api.url, 'GET', '/v1/providers', { token: token('ttp-operator') })).status).toBe(403);
    expect((await http(api.url, 'GET', `/v1/providers/${a}`)).status).toBe(401);
    const { rows } = await db.query('SELECT name FROM provider WHERE agb = $1', [a]);
    expect(rows).toEqual([{ name: 'Rollen' }]);
  });
});
