/**
 * Property-based fuzzing (fast-check) of the four write routes that take outside data, against
 * the real API, Postgres and Redis: POST /v1/referrals, POST /v1/referrals/batch,
 * POST /v1/ttp/snapshots (CSV text and JSON array) and POST /v1/consent-withdrawals.
 *
 * Bodies are valid messages mutated (fields dropped, wrong types, huge, empty and unicode strings,
 * NaN-like numbers, nested junk, impossible dates, BSNs failing the elfproef, valid BSNs written
 * with spaces, dots, dashes, NBSP or full-width digits in free-text fields, NUL characters,
 * "__proto__" and "constructor" keys, deep nesting, wrong content types, truncated JSON) and fully
 * random JSON. A BSN in any notation or a NUL in a free-text field is a 400 naming the field.
 * For every request:
 *   - never a 5xx;
 *   - every 4xx is the one error shape { statusCode, error, message, details?, requestId }, and
 *     every 400, 413 and 415 has details: a non-empty list of { field, reason } (for errors raised
 *     before a route runs, such as unparseable JSON, the field is "(body)" or "content-type");
 *   - no error body holds an elfproef-valid number (the bodies also go to the end-of-run log scan);
 *   - nothing is stored: referral rows (all, and those of insurer 8601, the fuzzer's own),
 *     withdrawals, and the fuzz provider's TTP snapshots and entries are unchanged, except exactly
 *     what a 2xx answer accounts for (a mutation can leave a message valid), and the API accepts
 *     only messages its own validation (ValidationPipe's key stripping, then validatePlain) takes;
 *   - an answer within 5 s, and afterwards no pool client checked out, no database session busy.
 *
 * Seeded: FUZZ_SEED=<n> replays a run (property k uses seed n + k); a failure names the seed and
 * fast-check's path. FUZZ_RUNS=<factor> scales the number of runs (default 1: 3,000 requests).
 * The bugs it found are fixed and kept at the end as exact regression tests.
 */
import { appendFileSync } from 'node:fs';
import { connect } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Client } from 'pg';
import { DataSource } from 'typeorm';
import { amsterdamDate, DIAGNOSIS_GROUP_CODES, isValidBsn, syntheticBsn } from '@app/core';
import { createValidationPipe, validatePlain } from '@app/platform';
import { ReferralMessageDto } from '@app/referrals';
import { http, pg, RunningApi, startApi, startWorker, token, waitFor } from './support/harness';
import { findBsnLike, LOG_DIR_ENV, maskBsnLike } from './support/log-scan';
import { addProvider } from './support/registry';

const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const SCALE = Number(process.env.FUZZ_RUNS ?? 1);
/** A request not answered within this is a failure of its own (a hang), not a slow test. */
const REQUEST_TIMEOUT_MS = 5_000;
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
/** Jest's limit for one property: its runs take seconds, but shrinking a failure takes longer. */
const PROPERTY_TIMEOUT_MS = 240_000;

const UZOVI = '8601';
/**
 * Nesting generated up to well past the API's limit (MAX_BODY_DEPTH, 32), which answers 400.
 * Not deeper: fast-check's own printing of a value (and the local validator) recurse; the
 * regression tests at the end send 5,000 levels.
 */
const MAX_DEPTH = 200;
/** The fuzz provider; 8 digits that are not a BSN with a leading zero, so its logs pass the scan. */
const AGB = '73889990';
const HEADER = ['clientRef', 'bsn', 'prePseudonym', 'location', 'diagnosisGroup', 'registeredOn', 'intakeOn', 'stage', 'waitsForThisProvider'];

let api: RunningApi;
let db: Client;
const tokens = {
  rs: () => token('referral-service', { uzovi: [UZOVI], subject: 'fuzz-referral-service' }),
  rsMulti: () => token('referral-service', { uzovi: [UZOVI, '8602'], subject: 'fuzz-referral-service-2' }),
  lead: () => token('mediation-lead', { uzovi: [UZOVI], subject: 'fuzz-lead' }),
  provider: () => token('provider', { agb: AGB, subject: 'fuzz-provider' }),
};

// ---------------------------------------------------------------------------------------------
// Requests and the properties every answer must have
// ---------------------------------------------------------------------------------------------

/** A request body: JSON (serialised here), or raw text/bytes; contentType null sends none. */
interface Req {
  json?: unknown;
  raw?: string | Uint8Array;
  contentType?: string | null;
}

interface Res {
  status: number;
  text: string;
  body: any;
}

const stats: Record<string, { requests: number; statuses: Record<number, number>; accepted: number; withoutDetails: Record<number, number>; ms: number; slowest: number }> = {};
const errorBodiesFile = () => (process.env[LOG_DIR_ENV] ? join(process.env[LOG_DIR_ENV]!, 'fuzz.error-bodies.log') : undefined);

