/**
 * Property-based fuzzing (fast-check) of POST /fhir/Bundle against the real API, Postgres and
 * Redis, after test/fuzz.e2e-spec.ts: valid referral Bundles (transaction and message) mutated
 * anywhere in their tree — elements dropped, set to junk of every JSON type (invalid and valid
 * BSNs, impossible dates, huge and unicode strings, nested junk, "__proto__" keys), unknown keys
 * added, entries duplicated, swapped or removed, a modifierExtension put on an element at a random
 * depth, one entry's fullUrl given to another — plus fully random JSON and bytes, truncated JSON,
 * other media types and deep nesting. For every request:
 *   - never a 5xx;
 *   - every 4xx is an OperationOutcome (application/fhir+json): resourceType and a non-empty
 *     issue list, each issue with severity, code and diagnostics; for 400, 403, 409 and 413 each
 *     issue names its element (expression: a FHIRPath starting at Bundle);
 *   - no error body holds an elfproef-valid number;
 *   - nothing is stored unless the answer is 2xx (201: one referral more; 200: none), and only
 *     Bundles that the intake's own reading and validator take are accepted;
 *   - an answer within 5 s, and afterwards no pool client checked out, no database session busy.
 * And a valid Bundle with just a modifierExtension (at a random depth) or a duplicated fullUrl is
 * refused with 400 and an issue naming exactly that element.
 * Seeded: FUZZ_SEED=<n> replays a run; FUZZ_RUNS=<factor> scales it (default 1: 1,150 requests).
 */
import { appendFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Client } from 'pg';
import { DataSource } from 'typeorm';
import { amsterdamDate, DIAGNOSIS_GROUP_CODES, isValidBsn, syntheticBsn } from '@app/core';
import { validatePlain } from '@app/platform';
import { readReferralBundle, ReferralMessageDto } from '@app/referrals';
import { http, pg, RunningApi, startApi, startWorker, token, waitFor } from './support/harness';
import { findBsnLike, LOG_DIR_ENV, maskBsnLike } from './support/log-scan';
import { referralBundle } from './support/fhir-bundles';

const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const SCALE = Number(process.env.FUZZ_RUNS ?? 1);
const REQUEST_TIMEOUT_MS = 5_000;
const PROPERTY_TIMEOUT_MS = 240_000;
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
const UZOVI = '8702';
const MAX_DEPTH = 60;

let api: RunningApi;
let db: Client;
const bearer = () => token('referral-service', { uzovi: [UZOVI], subject: 'fuzz-fhir' });

interface Req {
  json?: unknown;
  raw?: string | Uint8Array;
  contentType?: string | null;
}

const stats = { requests: 0, statuses: {} as Record<number, number>, accepted: 0, ms: 0, slowest: 0 };

function fail(message: string): never {
  throw new Error(message);
}

async function send(req: Req): Promise<{ status: number; text: string; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${bearer()}` };
  let body: string | Uint8Array | undefined = req.raw ?? (req.json === undefined ? undefined : JSON.stringify(req.json));
  if (req.contentType !== null) headers['content-type'] = req.contentType ?? 'application/fhir+json';
  else if (typeof body === 'string') body = Buffer.from(body);
  const started = performance.now();
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${api.url}/fhir/Bundle`, { method: 'POST', headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    text = await res.text();
  } catch (e) {
    if ((e as Error).name === 'TimeoutError') fail(`no answer within ${REQUEST_TIMEOUT_MS} ms`);
    throw e;
  }
  const ms = performance.now() - started;
  stats.requests++;
  stats.ms += ms;
  stats.slowest = Math.max(stats.slowest, ms);
  stats.statuses[res.status] = (stats.statuses[res.status] ?? 0) + 1;
  if (res.status < 300) stats.accepted++;
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  const out = { status: res.status, text, body: parsed as any };
  if (out.status >= 500) fail(`answered ${out.status}: ${maskBsnLike(text).slice(0, 500)}`);
  if (out.status >= 400) assertOutcome(out, res.headers.get('content-type'));
  return out;
}