async function send(name: string, path: string, bearer: string, req: Req): Promise<Res> {
  const headers: Record<string, string> = { authorization: `Bearer ${bearer}` };
  let body: string | Uint8Array | undefined = req.raw ?? (req.json === undefined ? undefined : JSON.stringify(req.json));
  if (req.contentType !== null) headers['content-type'] = req.contentType ?? 'application/json';
  // fetch adds text/plain to a string body without a type; bytes go out without one.
  else if (typeof body === 'string') body = Buffer.from(body);
  const started = performance.now();
  let res: Response;
  let text: string;
  try {
    res = await fetch(api.url + path, { method: 'POST', headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    text = await res.text();
  } catch (e) {
    if ((e as Error).name === 'TimeoutError') fail(`no answer within ${REQUEST_TIMEOUT_MS} ms`);
    throw e;
  }
  const ms = performance.now() - started;
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  const s = (stats[name] ??= { requests: 0, statuses: {}, accepted: 0, withoutDetails: {}, ms: 0, slowest: 0 });
  s.requests++;
  s.ms += ms;
  s.slowest = Math.max(s.slowest, ms);
  s.statuses[res.status] = (s.statuses[res.status] ?? 0) + 1;
  if (res.status < 300) s.accepted++;
  const out = { status: res.status, text, body: parsed as any };
  assertSound(out);
  if (res.status >= 400 && !out.body.details) s.withoutDetails[res.status] = (s.withoutDetails[res.status] ?? 0) + 1;
  return out;
}

function fail(message: string): never {
  throw new Error(message);
}

/** Never a 5xx; a 4xx in the one error shape; no elfproef-valid number in an error body. */
function assertSound(res: Res): void {
  if (res.status >= 500) fail(`answered ${res.status}: ${maskBsnLike(res.text).slice(0, 500)}`);
  if (res.status < 400) return;
  const b = res.body;
  if (b === null || typeof b !== 'object' || Array.isArray(b)) fail(`${res.status} body is not a JSON object: ${maskBsnLike(res.text).slice(0, 300)}`);
  const keys = Object.keys(b).sort();
  const allowed = ['details', 'error', 'message', 'requestId', 'statusCode'];
  if (!keys.every((k) => allowed.includes(k))) fail(`${res.status} body has other keys: ${keys.join(', ')}`);
  if (b.statusCode !== res.status) fail(`statusCode ${b.statusCode} differs from the status ${res.status}`);
  if (b.error !== STATUS_CODES[res.status]) fail(`error "${b.error}" is not "${STATUS_CODES[res.status]}"`);
  if (typeof b.message !== 'string' || b.message === '') fail(`${res.status} without a message`);
  if (typeof b.requestId !== 'string' || b.requestId === '') fail(`${res.status} without a requestId`);
  // Bad input (400, 413, 415) names the field and the reason; 404 (no such referral) needs none.
  if ([400, 413, 415].includes(res.status) && b.details === undefined) fail(`${res.status} without details: ${maskBsnLike(res.text).slice(0, 300)}`);
  if (b.details !== undefined) {
    if (!Array.isArray(b.details) || b.details.length === 0) fail(`details is not a non-empty list: ${JSON.stringify(b.details)}`);
    for (const d of b.details) {
      // A field may be "": the name of an unknown key "" (the API names what it was sent).
      if (d === null || typeof d !== 'object' || Object.keys(d).sort().join() !== 'field,reason' || typeof d.field !== 'string' || typeof d.reason !== 'string' || !d.reason) {
        fail(`a detail is not { field, reason }: ${maskBsnLike(JSON.stringify(d))}`);
      }
    }
  }
  const file = errorBodiesFile();
  if (file) appendFileSync(file, `${res.text}\n`);
  const hits = findBsnLike(res.text);
  if (hits.length > 0) fail(`an error body holds an elfproef-valid number (${hits.map((h) => h.masked).join(', ')}): ${maskBsnLike(res.text).slice(0, 300)}`);
}

/** Field errors inside a 200 batch answer: each { field, reason }, no BSN. */
function assertFieldErrors(errors: unknown): void {
  if (!Array.isArray(errors) || errors.length === 0) fail(`errors is not a non-empty list: ${JSON.stringify(errors)}`);
  for (const d of errors as any[]) {
    if (d === null || typeof d !== 'object' || Object.keys(d).sort().join() !== 'field,reason' || typeof d.field !== 'string' || typeof d.reason !== 'string') {
      fail(`an error is not { field, reason }: ${maskBsnLike(JSON.stringify(d))}`);
    }
    if (findBsnLike(`${d.field} ${d.reason}`).length > 0) fail(`a batch error holds an elfproef-valid number: ${maskBsnLike(JSON.stringify(d))}`);
  }
}

interface State {
  own: number;
  total: number;
  withdrawn: number;
  snapshots: number;
  allSnapshots: number;
  entries: number;
  current: string | null;
  /** Connections of this database other than ours not idle: one left busy after an answer leaks. */
  busy: number;
  /** Clients of the API's connection pool checked out: between requests, none. */
  checkedOut: number;
}

async function state(): Promise<State> {
  const { rows } = await db.query(
    `SELECT (SELECT count(*)::int FROM referral WHERE uzovi = $1) AS own,
            (SELECT count(*)::int FROM referral) AS total,
            (SELECT count(*)::int FROM referral WHERE uzovi = $1 AND status = 'withdrawn') AS withdrawn,
            (SELECT count(*)::int FROM ttp.snapshot WHERE agb = $2) AS snapshots,
            (SELECT count(*)::int FROM ttp.snapshot) AS "allSnapshots",
            (SELECT count(*)::int FROM ttp.snapshot_entry WHERE snapshot_id IN (SELECT id FROM ttp.snapshot WHERE agb = $2)) AS entries,
            (SELECT snapshot_id FROM ttp.current_snapshot WHERE agb = $2) AS current,
            (SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle') AS busy`,
    [UZOVI, AGB],
  );
  const pool = (api.app.get(DataSource).driver as unknown as { master: { totalCount: number; idleCount: number } }).master;
  return { ...rows[0], checkedOut: pool.totalCount - pool.idleCount };
}

/** The state after a request is the expected one, and nothing is left busy. */
function expectState(after: State, expected: State, what: string): void {
  const want: State = { ...expected, busy: 0, checkedOut: 0 };
  const diff = (Object.keys(want) as (keyof State)[]).filter((k) => after[k] !== want[k]);
  if (diff.length > 0) fail(`unexpected state after the request (${what}): ${diff.map((k) => `${k} ${String(want[k])} → ${String(after[k])}`).join(', ')}`);
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

/**
 * Whether the routes' own validation takes a message: Nest's ValidationPipe first deletes
 * "__proto__", "prototype" and (non-built-in) "constructor" keys throughout the body, then the
 * referral validator (validatePlain) checks the message.
 */
const pipe = createValidationPipe() as unknown as { stripProtoKeys(v: unknown): void };
function locallyValidReferral(seen: unknown): boolean {
  try {
    pipe.stripProtoKeys(seen);
    const r = validatePlain(ReferralMessageDto, seen);
    return 'value' in r && r.value.uzovi === UZOVI;
  } catch {
    return false;
  }
}

async function check<T>(name: string, k: number, numRuns: number, arb: fc.Arbitrary<T>, predicate: (v: T) => Promise<void>): Promise<void> {
  const seed = SEED + k;
  try {
    await fc.assert(
      fc.asyncProperty(arb, predicate),
      // Shrinking a failure makes requests too: it stops after a while and reports the smallest found.
      { seed, numRuns, plugins: [fc.interruptAfterTimeLimit(150_000)] },
    );
  } catch (e) {
    (e as Error).message = `[${name}] reproduce with FUZZ_SEED=${SEED} npx jest test/fuzz.e2e-spec.ts (this property: seed ${seed})\n${(e as Error).message}`;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/** Sets a key as an own property, so "__proto__" is a key like any other (and JSON has it). */
function put(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

const daysAgo = (n: number) => amsterdamDate(new Date(Date.now() - n * 86_400_000));
const validBsn = fc.integer({ min: 0, max: 99_999_999 }).map((s) => syntheticBsn(s));
/** A 9-digit number (or 8, or other lengths) that is not a BSN. */
const invalidBsn = fc.oneof(
  validBsn.map((b) => b.slice(0, 8) + String((Number(b[8]) + 1 + (Number(b[7]) % 9)) % 10)).filter((b) => !isValidBsn(b)),
  fc.stringMatching(/^\d{9}$/).filter((b) => !isValidBsn(b)),
  fc.stringMatching(/^\d{8}$/).filter((b) => !isValidBsn(b)),
  fc.constantFrom(
    '000000000',
    '00000000',
    '999999999',
    '123456789',
    '1234567',
    '1234567890',
    '12345678a',
    ' 123456782',
    '123456782 ',
    '１２３４５６７８２',
    '١٢٣٤٥٦٧٨٢',
    '12345678\u0000',
    '-12345678',
    '+23456782',
    '1.2345678',
    '12 345 678',
  ),
);

/**
 * A valid (synthetic) BSN written the ways a person might — grouped with spaces, dots, dashes,
 * underscores, slashes or NBSP, in full-width or Arabic-Indic digits — alone or inside text: what
 * no free-text field may hold. `ascii` keeps to notations an id field (printable ASCII) can carry.
 */
const bsnNotation = (ascii = false): fc.Arbitrary<string> => {
  const fullWidth = (d: string) => d.replace(/\d/g, (c) => String.fromCharCode(0xff10 + Number(c)));
  const arabicIndic = (d: string) => d.replace(/\d/g, (c) => String.fromCharCode(0x0660 + Number(c)));
  const grouped = (sep: string) => (d: string) => `${d.slice(0, 3)}${sep}${d.slice(3, 6)}${sep}${d.slice(6)}`;
  const writes: ((d: string) => string)[] = [(d) => d, grouped('.'), grouped('-'), grouped('_'), (d) => `${d.slice(0, 4)}.${d.slice(4, 6)}.${d.slice(6)}`];
  if (!ascii) writes.push(grouped(' '), grouped('/'), grouped('\u00a0'), grouped(' - '), fullWidth, arabicIndic);
  return fc
    .tuple(validBsn, fc.constantFrom(...writes), fc.constantFrom('', 'x-', 'bsn:', 'ref='), fc.constantFrom('', '-a', '.'))
    .map(([bsn, write, before, after]) => `${before}${write(bsn)}${after}`)
    .map((t) => (ascii ? t.replace(/[^\x21-\x7e]/g, '') : t));
};
/** Text with a NUL character somewhere. */
const withNul = fc.tuple(fc.stringMatching(/^[a-z0-9-]{0,10}$/), fc.stringMatching(/^[a-z0-9-]{0,10}$/)).map(([a, b]) => `${a}\u0000${b}`);

/** Dates and instants no validator should take. */
const badDate = fc.oneof(
  fc.constantFrom(
    '2026-02-30',
    '2025-02-29',
    '2026-13-01',
    '2026-00-10',
    '2026-04-31',
    '0000-01-01',
    '1899-12-31',
    '9999-12-31',
    '2026-1-1',
    '20260101',
    '2026/01/01',
    '01-02-2026',
    '2026-01-01T00:00:00Z',
    '+002026-01-01',
    '2026-02-28\n',
    '２０２６-01-01',
    'gisteren',
    'NaN',
    '',
    ' ',
  ),
  fc.integer({ min: 1, max: 40_000 }).map((n) => amsterdamDate(new Date(Date.now() + n * 86_400_000))),
);
const badInstant = fc.oneof(
  fc.constantFrom(
    '2026-02-30T10:00:00Z',
    '2026-03-01T24:00:00Z',
    '2026-03-01T10:00:00',
    '2026-03-01T10:00:60Z',
    '2026-03-01T10:00:00+25:00',
    '2026-03-01',
    '1700000000000',
    'now',
    '',
    '2026-03-01T10:00:00.1234567890Z',
  ),
  fc.integer({ min: 3_600_000, max: 2 ** 40 }).map((ms) => new Date(Date.now() + ms).toISOString()),
);

/** Junk of every JSON type: the generic wrong value for any field. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom<unknown>(
      null,
      true,
      false,
      0,
      -0,
      1,
      -1,
      1e308,
      -1e308,
      5e-324,
      2 ** 53 + 1,
      '',
      ' ',
      'NaN',
      'Infinity',
      '-Infinity',
      'null',
      'undefined',
      'true',
      '0x1F',
      '1e309',
      '[]',
      '{}',
      [],
      {},
      [null],
      [[]],
      { '': '' },
    ),
  },
  { weight: 3, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 129, max: 200_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 5_000 }).map((n) => '\u{1F600}é\u0000'.repeat(n)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.integer({ min: 2, max: MAX_DEPTH }).map((d) => nested(d)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(
      JSON.parse('{"__proto__":{"polluted":true}}'),
      JSON.parse('{"constructor":{"prototype":{"polluted":true}}}'),
      JSON.parse('[{"__proto__":null}]'),
    ),
  },
  { weight: 1, arbitrary: invalidBsn },
  { weight: 1, arbitrary: validBsn.map(Number) },
  { weight: 1, arbitrary: badDate },
);

/** Objects (or arrays) nested d deep, alternating. */
function nested(d: number): unknown {
  let v: unknown = 'bodem';
  for (let i = 0; i < d; i++) v = i % 3 === 2 ? [v] : { a: v };
  return v;
}

/** Keys a message should not have, including those that poison prototypes. */
const junkKey = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'naam',
      'BSN',
      'Bsn',
      ' bsn',
      'bsn ',
      'bsn\u0000',
      '',
      '$where',
      'consent.scope',
      '0',
    ),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
);

type Msg = Record<string, unknown>;
const TOP = ['messageId', 'bsn', 'verwijsdatum', 'klachtenprofiel', 'dsmCode', 'agb', 'uzovi', 'consent'] as const;
const CONSENT = ['id', 'givenAt', 'scope', 'channel'] as const;

const pastInstant = fc.integer({ min: 60_000, max: 5 * 365 * 86_400_000 }).chain((ago) =>
  fc.constantFrom('Z', '+00:00', '+01:00', '-05:30').map((zone) => {
    const t = new Date(Date.now() - ago);
    if (zone === 'Z') return t.toISOString();
    const [sign, hh, mm] = [zone[0] === '-' ? -1 : 1, Number(zone.slice(1, 3)), Number(zone.slice(4, 6))];
    const local = new Date(t.getTime() + sign * (hh * 60 + mm) * 60_000).toISOString().slice(0, 19);
    return `${local}${zone}`;
  }),
);

/** A valid referral message for the fuzzer's insurer. */
const validMessage: fc.Arbitrary<Msg> = fc
  .record({
    messageId: fc.uuid().map((u) => `fz-${u}`),
    bsn: fc.oneof(
      validBsn,
      validBsn.filter((b) => b.startsWith('0')).map((b) => b.slice(1)),
    ),
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
    const out: Msg = { ...m, consent: { ...m.consent } };
    if (out.dsmCode === undefined) delete out.dsmCode;
    return out;
  });

/** Wrong values aimed at one field, beside the generic junk. */
function fieldJunk(key: string): fc.Arbitrary<unknown> {
  switch (key) {
    case 'bsn':
      return invalidBsn;
    case 'verwijsdatum':
      return badDate;
    case 'givenAt':
      return badInstant;
    case 'klachtenprofiel':
      return fc.constantFrom('Depressie', 'DEPRESSIE', ' depressie', 'depressie ', 'griep', 'toString', '__proto__', 'constructor', 'hasOwnProperty');
    case 'dsmCode':
      return fc.oneof(
        fc.constantFrom('F32 1', 'F32,1', 'x'.repeat(17), 'F32.1\n', '€', '', 'F32\u0000'),
        bsnNotation(true).filter((t) => t.length <= 16),
      );
    case 'agb':
      return fc.oneof(fc.stringMatching(/^\d{7}$/), fc.stringMatching(/^\d{9}$/), fc.constantFrom('9401234x', '', 94012345));
    case 'uzovi':
      return fc.oneof(fc.stringMatching(/^\d{4}$/), fc.constantFrom('860', '86011', 8601, ' 8601', '８６０１'));
    case 'messageId':
    case 'id':
      return fc.oneof(fc.constantFrom('', 'a b', 'x'.repeat(129), 'tab\tin', 'é', 'line\nbreak', '\u0000', 42), bsnNotation(), withNul);
    case 'scope':
      return fc.constantFrom('contractering', 'Zorgbemiddeling', 'zorgbemiddeling ', '', ['zorgbemiddeling']);
    case 'channel':
      return fc.oneof(fc.constantFrom('', 'x'.repeat(65)), bsnNotation(), withNul);
    case 'consent':
      return fc.constantFrom<unknown>(null, 'ja', true, [], [{}], 1);
    default:
      return junk;
  }
}

type Mutation = { op: 'drop' | 'set' | 'add'; inConsent: boolean; key: string; value?: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), inConsent: fc.boolean(), key: fc.constantFrom(...TOP, ...CONSENT) }),
  fc.record({ op: fc.constant('set' as const), inConsent: fc.constant(false), key: fc.constantFrom(...TOP), value: junk }),
  fc.record({ op: fc.constant('set' as const), inConsent: fc.constant(true), key: fc.constantFrom(...CONSENT), value: junk }),
  fc.constantFrom(...TOP).chain((key) => fieldJunk(key).map((value) => ({ op: 'set' as const, inConsent: false, key, value }))),
  fc.constantFrom(...CONSENT).chain((key) => fieldJunk(key).map((value) => ({ op: 'set' as const, inConsent: true, key, value }))),
  fc.record({ op: fc.constant('add' as const), inConsent: fc.boolean(), key: junkKey, value: junk }),
);

function mutate(base: Msg, mutations: Mutation[]): Msg {
  const msg: Msg = { ...base };
  if (base.consent && typeof base.consent === 'object') msg.consent = { ...(base.consent as Msg) };
  for (const m of mutations) {
    let target = msg;
    if (m.inConsent) {
      const c = msg.consent;
      if (c === null || typeof c !== 'object' || Array.isArray(c)) continue;
      target = { ...(c as Msg) };
      msg.consent = target;
    }
    if (m.op === 'drop') delete target[m.key];
    else put(target, m.key, m.value);
  }
  return msg;
}

const mutatedMessage = fc.tuple(validMessage, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([m, ms]) => mutate(m, ms));

/** JSON text broken off somewhere. */
const truncated = (arb: fc.Arbitrary<unknown>) =>
  arb.chain((v) => {
    const text = JSON.stringify(v);
    return fc.integer({ min: 0, max: Math.max(0, text.length - 1) }).map((i) => text.slice(0, i));
  });

const WRONG_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'text/csv',
  'application/x-ndjson',
  'application/octet-stream',
  'application/jsonx',
  'json',
  '*/*',
  'application/vnd.api+json',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  '',
];
const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8'];