/** An OperationOutcome whose issues say what is wrong and where, and quote no BSN. */
function assertOutcome(res: { status: number; text: string; body: any }, type: string | null): void {
  const show = () => maskBsnLike(res.text).slice(0, 400);
  if (!STATUS_CODES[res.status]) fail(`unknown status ${res.status}`);
  if (!type?.startsWith('application/fhir+json')) fail(`${res.status} answered as ${type}: ${show()}`);
  const b = res.body;
  if (b === null || typeof b !== 'object' || b.resourceType !== 'OperationOutcome') fail(`${res.status} is not an OperationOutcome: ${show()}`);
  if (Object.keys(b).sort().join() !== 'issue,resourceType') fail(`${res.status} outcome has other keys: ${show()}`);
  if (!Array.isArray(b.issue) || b.issue.length === 0) fail(`${res.status} outcome without issues: ${show()}`);
  const needsElement = [400, 403, 409, 413].includes(res.status);
  for (const i of b.issue) {
    if (i === null || typeof i !== 'object') fail(`an issue is not an object: ${show()}`);
    if (i.severity !== 'error' && i.severity !== 'fatal') fail(`issue severity ${i.severity}: ${show()}`);
    if (typeof i.code !== 'string' || !/^[a-z-]+$/.test(i.code)) fail(`issue code ${i.code}: ${show()}`);
    if (typeof i.diagnostics !== 'string' || i.diagnostics.length < 5) fail(`issue without diagnostics: ${show()}`);
    if (needsElement || i.expression !== undefined) {
      if (!Array.isArray(i.expression) || i.expression.length !== 1 || typeof i.expression[0] !== 'string' || !/^Bundle(\.|$)/.test(i.expression[0])) {
        fail(`${res.status} issue does not name an element: ${show()}`);
      }
    }
  }
  // Also to the run's log directory, which the end-of-run scan reads.
  if (process.env[LOG_DIR_ENV]) appendFileSync(join(process.env[LOG_DIR_ENV]!, 'fuzz-fhir.error-bodies.log'), `${res.text}\n`);
  const hits = findBsnLike(res.text);
  if (hits.length > 0) fail(`an error body holds an elfproef-valid number (${hits.map((h) => h.masked).join(', ')}): ${show()}`);
}

interface State {
  own: number;
  total: number;
  busy: number;
  checkedOut: number;
}

async function state(): Promise<State> {
  const { rows } = await db.query(
    `SELECT (SELECT count(*)::int FROM referral WHERE uzovi = $1) AS own,
            (SELECT count(*)::int FROM referral) AS total,
            (SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle') AS busy`,
    [UZOVI],
  );
  const pool = (api.app.get(DataSource).driver as unknown as { master: { totalCount: number; idleCount: number } }).master;
  return { ...rows[0], checkedOut: pool.totalCount - pool.idleCount };
}

function expectState(after: State, expected: State, what: string): void {
  const want: State = { ...expected, busy: 0, checkedOut: 0 };
  const diff = (Object.keys(want) as (keyof State)[]).filter((k) => after[k] !== want[k]);
  if (diff.length > 0) fail(`unexpected state after the request (${what}): ${diff.map((k) => `${k} ${want[k]} → ${after[k]}`).join(', ')}`);
}

/** The JSON a request carried, as the server parses it (undefined when it is not JSON). */
function sentJson(req: Req): unknown {
  try {
    if (req.raw !== undefined) return JSON.parse(typeof req.raw === 'string' ? req.raw : Buffer.from(req.raw).toString('utf8'));
    return req.json === undefined ? undefined : JSON.parse(JSON.stringify(req.json));
  } catch {
    return undefined;
  }
}

/** Whether the intake's own reading and validator take a Bundle (for the fuzzer's insurer). */
function locallyValid(bundle: unknown): boolean {
  const reading = readReferralBundle(bundle);
  if (reading.issues.length > 0) return false;
  const r = validatePlain(ReferralMessageDto, reading.message);
  return 'value' in r && r.value.uzovi === UZOVI;
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

function put(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function nested(d: number): unknown {
  let v: unknown = 'bodem';
  for (let i = 0; i < d; i++) v = i % 3 === 2 ? [v] : { a: v };
  return v;
}

const daysAgo = (n: number) => amsterdamDate(new Date(Date.now() - n * 86_400_000));
const validBsn = fc.integer({ min: 0, max: 99_999_999 }).map((s) => syntheticBsn(s));
const invalidBsn = fc.oneof(
  fc.stringMatching(/^\d{9}$/).filter((b) => !isValidBsn(b)),
  fc.constantFrom('000000000', '999999999', '123456789', '12345678a', ' 123456782', '１２３４５６７８２', '12 345 678'),
);

const junk: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1e308, '', ' ', 'NaN', 'null', '[]', [], {}, [null], [[]], { '': '' }) },
  { weight: 2, arbitrary: fc.double() },
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 65, max: 100_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 2, max: MAX_DEPTH }).map(nested) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(JSON.parse('{"__proto__":{"polluted":true}}'), JSON.parse('{"constructor":{"prototype":{"polluted":true}}}')) },
  { weight: 2, arbitrary: invalidBsn },
  // A valid BSN where none belongs (an id, a code, a date): it must not come back in an error.
  { weight: 2, arbitrary: validBsn },
  { weight: 1, arbitrary: validBsn.map(Number) },
  { weight: 2, arbitrary: fc.constantFrom('2026-02-30', '2999-01-01', '2026-13-01', '2026', '2026-01', '2026-03-01T10:00:00', '2026-03-01T25:00:00Z', '1899-12-31', 'gisteren') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'Patient',
      'ServiceRequest',
      'Consent',
      'Coverage',
      'Organization',
      'MessageHeader',
      'Bundle',
      'transaction',
      'message',
      'active',
      'urn:uuid:x',
      'Patient/1',
    ),
  },
);
const junkKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'resourceType',
    'identifier',
    'reference',
    'system',
    'value',
    'code',
    'contained',
    'modifierExtension',
    '',
    '0',
  ),
  fc.string({ maxLength: 12 }),
);

const pastInstant = fc.integer({ min: 60_000, max: 5 * 365 * 86_400_000 }).map((ago) => new Date(Date.now() - ago).toISOString());

const validMessage = fc
  .record({
    messageId: fc.uuid().map((u) => `fz-${u}`),
    bsn: validBsn,
    verwijsdatum: fc.integer({ min: 0, max: 3650 }).map(daysAgo),
    klachtenprofiel: fc.constantFrom(...DIAGNOSIS_GROUP_CODES),
    dsmCode: fc.option(fc.stringMatching(/^[A-Za-z0-9.]{1,16}$/), { nil: undefined }),
    agb: fc.stringMatching(/^\d{8}$/),
    uzovi: fc.constant(UZOVI),
    consent: fc.record({
      id: fc.stringMatching(/^[\x21-\x7e]{1,128}$/),
      givenAt: pastInstant,
      scope: fc.constant('zorgbemiddeling'),
      channel: fc.string({ minLength: 1, maxLength: 64 }),
    }),
  })
  .map((m) => {
    const out: Record<string, any> = { ...m, consent: { ...m.consent } };
    if (out.dsmCode === undefined) delete out.dsmCode;
    return out;
  });

const validBundle = fc.tuple(validMessage, fc.constantFrom<'transaction' | 'message'>('transaction', 'message')).map(([m, type]) => referralBundle(m, { type }) as unknown);

type Path = (string | number)[];

/** Every element of a JSON tree, by its path (the root is []). */
function paths(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) paths((v as Record<string, unknown>)[k], [...at, k], out);
  return out;
}

/** The elements the profile reads (by resource type and path): mutated more often than the rest. */
const TARGETS: [string, Path][] = [
  ['Bundle', ['id']],
  ['Bundle', ['type']],
  ['MessageHeader', ['id']],
  ['Patient', ['identifier']],
  ['Patient', ['identifier', 0, 'system']],
  ['Patient', ['identifier', 0, 'value']],
  ['ServiceRequest', ['status']],
  ['ServiceRequest', ['intent']],
  ['ServiceRequest', ['subject', 'reference']],
  ['ServiceRequest', ['authoredOn']],
  ['ServiceRequest', ['performer']],
  ['ServiceRequest', ['performer', 0, 'reference']],
  ['ServiceRequest', ['reasonCode', 0, 'coding', 0, 'system']],
  ['ServiceRequest', ['reasonCode', 0, 'coding', 0, 'code']],
  ['Organization', ['identifier', 0, 'value']],
  ['Organization', ['identifier', 0, 'system']],
  ['Consent', ['status']],
  ['Consent', ['identifier', 0, 'value']],
  ['Consent', ['dateTime']],
  ['Consent', ['scope', 'coding', 0, 'code']],
  ['Consent', ['extension', 0, 'url']],
  ['Consent', ['extension', 0, 'valueString']],
  ['Consent', ['patient', 'reference']],
  ['Coverage', ['beneficiary', 'reference']],
  ['Coverage', ['payor', 0, 'reference']],
];
/** Values close to valid ones, beside the generic junk. */
const nearValid = fc.constantFrom<unknown>(
  'draft',
  'revoked',
  'Active',
  'order ',
  'proposal',
  'rejected',
  'inactive',
  'Depressie',
  'griep',
  'zorgbemiddeling ',
  'patient-privacy',
  '2026-11-20T10:15:00',
  '2026-11-20',
  '2026-11-20T10:15:00+01:00',
  '9401234',
  '940123456',
  '33111',
  '331',
  'Patient/1',
  'urn:uuid:0',
  'x'.repeat(65),
  'a b',
  '',
  'http://fhir.nl/fhir/NamingSystem/bsn',
  'http://fhir.nl/fhir/NamingSystem/agb-z',
  'http://fhir.nl/fhir/NamingSystem/uzovi',
);