/** Raw JSON texts that JSON.stringify cannot make: duplicate keys, prototype keys in the text. */
const trickyText = (base: fc.Arbitrary<Msg>) =>
  fc.tuple(base, validBsn, fc.constantFrom('__proto__', 'constructor')).map(([m, bsn, key]) => {
    const body = JSON.stringify(m).slice(1, -1);
    return key === '__proto__' ? `{"__proto__":{"isAdmin":true,"bsn":"${bsn}"},${body}}` : `{${body},"bsn":${Number(bsn)},"constructor":{"prototype":{"polluted":true}}}`;
  });

/** A whole request body for a JSON route, around a generator of its "proper" bodies. */
function jsonRequest(proper: fc.Arbitrary<unknown>, valid: fc.Arbitrary<unknown>): fc.Arbitrary<Req> {
  return fc.oneof(
    { weight: 14, arbitrary: fc.tuple(proper, fc.constantFrom(...JSON_TYPES)).map(([json, contentType]) => ({ json, contentType })) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }).map((json) => ({ json })) },
    { weight: 2, arbitrary: truncated(valid).map((raw) => ({ raw })) },
    { weight: 2, arbitrary: fc.tuple(valid, fc.constantFrom<string | null>(...WRONG_TYPES, null)).map(([json, contentType]) => ({ raw: JSON.stringify(json), contentType })) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((raw) => ({ raw })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((raw) => ({ raw })) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: MAX_DEPTH }).map((n) => ({ raw: `${'['.repeat(n)}${']'.repeat(n)}` })) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: MAX_DEPTH }).map((n) => ({ raw: `${'{"a":'.repeat(n)}{"__proto__":{"x":1}}${'}'.repeat(n)}` })) },
  );
}