type Mutation = {
  op: 'drop' | 'set' | 'add' | 'dup-entry' | 'swap-entries' | 'target' | 'modifier' | 'dup-fullurl';
  pick: number;
  pick2: number;
  key: string;
  value: unknown;
};
const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom<Mutation['op']>('drop', 'drop', 'set', 'set', 'set', 'add', 'dup-entry', 'swap-entries', 'target', 'target', 'target', 'target', 'modifier', 'dup-fullurl'),
  pick: fc.nat(),
  pick2: fc.nat(),
  key: junkKey,
  value: fc.oneof(junk, nearValid),
});

/** A modifier extension no receiver understands (FHIR: the instance must then be refused). */
const MODIFIER = { url: 'https://fuzz.example/fhir/StructureDefinition/negates', valueBoolean: true };

/** The FHIRPath of a JSON path in a Bundle ("_status" is status's element). */
const fhirPath = (path: Path) => path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : `${s}.${k.replace(/^_/, '')}`), 'Bundle');

/** The paths of every JSON object (not array) in a tree: where an element can carry a modifierExtension. */
const objectPaths = (root: unknown) =>
  paths(root).filter((p) => {
    const v = p.reduce((o: any, k) => o?.[k], root);
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  });

/** A modifierExtension on the picked object, at whatever depth; returns the FHIRPath it should be reported at. */
function addModifier(root: any, pick: number): string | undefined {
  const objects = objectPaths(root);
  if (objects.length === 0) return undefined;
  const path = objects[pick % objects.length];
  put(
    path.reduce((o: any, k) => o[k], root),
    'modifierExtension',
    [structuredClone(MODIFIER)],
  );
  return `${fhirPath(path)}.modifierExtension[0]`;
}

/** Entry b takes entry a's fullUrl (bdl-7); returns the FHIRPath of the later one's fullUrl. */
function duplicateFullUrl(root: any, a: number, b: number): string | undefined {
  const entry = root?.entry;
  if (!Array.isArray(entry) || entry.length < 2) return undefined;
  const i = a % entry.length;
  let j = b % entry.length;
  if (j === i) j = (i + 1) % entry.length;
  if (typeof entry[i]?.fullUrl !== 'string' || entry[j] === null || typeof entry[j] !== 'object') return undefined;
  entry[j].fullUrl = entry[i].fullUrl;
  return `Bundle.entry[${Math.max(i, j)}].fullUrl`;
}