// ---------------------------------------------------------------------------------------------
// TTP snapshot rows
// ---------------------------------------------------------------------------------------------

type Row = Record<string, unknown>;

const validRow: fc.Arbitrary<Row> = fc
  .record({
    bsnOrPre: fc.oneof(
      { weight: 4, arbitrary: validBsn.map((bsn) => ({ bsn, prePseudonym: '' })) },
      { weight: 1, arbitrary: fc.stringMatching(/^[0-9a-f]{64}$/).map((pre) => ({ bsn: '', prePseudonym: pre })) },
    ),
    location: fc.constantFrom('a', 'b'),
    diagnosisGroup: fc.constantFrom(...DIAGNOSIS_GROUP_CODES),
    registered: fc.integer({ min: 30, max: 2000 }),
    intake: fc.option(fc.integer({ min: 0, max: 29 }), { nil: null }),
    waits: fc.boolean(),
  })
  .map((r) => ({
    bsn: r.bsnOrPre.bsn,
    prePseudonym: r.bsnOrPre.prePseudonym,
    location: r.location,
    diagnosisGroup: r.diagnosisGroup,
    registeredOn: daysAgo(r.registered),
    intakeOn: r.intake === null ? '' : daysAgo(r.intake),
    stage: r.intake === null ? 'waiting-intake' : 'waiting-treatment',
    waitsForThisProvider: String(r.waits),
  }));

const csvJunk = fc.oneof(
  fc.constantFrom(
    '',
    ',',
    '"',
    '""',
    'a,b',
    '"x',
    'x"y',
    '\n',
    '\r',
    '\r\n',
    'TRUE',
    'ja',
    '1',
    'waiting',
    'WAITING-INTAKE',
    'A'.repeat(64),
    '0'.repeat(63),
    'zz',
    '__proto__',
    'constructor',
    ' a',
    'a ',
    '\\',
    '\\N',
    '\t',
  ),
  badDate,
  invalidBsn,
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.integer({ min: 65, max: 20_000 }).map((n) => 'r'.repeat(n)),
);

type RowMutation = { op: 'set' | 'drop'; key: string; value?: unknown };
const rowMutation = (values: fc.Arbitrary<unknown>): fc.Arbitrary<RowMutation> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), key: fc.constantFrom(...HEADER), value: values }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('drop' as const), key: fc.constantFrom(...HEADER) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('set' as const), key: junkKey, value: values }) },
  );

function mutateRow(row: Row, ms: RowMutation[]): Row {
  const out: Row = { ...row };
  for (const m of ms) {
    if (m.op === 'drop') delete out[m.key];
    else put(out, m.key, m.value);
  }
  return out;
}

/** Rows of a snapshot: most mutated, some left valid. */
const snapshotRows = (values: fc.Arbitrary<unknown>) =>
  fc
    .array(
      fc.tuple(
        validRow,
        fc.oneof({ weight: 2, arbitrary: fc.constant([] as RowMutation[]) }, { weight: 5, arbitrary: fc.array(rowMutation(values), { minLength: 1, maxLength: 3 }) }),
      ),
      { minLength: 1, maxLength: 6 },
    )
    .map((rows) => rows.map(([r, ms], i) => mutateRow({ clientRef: `F${i}`, ...r }, ms)));

const quote = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

type HeaderMutation = 'none' | 'drop' | 'duplicate' | 'unknown' | 'reorder' | 'bom' | 'spaces' | 'case' | 'proto' | 'missing';
const csvText = fc
  .record({
    header: fc.oneof(
      { weight: 6, arbitrary: fc.constant<HeaderMutation>('none') },
      { weight: 4, arbitrary: fc.constantFrom<HeaderMutation>('drop', 'duplicate', 'unknown', 'reorder', 'bom', 'spaces', 'case', 'proto', 'missing') },
    ),
    dropIndex: fc.nat(HEADER.length - 1),
    rows: snapshotRows(csvJunk),
    quoting: fc.constantFrom('none', 'rfc'),
    eol: fc.constantFrom('\n', '\r\n', '\r'),
    trailing: fc.boolean(),
    blank: fc.boolean(),
    shuffle: fc.nat(),
  })
  .map((c) => {
    let header = [...HEADER];
    if (c.header === 'drop') header.splice(c.dropIndex, 1);
    if (c.header === 'duplicate') header.push(header[c.dropIndex]);
    if (c.header === 'unknown') header.push('naam');
    if (c.header === 'proto') header.push('__proto__');
    if (c.header === 'reorder') header = [...header.slice(c.shuffle % header.length), ...header.slice(0, c.shuffle % header.length)];
    if (c.header === 'case') header = header.map((h) => h.toUpperCase());
    if (c.header === 'spaces') header = header.map((h) => ` ${h} `);
    const cell = (v: unknown) => (v === undefined ? '' : typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
    const lines = c.rows.map((r) => {
      const keys = [...header, ...Object.keys(r).filter((k) => !header.includes(k))];
      return keys.map((k) => (c.quoting === 'rfc' ? quote(cell(r[k])) : cell(r[k]))).join(',');
    });
    if (c.blank) lines.splice(1, 0, '');
    const all = c.header === 'missing' ? lines : [(c.header === 'bom' ? '\uFEFF' : '') + header.join(','), ...lines];
    return all.join(c.eol) + (c.trailing ? c.eol : '');
  });

const CSV_TYPES = ['text/csv', 'text/csv; charset=utf-8', 'text/csv;header=present'];
const csvRequest: fc.Arbitrary<Req> = fc.oneof(
  { weight: 14, arbitrary: fc.tuple(csvText, fc.constantFrom(...CSV_TYPES)).map(([raw, contentType]) => ({ raw, contentType })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        csvText,
        fc.constantFrom<string | null>('text/plain', 'TEXT/CSV', 'text/tab-separated-values', 'application/octet-stream', 'application/x-ndjson', 'application/json', null),
      )
      .map(([raw, contentType]) => ({ raw, contentType })),
  },
  { weight: 1, arbitrary: fc.tuple(csvText, fc.nat()).map(([t, i]) => ({ raw: t.slice(0, i % (t.length + 1)), contentType: 'text/csv' })) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }).map((raw) => ({ raw, contentType: 'text/csv' })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((raw) => ({ raw, contentType: 'text/csv' })) },
);