function mutate(bundle: unknown, ms: Mutation[]): unknown {
  let root = structuredClone(bundle) as any;
  for (const m of ms) {
    if (m.op === 'modifier') {
      addModifier(root, m.pick);
      continue;
    }
    if (m.op === 'dup-fullurl') {
      duplicateFullUrl(root, m.pick, m.pick2);
      continue;
    }
    if (m.op === 'dup-entry' || m.op === 'swap-entries') {
      const entry = root?.entry;
      if (!Array.isArray(entry) || entry.length === 0) continue;
      const a = m.pick % entry.length;
      const b = m.pick2 % entry.length;
      if (m.op === 'dup-entry') entry.push(structuredClone(entry[a]));
      else [entry[a], entry[b]] = [entry[b], entry[a]];
      continue;
    }
    if (m.op === 'target') {
      // Set (or, every third time, drop) one element the profile reads, where it exists.
      const [type, path] = TARGETS[m.pick % TARGETS.length];
      const holder = type === 'Bundle' ? root : Array.isArray(root?.entry) ? root.entry.find((e: any) => e?.resource?.resourceType === type)?.resource : undefined;
      const parent = path.slice(0, -1).reduce((o: any, k) => (o !== null && typeof o === 'object' ? o[k] : undefined), holder);
      if (parent === null || typeof parent !== 'object') continue;
      const last = path[path.length - 1];
      if (m.pick2 % 3 === 0) delete parent[last];
      else if (Array.isArray(parent)) parent[last as number] = m.value;
      else put(parent, last as string, m.value);
      continue;
    }
    const all = paths(root);
    const path = all[m.pick % all.length];
    if (path.length === 0) {
      if (m.op === 'set') root = m.value;
      else if (m.op === 'add' && root !== null && typeof root === 'object' && !Array.isArray(root)) put(root, m.key, m.value);
      continue;
    }
    const parent = path.slice(0, -1).reduce((o: any, k) => o[k], root);
    const last = path[path.length - 1];
    if (m.op === 'drop') {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last];
    } else if (m.op === 'set') {
      if (Array.isArray(parent)) parent[last as number] = m.value;
      else put(parent, last as string, m.value);
    } else {
      const target = parent[last];
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) put(target, m.key, m.value);
      else if (Array.isArray(target)) target.push(m.value);
    }
  }
  return root;
}

const mutatedBundle = fc.tuple(validBundle, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([b, ms]) => mutate(b, ms));

const FHIR_TYPES = ['application/fhir+json', 'application/fhir+json; fhirVersion=4.0', 'application/fhir+json; charset=utf-8', 'application/json'];
const WRONG_TYPES = ['application/fhir+xml', 'application/xml', 'text/plain', 'text/csv', 'application/x-www-form-urlencoded', 'application/octet-stream', 'fhir+json', ''];

const truncated = validBundle.chain((v) => {
  const text = JSON.stringify(v);
  return fc.integer({ min: 0, max: text.length - 1 }).map((i) => text.slice(0, i));
});

// ---------------------------------------------------------------------------------------------

async function check(name: string, k: number, numRuns: number, arb: fc.Arbitrary<Req>): Promise<void> {
  const seed = SEED + k;
  try {
    await fc.assert(
      fc.asyncProperty(arb, async (req) => {
        const before = await state();
        const res = await send(req);
        const after = await state();
        const created = res.status === 201 ? 1 : 0;
        if (res.status < 300) {
          if (res.status !== 200 && res.status !== 201) fail(`answered ${res.status}`);
          if (!locallyValid(sentJson(req))) fail(`accepted (${res.status}) a Bundle the intake's reading or validator refuses`);
        }
        expectState(after, { ...before, own: before.own + created, total: before.total + created }, `status ${res.status}`);
      }),
      { seed, numRuns, plugins: [fc.interruptAfterTimeLimit(150_000)] },
    );
  } catch (e) {
    (e as Error).message = `[${name}] reproduce with FUZZ_SEED=${SEED} npx jest test/fuzz-fhir.e2e-spec.ts (this property: seed ${seed})\n${(e as Error).message}`;
    throw e;
  }
}

beforeAll(async () => {
  db = await pg();
  api = await startApi();
});