/** JSON entries: the CSV row shape with JSON types (intakeOn null, a boolean), then mutated. */
const jsonRows = snapshotRows(junk).map((rows) =>
  rows.map((r) => {
    const out: Row = { ...r };
    if (out.intakeOn === '') out.intakeOn = null;
    if (out.waitsForThisProvider === 'true' || out.waitsForThisProvider === 'false') out.waitsForThisProvider = out.waitsForThisProvider === 'true';
    if (out.prePseudonym === '') delete out.prePseudonym;
    if (out.bsn === '') delete out.bsn;
    return out;
  }),
);
const validJsonRows = fc
  .array(validRow, { minLength: 1, maxLength: 3 })
  .map((rows) => rows.map((r, i) => ({ clientRef: `V${i}`, ...r, intakeOn: r.intakeOn || null, waitsForThisProvider: r.waitsForThisProvider === 'true' })));
const jsonSnapshotRequest: fc.Arbitrary<Req> = jsonRequest(
  fc.oneof(
    { weight: 6, arbitrary: jsonRows },
    { weight: 2, arbitrary: jsonRows.map((entries) => ({ entries })) },
    {
      weight: 1,
      arbitrary: fc.tuple(jsonRows, junkKey, junk).map(([entries, k, v]) => {
        const o: Msg = { entries };
        put(o, k, v);
        return o;
      }),
    },
    { weight: 1, arbitrary: fc.tuple(junk, fc.array(junk, { maxLength: 4 })).map(([j, arr]) => (Array.isArray(j) ? arr : { entries: j })) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>([], {}, { entries: [] }, { entries: {} }, null, 'rows') },
  ),
  validJsonRows,
);

// ---------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  expect(isValidBsn(AGB)).toBe(false);
  db = await pg();
  // Hundreds of accepted snapshots from one provider: the daily limit (test/ttp-oracle) would refuse them.
  api = await startApi({ TTP_SNAPSHOTS_PER_DAY: '1000' });
  await addProvider(db, {
    agb: AGB,
    name: 'GGZ Fuzz',
    locations: [
      { code: 'a', region: 'utrecht', groups: ['depressie', 'angst'] },
      { code: 'b', region: 'utrecht', groups: ['angst'] },
    ],
  });
});

afterAll(async () => {
  await api?.close();
  // The messages that were valid are referrals waiting for evaluation: evaluate them now, so no
  // pending referral of this file is left to other files (whose workers or queue flushes meet it).
  if (db) {
    const worker = await startWorker({ SWEEPER_INTERVAL_SECONDS: '1', SWEEPER_DELAY_SECONDS: '1' });
    try {
      await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM referral WHERE uzovi = $1 AND status = 'pending'`, [UZOVI])).rows[0].n === 0, 30_000);
    } finally {
      await worker.close();
    }
  }
  await db?.end();
  const lines = Object.entries(stats).map(
    ([name, s]) =>
      `  ${name}: ${s.requests} requests (${Math.round(s.ms)} ms, slowest ${Math.round(s.slowest)} ms), accepted (2xx) ${s.accepted}, statuses ${JSON.stringify(s.statuses)}, 4xx without details ${JSON.stringify(s.withoutDetails)}`,
  );
  const total = Object.values(stats).reduce((n, s) => n + s.requests, 0);
  console.log(`fuzz: FUZZ_SEED=${SEED} (x${SCALE}), ${total} requests\n${lines.join('\n')}`);
});

it(
  'POST /v1/referrals: never a 5xx, one error shape, stores only what it accepts',
  async () => {
    const arb = jsonRequest(
      fc.oneof(
        { weight: 12, arbitrary: mutatedMessage },
        { weight: 1, arbitrary: validMessage },
        { weight: 1, arbitrary: trickyText(validMessage).map((raw) => ({ __raw: raw })) },
      ),
      validMessage,
    );
    await check('referral', 1, runs(700), arb, async (req) => {
      const raw = (req.json as { __raw?: string } | undefined)?.__raw;
      const r: Req = raw !== undefined ? { raw, contentType: req.contentType } : req;
      const before = await state();
      const res = await send('referral', '/v1/referrals', tokens.rs(), r);
      const after = await state();
      const created = res.status === 201 ? 1 : 0;
      if (res.status < 300) {
        if (!locallyValidReferral(sentJson(r))) fail(`accepted (${res.status}) a message the validator refuses`);
        if (res.status !== 200 && res.status !== 201) fail(`answered ${res.status}`);
      }
      expectState(after, { ...before, own: before.own + created, total: before.total + created }, `status ${res.status}`);
    });
  },
  PROPERTY_TIMEOUT_MS,
);

it(
  'POST /v1/referrals/batch: never a 5xx, per-message outcomes, stores only what it reports created',
  async () => {
    const item = fc.oneof({ weight: 8, arbitrary: mutatedMessage as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: validMessage }, { weight: 2, arbitrary: junk });
    const envelope = fc.oneof(
      { weight: 10, arbitrary: fc.array(item, { minLength: 1, maxLength: 8 }).map((messages) => ({ messages })) },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.array(item, { minLength: 1, maxLength: 3 }), junkKey, junk).map(([messages, k, v]) => {
          const o: Msg = { messages };
          put(o, k, v);
          return o;
        }),
      },
      { weight: 1, arbitrary: junk.map((messages) => ({ messages })) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>({}, { messages: [] }, { messages: null }, { Messages: [{}] }, { messages: Array.from({ length: 1001 }, () => ({})) }) },
    );
    await check(
      'batch',
      2,
      runs(350),
      jsonRequest(
        envelope,
        validMessage.map((m) => ({ messages: [m] })),
      ),
      async (req) => {
        const before = await state();
        const res = await send('batch', '/v1/referrals/batch', tokens.rs(), req);
        const after = await state();
        let created = 0;
        if (res.status < 300) {
          if (res.status !== 200) fail(`answered ${res.status}`);
          const messages = (sentJson(req) as { messages: unknown[] }).messages;
          const { summary, results } = res.body;
          if (!Array.isArray(results) || results.length !== messages.length) fail(`${results?.length} results for ${messages.length} messages`);
          const counted = { created: 0, duplicate: 0, conflict: 0, invalid: 0, forbidden: 0 } as Record<string, number>;
          const STATUS: Record<string, number> = { created: 201, duplicate: 200, conflict: 409, invalid: 400, forbidden: 403 };
          results.forEach((r: any, i: number) => {
            if (r.index !== i || !(r.outcome in STATUS) || r.status !== STATUS[r.outcome]) fail(`result ${i} is malformed: ${maskBsnLike(JSON.stringify(r))}`);
            counted[r.outcome]++;
            if (r.outcome === 'invalid' || r.outcome === 'forbidden' || r.outcome === 'conflict') assertFieldErrors(r.errors);
            if ((r.outcome === 'created' || r.outcome === 'duplicate') && !locallyValidReferral(messages[i])) fail(`message ${i} was ${r.outcome} though the validator refuses it`);
          });
          if (JSON.stringify(summary) !== JSON.stringify(counted)) fail(`summary ${JSON.stringify(summary)} does not count the results ${JSON.stringify(counted)}`);
          created = counted.created;
        }
        expectState(after, { ...before, own: before.own + created, total: before.total + created }, `status ${res.status}`);
      },
    );
  },
  PROPERTY_TIMEOUT_MS,
);

async function snapshotProperty(name: string, k: number, numRuns: number, arb: fc.Arbitrary<Req>) {
  await check(name, k, numRuns, arb, async (req) => {
    const before = await state();
    const res = await send(name, '/v1/ttp/snapshots', tokens.provider(), req);
    const after = await state();
    if (res.status < 300) {
      if (res.status !== 201) fail(`answered ${res.status}`);
      // A valid snapshot (a mutation can leave one) replaces the fuzz provider's previous one.
      expectState(after, { ...before, snapshots: 1, allSnapshots: before.allSnapshots - before.snapshots + 1, entries: res.body.entries, current: res.body.snapshotId }, 'a 201');
    } else expectState(after, before, `status ${res.status}`);
  });
}

it(
  'POST /v1/ttp/snapshots as CSV: never a 5xx, one error shape, a refused snapshot stores nothing',
  async () => {
    await snapshotProperty('ttp-csv', 3, runs(600), csvRequest);
  },
  PROPERTY_TIMEOUT_MS,
);

it(
  'POST /v1/ttp/snapshots as a JSON array: never a 5xx, one error shape, a refused snapshot stores nothing',
  async () => {
    await snapshotProperty('ttp-json', 4, runs(450), jsonSnapshotRequest);
  },
  PROPERTY_TIMEOUT_MS,
);

it(
  'POST /v1/consent-withdrawals: never a 5xx, one error shape, withdraws nothing it does not report',
  async () => {
    const validBody = fc.oneof(
      fc.uuid().map((referralId) => ({ referralId }) as Msg),
      fc.stringMatching(/^[\x21-\x7e]{1,128}$/).map((messageId) => ({ messageId }) as Msg),
      fc.stringMatching(/^[\x21-\x7e]{1,40}$/).map((messageId) => ({ messageId, uzovi: UZOVI }) as Msg),
    );
    const wMutation = fc.oneof(
      fc.record({
        op: fc.constant('set' as const),
        key: fc.constantFrom('referralId', 'messageId', 'uzovi'),
        value: fc.oneof(junk, fc.uuid(), fc.stringMatching(/^\d{4}$/), fc.constantFrom('8602', '3311', 'x'.repeat(129), 'a b')),
      }),
      fc.record({ op: fc.constant('drop' as const), key: fc.constantFrom('referralId', 'messageId', 'uzovi') }),
      fc.record({ op: fc.constant('add' as const), key: junkKey, value: junk }),
    );
    const body = fc.tuple(validBody, fc.array(wMutation, { minLength: 1, maxLength: 3 })).map(([b, ms]) => {
      const out: Msg = { ...b };
      for (const m of ms) {
        if (m.op === 'drop') delete out[m.key];
        else put(out, m.key, m.value);
      }
      return out;
    });
    const arb = fc.tuple(
      jsonRequest(fc.oneof({ weight: 6, arbitrary: body }, { weight: 1, arbitrary: validBody }), validBody),
      fc.constantFrom('rs', 'rsMulti', 'lead') as fc.Arbitrary<keyof typeof tokens>,
    );
    await check('consent', 5, runs(550), arb, async ([req, who]) => {
      const before = await state();
      const res = await send('consent', '/v1/consent-withdrawals', tokens[who](), req);
      const after = await state();
      let withdrawn = 0;
      if (res.status < 300) {
        if (res.status !== 200) fail(`answered ${res.status}`);
        if (res.body.uzovi !== UZOVI) fail(`withdrew for insurer ${res.body.uzovi}`);
        withdrawn = res.body.alreadyWithdrawn ? 0 : 1;
      }
      expectState(after, { ...before, withdrawn: before.withdrawn + withdrawn }, `status ${res.status}`);
    });
  },
  PROPERTY_TIMEOUT_MS,
);

it(
  'a BSN in any notation, or a NUL, in a free-text field: 400 naming the field (single route, batch, withdrawal), nothing stored',
  async () => {
    type Target = { field: string; set: (m: Msg, v: string) => void; values: fc.Arbitrary<string> };
    const targets: Target[] = [
      { field: 'messageId', set: (m, v) => (m.messageId = v), values: fc.oneof(bsnNotation(), bsnNotation(true), withNul) },
      {
        field: 'dsmCode',
        set: (m, v) => (m.dsmCode = v),
        values: fc.oneof(
          bsnNotation(true).filter((t) => t.length <= 16),
          withNul,
        ),
      },
      { field: 'consent.id', set: (m, v) => ((m.consent as Msg).id = v), values: fc.oneof(bsnNotation(), bsnNotation(true), withNul) },
      { field: 'consent.channel', set: (m, v) => ((m.consent as Msg).channel = v), values: fc.oneof(bsnNotation(), withNul) },
    ];
    const arb = fc.tuple(validMessage, validMessage, fc.nat(targets.length - 1)).chain(([m, other, t]) =>
      targets[t].values.map((value) => {
        const bad: Msg = { ...m, consent: { ...(m.consent as Msg) } };
        targets[t].set(bad, value);
        return { bad, good: other, field: targets[t].field, value };
      }),
    );
    await check('bsn-in-free-text', 7, runs(150), arb, async ({ bad, good, field, value }) => {
      const before = await state();
      const single = await send('bsn-in-free-text', '/v1/referrals', tokens.rs(), { json: bad });
      if (single.status !== 400) fail(`single route answered ${single.status} for ${field}`);
      if (!single.body.details.some((d: { field: string }) => d.field === field)) fail(`the 400 does not name ${field}: ${maskBsnLike(JSON.stringify(single.body.details))}`);
      const batch = await send('bsn-in-free-text', '/v1/referrals/batch', tokens.rs(), { json: { messages: [good, bad] } });
      if (batch.status !== 200) fail(`batch answered ${batch.status}`);
      const [first, second] = batch.body.results;
      if (first.outcome !== 'created') fail(`the good message beside it was ${first.outcome}`);
      if (second.outcome !== 'invalid' || !second.errors.some((d: { field: string }) => d.field === field))
        fail(`the bad message was ${second.outcome}, not invalid naming ${field}`);
      assertFieldErrors(second.errors);
      if (findBsnLike(batch.text).length > 0) fail('the batch answer holds an elfproef-valid number');
      if (field === 'messageId') {
        const w = await send('bsn-in-free-text', '/v1/consent-withdrawals', tokens.lead(), { json: { messageId: value } });
        if (w.status !== 400 || !w.body.details.some((d: { field: string }) => d.field === 'messageId')) fail(`a withdrawal answered ${w.status} without naming messageId`);
      }
      const after = await state();
      expectState(after, { ...before, own: before.own + 1, total: before.total + 1 }, 'one good message stored');
    });
  },
  PROPERTY_TIMEOUT_MS,
);

it(
  'fully random JSON and bytes to all four routes: never a 5xx, one error shape, nothing stored',
  async () => {
    const ROUTES = [
      ['/v1/referrals', 'rs'],
      ['/v1/referrals/batch', 'rs'],
      ['/v1/ttp/snapshots', 'provider'],
      ['/v1/consent-withdrawals', 'lead'],
    ] as const;
    const body: fc.Arbitrary<Req> = fc.oneof(
      { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 5, stringUnit: 'grapheme' }).map((json) => ({ json })) },
      { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }).map((json) => ({ json })) },
      { weight: 2, arbitrary: fc.object({ maxDepth: 3, withNullPrototype: true, values: [fc.jsonValue()] }).map((json) => ({ json })) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom<string | null>('application/json', 'text/csv', 'application/x-ndjson', 'text/plain', null))
          .map(([raw, contentType]) => ({ raw, contentType })),
      },
      { weight: 1, arbitrary: fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.constantFrom('application/json', 'text/csv')).map(([raw, contentType]) => ({ raw, contentType })) },
    );
    await check('random', 6, runs(350), fc.tuple(fc.nat(ROUTES.length - 1), body), async ([route, req]) => {
      const [path, who] = ROUTES[route];
      const before = await state();
      const res = await send('random', path, tokens[who](), req);
      const after = await state();
      // Random JSON cannot make a valid message or snapshot row: nothing is accepted, but a batch
      // of random items is answered 200 with every item refused, and a JSON array snapshot of
      // nothing but refused rows is refused whole.
      if (res.status < 300 && !(path === '/v1/referrals/batch' && res.status === 200 && res.body.summary.created === 0)) fail(`accepted (${res.status}) random input`);
      expectState(after, before, `status ${res.status}`);
    });
  },
  PROPERTY_TIMEOUT_MS,
);

/** Bugs the fuzzer found, fixed, kept as exact inputs. */
describe('regressions found by the fuzzer', () => {
  it.each([
    ['/v1/referrals', 'rs'],
    ['/v1/referrals/batch', 'rs'],
    ['/v1/consent-withdrawals', 'lead'],
  ] as const)('a JSON array nested 5,000 deep (10 kB) to %s answers 400 naming the nesting (was a 500: stack overflow in the validation pipe)', async (path, who) => {
    const res = await http(api.url, 'POST', path, { token: tokens[who](), rawBody: `${'['.repeat(5000)}${']'.repeat(5000)}` });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([{ field: '(body)', reason: 'is nested deeper than 32 levels' }]);
  });

  it('nesting up to the limit is judged by the validation as usual', async () => {
    const res = await http(api.url, 'POST', '/v1/referrals', { token: tokens.rs(), rawBody: JSON.stringify({ messageId: nested(31) }) });
    expect(res.status).toBe(400);
    expect(res.body.details.map((d: { field: string }) => d.field)).toContain('messageId');
  });

  const bsn = syntheticBsn(61_000_000 + Math.floor(Math.random() * 1_000_000));
  it.each([
    ['without a header row', 'bsn', `F1,${bsn},,a,depressie,${daysAgo(40)},,waiting-intake,false\nF2,,${'ab'.repeat(32)},a,angst,${daysAgo(40)},,waiting-intake,true\n`],
    [
      'whose first line ends in a lone CR',
      'waitsForThisProvider',
      `${HEADER.join(',')}\rF1,${bsn},,a,depressie,${daysAgo(40)},,waiting-intake,false\nF2,,${'ab'.repeat(32)},a,angst,${daysAgo(40)},,waiting-intake,true\n`,
    ],
  ])('a CSV snapshot %s is refused naming the columns by position, without echoing the BSN of its first line', async (_name, missing, csv) => {
    const res = await http(api.url, 'POST', '/v1/ttp/snapshots', { token: tokens.provider(), rawBody: csv, headers: { 'content-type': 'text/csv' } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).not.toContain(bsn);
    expect(res.body.details).toContainEqual({ field: '(header)', reason: expect.stringMatching(/^column \d+ \(not shown: .*header row missing/) });
    expect(res.body.details).toContainEqual({ field: '(header)', reason: `column "${missing}" is missing` });
  });

  it('a 1 MB CSV refused for its header is answered 400 and its connection closed; the next connection is served', async () => {
    const port = Number(new URL(api.url).port);
    const request = (body: string) =>
      `POST /v1/ttp/snapshots HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tokens.provider()}\r\nContent-Type: text/csv\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const exchange = async (payload: string) => {
      const socket = connect(port, '127.0.0.1');
      let received = '';
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.on('data', (d) => (received += d.toString()));
      socket.on('error', () => undefined);
      socket.write(payload);
      // Before it was fixed, the unread rest of the body kept the connection open and silent.
      const end = Date.now() + 5_000;
      let isClosed = false;
      void closed.then(() => (isClosed = true));
      while (!isClosed && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      socket.destroy();
      return { received, isClosed };
    };
    const big = await exchange(request(`a,b\n${'x,y\n'.repeat(250_000)}`) + request('a,b\nx,y\n'));
    expect(big.isClosed).toBe(true);
    expect([...big.received.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => m[1])).toEqual(['400']);
    expect(big.received).toMatch(/^connection: close\r$/im);
    expect(big.received).toContain('column \\"clientRef\\" is missing');
    // A new connection is served as usual.
    const res = await http(api.url, 'POST', '/v1/ttp/snapshots', { token: tokens.provider(), rawBody: 'a,b\nx,y\n', headers: { 'content-type': 'text/csv' } });
    expect(res.status).toBe(400);
  });
});