afterAll(async () => {
  await api?.close();
  // Accepted Bundles are pending referrals: evaluate them, so none is left to other files.
  if (db) {
    const worker = await startWorker({ SWEEPER_INTERVAL_SECONDS: '1', SWEEPER_DELAY_SECONDS: '1' });
    try {
      await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM referral WHERE uzovi = $1 AND status = 'pending'`, [UZOVI])).rows[0].n === 0, 30_000);
    } finally {
      await worker.close();
    }
  }
  await db?.end();
  console.log(
    `fuzz-fhir: FUZZ_SEED=${SEED} (x${SCALE}), ${stats.requests} requests (${Math.round(stats.ms)} ms, slowest ${Math.round(stats.slowest)} ms), ` +
      `accepted (2xx) ${stats.accepted}, statuses ${JSON.stringify(stats.statuses)}`,
  );
});

it(
  'mutated Bundles: never a 5xx, an OperationOutcome naming the element, stores only what it accepts',
  async () => {
    const arb: fc.Arbitrary<Req> = fc.oneof(
      { weight: 12, arbitrary: fc.tuple(mutatedBundle, fc.constantFrom(...FHIR_TYPES)).map(([json, contentType]) => ({ json, contentType })) },
      { weight: 1, arbitrary: validBundle.map((json) => ({ json })) },
    );
    await check('mutated', 1, runs(750), arb);
  },
  PROPERTY_TIMEOUT_MS,
);

it(
  'malformed requests (random JSON and bytes, truncated JSON, other media types, deep nesting): OperationOutcomes, nothing stored',
  async () => {
    const arb: fc.Arbitrary<Req> = fc.oneof(
      { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 5, stringUnit: 'grapheme' }).map((json) => ({ json })) },
      { weight: 2, arbitrary: truncated.map((raw) => ({ raw })) },
      {
        weight: 2,
        arbitrary: fc.tuple(validBundle, fc.constantFrom<string | null>(...WRONG_TYPES, null)).map(([json, contentType]) => ({ raw: JSON.stringify(json), contentType })),
      },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((raw) => ({ raw })) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((raw) => ({ raw })) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }).map((n) => ({ raw: `${'['.repeat(n)}${']'.repeat(n)}` })) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 100 }).map((n) => ({ raw: `${'{"entry":'.repeat(n)}{"__proto__":{"x":1}}${'}'.repeat(n)}` })) },
    );
    await check('malformed', 2, runs(250), arb);
  },
  PROPERTY_TIMEOUT_MS,
);

it(
  'a modifierExtension at any depth, or two entries with one fullUrl, in an otherwise valid Bundle: 400 naming exactly that element, nothing stored',
  async () => {
    const arb = fc.tuple(validBundle, fc.nat(), fc.nat(), fc.boolean()).map(([bundle, a, b, modifier]) => {
      const root = structuredClone(bundle) as any;
      const expression = modifier ? addModifier(root, a) : duplicateFullUrl(root, a, b);
      return { root, expression: expression!, code: modifier ? 'not-supported' : 'invalid' };
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ root, expression, code }) => {
        const before = await state();
        const res = await send({ json: root });
        if (res.status !== 400) fail(`answered ${res.status} for a Bundle with ${expression}`);
        if (!res.body.issue.some((i: any) => i.expression?.[0] === expression && i.code === code)) fail(`no ${code} issue naming ${expression}: ${res.text.slice(0, 400)}`);
        if (locallyValid(root)) fail(`the intake's reading takes a Bundle with ${expression}`);
        expectState(await state(), before, `a Bundle with ${expression}`);
      }),
      { seed: SEED + 3, numRuns: runs(150), plugins: [fc.interruptAfterTimeLimit(100_000)] },
    );
  },
  PROPERTY_TIMEOUT_MS,
);

it('a valid Bundle replayed as itself is a re-delivery, with another content a conflict', async () => {
  // Not random, but the fuzzer's premise: what it accepted once it accepts again the same way.
  const [bundle] = fc.sample(validBundle, { seed: SEED, numRuns: 1 });
  const first = await http(api.url, 'POST', '/fhir/Bundle', { token: bearer(), body: bundle, headers: { 'content-type': 'application/fhir+json' } });
  expect(first.status).toBe(201);
  const again = await http(api.url, 'POST', '/fhir/Bundle', { token: bearer(), body: bundle, headers: { 'content-type': 'application/fhir+json' } });
  expect([again.status, again.body.id]).toEqual([200, first.body.id]);
  const changed = structuredClone(bundle) as { entry: { resource: Record<string, unknown> }[] };
  const request = changed.entry.find((e) => e.resource.resourceType === 'ServiceRequest')!.resource;
  request.authoredOn = request.authoredOn === daysAgo(0) ? daysAgo(1) : daysAgo(0);
  const before = await state();
  const conflict = await send({ json: changed });
  expect(conflict.status).toBe(409);
  expect(conflict.body.issue[0].code).toBe('conflict');
  expectState(await state(), before, 'a conflict');
});

/** Bugs the fuzzer found, fixed, kept as exact inputs. */
describe('regressions found by the fuzzer', () => {
  it('a body of one byte that is no UTF-8 (0x80) is refused as JSON, naming the Bundle (was: a Content-Length error naming nothing)', async () => {
    const res = await send({ raw: Uint8Array.from([128]) });
    expect(res.status).toBe(400);
    expect(res.body.issue).toEqual([{ severity: 'error', code: 'structure', diagnostics: 'The request body is not valid JSON', expression: ['Bundle'] }]);
  });
});
