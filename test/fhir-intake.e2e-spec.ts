/**
 * POST /fhir/Bundle against the real app, Postgres and Redis: valid transaction and message
 * Bundles (one built from HL7's own R4 example resources) stored exactly as the JSON route
 * stores them; invalid ones refused with an OperationOutcome naming the element, storing
 * nothing and echoing no BSN; idempotency shared with POST /v1/referrals by message id.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import { BsnVault } from '@app/platform';
import { FHIR_SYSTEMS, FhirR4 } from '@app/referrals';
import { findBsnLike } from './support/log-scan';
import { daysAgo, giveTask, http, nextBsn, pg, referralMessage, RunningApi, startApi, startWorker, token, waitFor } from './support/harness';
import { ENTRY, referralBundle, resourceAt } from './support/fhir-bundles';

const UZOVI = '8701';
const FHIR = 'application/fhir+json';
let api: RunningApi;
let db: Client;
const rs = () => token('referral-service', { uzovi: [UZOVI], subject: 'fhir-rs' });
const mediator = () => token('mediator', { uzovi: [UZOVI] });
const message = (overrides: Record<string, unknown> = {}) => referralMessage({ uzovi: UZOVI, ...overrides });

/** FHIRPath of an element of the resource at an entry position. */
const at = (i: number, path = '') => `Bundle.entry[${i}].resource${path}`;

const post = (body: unknown, opts: { type?: string; bearer?: string | null; raw?: string } = {}) =>
  http(api.url, 'POST', '/fhir/Bundle', {
    token: opts.bearer === null ? undefined : (opts.bearer ?? rs()),
    ...(opts.raw !== undefined ? { rawBody: opts.raw } : { body }),
    headers: { 'content-type': opts.type ?? FHIR },
  });

async function stored(): Promise<number> {
  return (await db.query('SELECT count(*)::int AS n FROM referral WHERE uzovi = $1', [UZOVI])).rows[0].n;
}

/** An OperationOutcome with FHIR's media type, each issue an error with a code and diagnostics, and no BSN anywhere in it. */
function expectOutcome(res: { status: number; body: any; headers: Headers }, status: number): FhirR4.OperationOutcomeIssue[] {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  expect(res.body.resourceType).toBe('OperationOutcome');
  expect(Object.keys(res.body).sort()).toEqual(['issue', 'resourceType']);
  expect(res.body.issue.length).toBeGreaterThan(0);
  for (const i of res.body.issue) {
    expect(['error', 'fatal']).toContain(i.severity);
    expect(typeof i.code).toBe('string');
    expect(typeof i.diagnostics).toBe('string');
  }
  expect(findBsnLike(JSON.stringify(res.body))).toEqual([]);
  return res.body.issue;
}

beforeAll(async () => {
  api = await startApi();
  db = await pg();
});
afterAll(async () => {
  await api?.close();
  // The referrals stored here wait for evaluation: evaluate them now, so that none of this file's
  // is left pending for the workers and queue flushes of other files.
  if (db) {
    const worker = await startWorker({ SWEEPER_INTERVAL_SECONDS: '1', SWEEPER_DELAY_SECONDS: '1' });
    try {
      const pending = async () =>
        (await db.query(`SELECT count(*)::int AS n FROM referral WHERE status = 'pending' AND (uzovi = $1 OR message_id = 'vd-2026-000123')`, [UZOVI])).rows[0].n;
      await waitFor(async () => (await pending()) === 0, 30_000);
    } finally {
      await worker.close();
    }
  }
  await db?.end();
});

describe('valid Bundles', () => {
  it('a transaction Bundle (application/fhir+json) is stored like the JSON message it carries', async () => {
    const msg = message();
    const res = await post(referralBundle(msg));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      messageId: msg.messageId,
      uzovi: UZOVI,
      bsn: `*****${msg.bsn.slice(-4)}`,
      verwijsdatum: msg.verwijsdatum,
      klachtenprofiel: msg.klachtenprofiel,
      dsmCode: msg.dsmCode,
      agb: msg.agb,
      consent: { id: msg.consent.id, scope: 'zorgbemiddeling', channel: msg.consent.channel, givenAt: new Date(msg.consent.givenAt).toISOString() },
      status: 'pending',
    });
    expect(JSON.stringify(res.body)).not.toContain(msg.bsn);

    // The stored row: dates, group, AGB, consent, and the BSN by its blind index.
    const { rows } = await db.query(
      `SELECT message_id, to_char(verwijsdatum, 'YYYY-MM-DD') AS verwijsdatum, klachtenprofiel, dsm_code, agb, consent_id, consent_given_at,
              consent_scope, consent_channel, bsn_blind_index, sender FROM referral WHERE id = $1`,
      [res.body.id],
    );
    expect(rows[0]).toMatchObject({
      message_id: msg.messageId,
      verwijsdatum: msg.verwijsdatum,
      klachtenprofiel: msg.klachtenprofiel,
      dsm_code: msg.dsmCode,
      agb: msg.agb,
      consent_id: msg.consent.id,
      consent_scope: 'zorgbemiddeling',
      consent_channel: msg.consent.channel,
      bsn_blind_index: api.app.get(BsnVault).blindIndex(msg.bsn),
      sender: 'fhir-rs',
    });
    expect(rows[0].consent_given_at.toISOString()).toBe(new Date(msg.consent.givenAt).toISOString());

    // And through the referral read route, once it has a task.
    await giveTask(db, res.body.id);
    const got = await http(api.url, 'GET', `/v1/referrals/${res.body.id}`, { token: mediator() });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ bsn: `*****${msg.bsn.slice(-4)}`, verwijsdatum: msg.verwijsdatum, klachtenprofiel: msg.klachtenprofiel, agb: msg.agb });

    // Sent again: 200, the same referral.
    const again = await post(referralBundle(msg));
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(res.body.id);
  });

  it('a message Bundle (application/json): the MessageHeader id is the message id', async () => {
    const msg = message({ klachtenprofiel: 'angst', dsmCode: undefined });
    delete msg.dsmCode;
    const bundle = referralBundle(msg, { type: 'message' });
    const res = await post(bundle, { type: 'application/json' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ messageId: msg.messageId, klachtenprofiel: 'angst', dsmCode: null });
    expect(res.body.messageId).not.toBe(bundle.id);
    // A new Bundle id around the same MessageHeader is a re-delivery.
    const again = await post({ ...bundle, id: 'another-bundle-id' });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(res.body.id);
  });

  it('relative references, resource ids, PUT entries, an 8-digit BSN, logical AGB/UZOVI references and a fhirVersion parameter', async () => {
    let bsn = nextBsn();
    while (!bsn.startsWith('0')) bsn = nextBsn();
    const msg = message({ bsn: bsn.slice(1) });
    const bundle = referralBundle(msg);
    bundle.entry = bundle.entry!.filter((_e, i) => i !== ENTRY.provider && i !== ENTRY.insurer);
    const [patient, request, consent, coverage] = bundle.entry.map((e) => e.resource as Record<string, any>);
    bundle.entry.forEach((e) => {
      e.fullUrl = `https://verwijsdienst.example/fhir/${e.resource!.resourceType}/${e.resource!.resourceType.toLowerCase()}-1`;
      e.resource!.id = `${e.resource!.resourceType.toLowerCase()}-1`;
      e.request = { method: 'PUT', url: `${e.resource!.resourceType}/${e.resource!.id}` };
    });
    request.subject = { reference: 'Patient/patient-1' };
    consent.patient = { reference: 'Patient/patient-1' };
    coverage.beneficiary = { reference: bundle.entry[0].fullUrl };
    request.performer = [{ type: 'Organization', identifier: { system: FHIR_SYSTEMS.agb, value: msg.agb } }];
    coverage.payor = [{ identifier: { system: FHIR_SYSTEMS.uzovi, value: UZOVI }, display: 'Zorgverzekeraar' }];
    patient.identifier.unshift({ system: 'urn:oid:2.16.840.1.113883.2.4.6.3', value: '12345' });
    const res = await post(bundle, { type: `${FHIR}; fhirVersion=4.0; charset=utf-8` });
    expect(res.status).toBe(201);
    const { rows } = await db.query('SELECT bsn_blind_index, agb FROM referral WHERE id = $1', [res.body.id]);
    expect(rows[0]).toEqual({ bsn_blind_index: api.app.get(BsnVault).blindIndex(bsn), agb: msg.agb });
  });

  it('authoredOn as a date-time is the referral date in Amsterdam', async () => {
    const msg = message();
    const bundle = referralBundle(msg);
    // 23:30 UTC on a day in the past is already the next day in Amsterdam (UTC+1 or +2).
    const utcDay = daysAgo(5);
    resourceAt(bundle, ENTRY.request).authoredOn = `${utcDay}T23:30:00Z`;
    const res = await post(bundle);
    expect(res.status).toBe(201);
    const next = new Date(Date.parse(`${utcDay}T12:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    expect(res.body.verwijsdatum).toBe(next);
  });

  it('a Bundle built from the HL7 R4 examples Patient/example, ServiceRequest/myringotomy, Consent/consent-example-basic and Coverage/9876B1, with Dutch identifiers', async () => {
    const bsn = nextBsn();
    // Elements of the published examples (narratives, contacts and a few others left out; their
    // references pointed at Patient/example), with what this profile needs added or changed:
    // the BSN, an AGB performer, the diagnosis group, the consent's scope, time and channel, a UZOVI payor.
    const patient = {
      resourceType: 'Patient',
      id: 'example',
      identifier: [
        {
          use: 'usual',
          type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
          system: 'urn:oid:1.2.36.146.595.217.0.1',
          value: '12345',
          period: { start: '2001-05-06' },
          assigner: { display: 'Acme Healthcare' },
        },
        { use: 'official', system: FHIR_SYSTEMS.bsn, value: bsn },
      ],
      active: true,
      name: [
        { use: 'official', family: 'Chalmers', given: ['Peter', 'James'] },
        { use: 'usual', given: ['Jim'] },
        { use: 'maiden', family: 'Windsor', given: ['Peter', 'James'], period: { end: '2002' } },
      ],
      telecom: [{ use: 'home' }, { system: 'phone', value: '(03) 5555 6473', use: 'work', rank: 1 }, { system: 'phone', value: '(03) 3410 5613', use: 'mobile', rank: 2 }],
      gender: 'male',
      birthDate: '1974-12-25',
      _birthDate: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1974-12-25T14:35:45-05:00' }] },
      deceasedBoolean: false,
      address: [
        {
          use: 'home',
          type: 'both',
          text: '534 Erewhon St PeasantVille, Rainbow, Vic  3999',
          line: ['534 Erewhon St'],
          city: 'PleasantVille',
          district: 'Rainbow',
          state: 'Vic',
          postalCode: '3999',
          period: { start: '1974-12-25' },
        },
      ],
      managingOrganization: { reference: 'Organization/1' },
    };
    const provider = { resourceType: 'Organization', id: 'ggz-centrum', identifier: [{ system: FHIR_SYSTEMS.agb, value: '94012345' }], name: 'GGZ Centrum' };
    const insurer = { resourceType: 'Organization', id: '2', identifier: [{ system: FHIR_SYSTEMS.uzovi, value: UZOVI }], name: 'Zorgverzekeraar' };
    const serviceRequest = {
      resourceType: 'ServiceRequest',
      id: 'myringotomy',
      identifier: [{ system: 'http://orionhealth.com/fhir/apps/referralids', value: 'ret4421' }],
      status: 'active',
      intent: 'order',
      priority: 'routine',
      code: { coding: [{ system: 'http://snomed.info/sct', code: '172676009', display: 'Myringotomy and insertion of tympanic ventilation tube' }], text: 'Insertion of grommets' },
      subject: { reference: 'Patient/example', display: 'Peter Chalmers' },
      occurrencePeriod: { end: '2014-03-14' },
      authoredOn: '2014-02-14',
      requester: { reference: 'Practitioner/example', display: 'Serena Shrink' },
      performer: [{ reference: 'Organization/ggz-centrum', display: 'GGZ Centrum' }],
      reasonCode: [{ text: 'For consideration of Grommets' }, { coding: [{ system: FHIR_SYSTEMS.diagnosisGroup, code: 'angst', display: 'Angst' }] }],
    };
    const consent = {
      resourceType: 'Consent',
      id: 'consent-example-basic',
      extension: [{ url: FHIR_SYSTEMS.consentChannel, valueString: 'huisarts' }],
      identifier: [{ system: 'urn:oid:2.16.840.1.113883.3.72.5.9.1', value: '494e0c7a-a69e-4fb4-9d02-6aae747790d7' }],
      status: 'active',
      scope: {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' },
          { system: FHIR_SYSTEMS.consentScope, code: 'zorgbemiddeling' },
        ],
      },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: 'Patient/example', display: 'P. van de Heuvel' },
      dateTime: '2016-05-11T10:00:00+02:00',
      organization: [{ reference: 'Organization/ggz-centrum' }],
      sourceAttachment: { title: 'The terms of the consent in lawyer speak.' },
      policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
      provision: { period: { start: '1964-01-01', end: '2019-01-01' } },
    };
    const coverage = {
      resourceType: 'Coverage',
      id: '9876B1',
      identifier: [{ system: 'http://benefitsinc.com/certificate', value: '12345' }],
      status: 'active',
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'EHCPOL', display: 'extended healthcare' }] },
      policyHolder: { reference: 'http://benefitsinc.com/FHIR/Organization/CBI35' },
      subscriber: { reference: 'Patient/example' },
      beneficiary: { reference: 'Patient/example' },
      dependent: '0',
      relationship: { coding: [{ code: 'self' }] },
      period: { start: '2011-05-23', end: '2012-05-23' },
      payor: [{ reference: 'Organization/2' }],
    };
    const resources = [patient, provider, insurer, serviceRequest, consent, coverage];
    const bundle = {
      resourceType: 'Bundle',
      id: `hl7-examples-${randomUUID()}`,
      type: 'transaction',
      entry: resources.map((r) => ({ fullUrl: `http://hl7.org/fhir/${r.resourceType}/${r.id}`, resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } })),
    };
    const res = await post(bundle);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ messageId: bundle.id, verwijsdatum: '2014-02-14', klachtenprofiel: 'angst', agb: '94012345', uzovi: UZOVI, dsmCode: null });
    expect(res.body.consent).toEqual({ id: '494e0c7a-a69e-4fb4-9d02-6aae747790d7', givenAt: '2016-05-11T08:00:00.000Z', scope: 'zorgbemiddeling', channel: 'huisarts' });
    const { rows } = await db.query('SELECT bsn_blind_index FROM referral WHERE id = $1', [res.body.id]);
    expect(rows[0].bsn_blind_index).toBe(api.app.get(BsnVault).blindIndex(bsn));
  });
});

/**
 * The FHIR R4 rules a validator would hold the docs' example to beyond this intake's profile:
 * the required (1..) elements of the resources it uses and the invariants bdl-3, bdl-7, org-1,
 * ppc-1, and no modifierExtension. Not a full validator: a guard that the example stays R4.
 */
function r4Problems(bundle: any): string[] {
  const required: Record<string, string[]> = {
    Bundle: ['type'],
    ServiceRequest: ['status', 'intent', 'subject'],
    Consent: ['status', 'scope', 'category', 'patient'],
    Coverage: ['status', 'beneficiary', 'payor'],
    MessageHeader: ['source'],
  };
  const out: string[] = [];
  const has = (o: any, k: string) => o?.[k] !== undefined && !(Array.isArray(o[k]) && o[k].length === 0);
  for (const k of required.Bundle) if (!has(bundle, k)) out.push(`Bundle.${k}`);
  const urls = new Set<string>();
  (bundle.entry ?? []).forEach((e: any, i: number) => {
    const r = e.resource;
    for (const k of required[r?.resourceType] ?? []) if (!has(r, k)) out.push(`entry[${i}] ${r.resourceType}.${k}`);
    if (bundle.type === 'transaction' && !(e.request?.method && e.request?.url)) out.push(`entry[${i}] bdl-3 request`);
    if (e.fullUrl !== undefined && urls.has(e.fullUrl)) out.push(`entry[${i}] bdl-7 fullUrl`);
    urls.add(e.fullUrl);
    if (r?.resourceType === 'Organization' && !has(r, 'identifier') && !has(r, 'name')) out.push(`entry[${i}] org-1`);
    if (r?.resourceType === 'Consent' && !has(r, 'policy') && !has(r, 'policyRule')) out.push(`entry[${i}] ppc-1`);
  });
  if (JSON.stringify(bundle).includes('"modifierExtension"')) out.push('modifierExtension');
  return out;
}

describe('docs/FHIR.md', () => {
  it("its example Bundle is accepted, and is the same message as the README's JSON example under its id", async () => {
    const doc = readFileSync(join(__dirname, '..', 'docs', 'FHIR.md'), 'utf8');
    const example = JSON.parse(/## A full example[\s\S]*?```json\n([\s\S]*?)\n```/.exec(doc)![1]);
    expect(r4Problems(example)).toEqual([]);
    const sender = token('referral-service', { uzovi: ['3311'] });
    const res = await post(example, { bearer: sender });
    expect([201, 200]).toContain(res.status);
    expect(res.body).toMatchObject({ messageId: 'vd-2026-000123', uzovi: '3311', bsn: '*****6782', verwijsdatum: '2026-11-20', klachtenprofiel: 'depressie', agb: '94012345' });
    const json = {
      messageId: 'vd-2026-000123',
      bsn: '123456782',
      verwijsdatum: '2026-11-20',
      klachtenprofiel: 'depressie',
      agb: '94012345',
      uzovi: '3311',
      consent: { id: 'c-0001', givenAt: '2026-11-20T10:15:00+01:00', scope: 'zorgbemiddeling', channel: 'verwijsportaal' },
    };
    const again = await http(api.url, 'POST', '/v1/referrals', { token: sender, body: json });
    expect([again.status, again.body.id]).toEqual([200, res.body.id]);
  });
});

describe('one message, two routes: the ids decide', () => {
  it('the same id and content through JSON and FHIR (transaction and message) is one referral', async () => {
    const msg = message();
    const json = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg });
    expect(json.status).toBe(201);
    const fhir = await post(referralBundle(msg));
    expect(fhir.status).toBe(200);
    expect(fhir.body.id).toBe(json.body.id);
    const asMessage = await post(referralBundle(msg, { type: 'message' }));
    expect(asMessage.status).toBe(200);
    expect(asMessage.body.id).toBe(json.body.id);
  });

  it('FHIR first, then JSON with the same id and content: the JSON delivery is the re-delivery', async () => {
    const msg = message();
    const fhir = await post(referralBundle(msg));
    expect(fhir.status).toBe(201);
    const json = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg });
    expect(json.status).toBe(200);
    expect(json.body.id).toBe(fhir.body.id);
  });

  it('the same referral under different ids is two referrals', async () => {
    const msg = message();
    const before = await stored();
    const json = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg });
    const fhir = await post(referralBundle(msg, { bundleId: `${msg.messageId}-fhir` }));
    expect([json.status, fhir.status]).toEqual([201, 201]);
    expect(fhir.body.id).not.toBe(json.body.id);
    expect(await stored()).toBe(before + 2);
  });

  it('the same id with other content is a conflict: 409 naming Bundle.id (or MessageHeader.id)', async () => {
    const msg = message();
    expect((await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: msg })).status).toBe(201);
    const before = await stored();
    const changed = { ...msg, verwijsdatum: daysAgo(20) };
    const [issue] = expectOutcome(await post(referralBundle(changed)), 409);
    expect(issue).toMatchObject({ code: 'conflict', expression: ['Bundle.id'] });
    const [viaMessage] = expectOutcome(await post(referralBundle(changed, { type: 'message' })), 409);
    expect(viaMessage).toMatchObject({ code: 'conflict', expression: ['Bundle.entry[0].resource.id'] });
    expect(viaMessage.diagnostics).toMatch(/^MessageHeader\.id was already delivered with different content/);
    expect(await stored()).toBe(before);
  });
});

/** A modifier extension (one that would negate what it is on): nobody's, so understood by no one. */
const MODIFIER = { url: 'https://verwijsdienst.example/fhir/StructureDefinition/niet', valueBoolean: true };

describe('invalid Bundles: 400, an OperationOutcome naming the element, nothing stored', () => {
  type Case = [name: string, change: (b: any, msg: Record<string, any>) => unknown, expression: string, code?: string];
  const cases: Case[] = [
    ['a JSON array instead of a Bundle', () => [], 'Bundle', 'structure'],
    ['another resource type', (b) => ({ ...b, resourceType: 'Patient' }), 'Bundle.resourceType'],
    ['a collection Bundle', (b) => ({ ...b, type: 'collection' }), 'Bundle.type', 'value'],
    ['no entries', (b) => ({ ...b, entry: [] }), 'Bundle.entry'],
    ['a transaction without an id', (b) => ({ ...b, id: undefined }), 'Bundle.id', 'required'],
    ['a Bundle.id that is no FHIR id', (b) => ({ ...b, id: 'a b' }), 'Bundle.id', 'value'],
    ['a transaction entry without request', (b) => void delete b.entry[ENTRY.consent].request, `Bundle.entry[${ENTRY.consent}].request`, 'required'],
    ['a message Bundle without a MessageHeader first', (b) => ({ ...b, type: 'message' }), 'Bundle.entry[0].resource'],
    ['no Patient', (b) => void b.entry.splice(ENTRY.patient, 1), 'Bundle.entry.resource.ofType(Patient)', 'required'],
    ['two ServiceRequests', (b) => void b.entry.push(structuredClone(b.entry[ENTRY.request])), 'Bundle.entry.resource.ofType(ServiceRequest)'],
    ['no Coverage', (b) => void b.entry.splice(ENTRY.coverage, 1), 'Bundle.entry.resource.ofType(Coverage)', 'required'],
    [
      'a Patient without a BSN identifier',
      (b) => void (b.entry[ENTRY.patient].resource.identifier[0].system = 'urn:oid:2.16.840.1.113883.2.4.6.3'),
      at(ENTRY.patient, '.identifier'),
      'required',
    ],
    [
      'a BSN failing the elfproef',
      (b, m) => void (b.entry[ENTRY.patient].resource.identifier[0].value = m.bsn.slice(0, 8) + String((Number(m.bsn[8]) + 1) % 10)),
      at(ENTRY.patient, '.identifier[0].value'),
      'value',
    ],
    ['a BSN as a number', (b, m) => void (b.entry[ENTRY.patient].resource.identifier[0].value = Number(m.bsn)), at(ENTRY.patient, '.identifier[0].value'), 'value'],
    ['a draft ServiceRequest', (b) => void (b.entry[ENTRY.request].resource.status = 'draft'), at(ENTRY.request, '.status'), 'value'],
    ['a ServiceRequest about someone else', (b) => void (b.entry[ENTRY.request].resource.subject = { reference: 'Patient/elsewhere' }), at(ENTRY.request, '.subject.reference')],
    ['authoredOn in the future', (b) => void (b.entry[ENTRY.request].resource.authoredOn = '2999-01-01'), at(ENTRY.request, '.authoredOn'), 'value'],
    ['authoredOn a month only', (b) => void (b.entry[ENTRY.request].resource.authoredOn = '2026-01'), at(ENTRY.request, '.authoredOn'), 'value'],
    ['authoredOn missing', (b) => void delete b.entry[ENTRY.request].resource.authoredOn, at(ENTRY.request, '.authoredOn'), 'required'],
    [
      'an unknown diagnosis group',
      (b) => void (b.entry[ENTRY.request].resource.reasonCode[0].coding[0].code = 'griep'),
      at(ENTRY.request, '.reasonCode[0].coding[0].code'),
      'code-invalid',
    ],
    ['no diagnosis group coding', (b) => void b.entry[ENTRY.request].resource.reasonCode.splice(0, 1), at(ENTRY.request, '.reasonCode'), 'required'],
    [
      'a performer pointing nowhere',
      (b) => void (b.entry[ENTRY.request].resource.performer = [{ reference: 'Organization/missing' }]),
      at(ENTRY.request, '.performer[0].reference'),
    ],
    ['two performers', (b) => void b.entry[ENTRY.request].resource.performer.push({ display: 'Dr Dave' }), at(ENTRY.request, '.performer')],
    ['a provider without an AGB code', (b) => void (b.entry[ENTRY.provider].resource.identifier = []), at(ENTRY.provider, '.identifier'), 'required'],
    ['an AGB code of 7 digits', (b) => void (b.entry[ENTRY.provider].resource.identifier[0].value = '9401234'), at(ENTRY.provider, '.identifier[0].value'), 'value'],
    ['a rejected Consent', (b) => void (b.entry[ENTRY.consent].resource.status = 'rejected'), at(ENTRY.consent, '.status'), 'value'],
    [
      'a Consent without the mediation scope',
      (b) => void (b.entry[ENTRY.consent].resource.scope = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] }),
      at(ENTRY.consent, '.scope'),
      'code-invalid',
    ],
    [
      'a Consent scope code other than zorgbemiddeling',
      (b) => void (b.entry[ENTRY.consent].resource.scope.coding[0].code = 'contractering'),
      at(ENTRY.consent, '.scope.coding[0].code'),
      'code-invalid',
    ],
    ['a Consent dated without a time', (b) => void (b.entry[ENTRY.consent].resource.dateTime = '2026-01-05'), at(ENTRY.consent, '.dateTime'), 'value'],
    ['a Consent without a date', (b) => void delete b.entry[ENTRY.consent].resource.dateTime, at(ENTRY.consent, '.dateTime'), 'required'],
    ['a Consent without its channel', (b) => void delete b.entry[ENTRY.consent].resource.extension, at(ENTRY.consent, '.extension'), 'required'],
    ['a Consent without an identifier', (b) => void delete b.entry[ENTRY.consent].resource.identifier, at(ENTRY.consent, '.identifier'), 'required'],
    ['a UZOVI code of 3 digits', (b) => void (b.entry[ENTRY.insurer].resource.identifier[0].value = '870'), at(ENTRY.insurer, '.identifier[0].value'), 'value'],
    ['a Coverage without payor', (b) => void delete b.entry[ENTRY.coverage].resource.payor, at(ENTRY.coverage, '.payor'), 'required'],
    ['a Consent without policy or policyRule (ppc-1)', (b) => void delete b.entry[ENTRY.consent].resource.policyRule, at(ENTRY.consent, '.policyRule'), 'required'],
    // FHIR R4: a modifier extension the receiver does not understand makes it refuse the instance, wherever it stands.
    [
      'a modifierExtension on the Patient',
      (b) => void (b.entry[ENTRY.patient].resource.modifierExtension = [MODIFIER]),
      at(ENTRY.patient, '.modifierExtension[0]'),
      'not-supported',
    ],
    [
      'a modifierExtension deep in a coding',
      (b) => void (b.entry[ENTRY.request].resource.reasonCode[0].coding[0].modifierExtension = [MODIFIER]),
      at(ENTRY.request, '.reasonCode[0].coding[0].modifierExtension[0]'),
      'not-supported',
    ],
    [
      'a modifierExtension on an entry request',
      (b) => void (b.entry[ENTRY.consent].request.modifierExtension = [MODIFIER]),
      `Bundle.entry[${ENTRY.consent}].request.modifierExtension[0]`,
      'not-supported',
    ],
    [
      'a modifierExtension on a primitive (_status)',
      (b) => void (b.entry[ENTRY.coverage].resource._status = { modifierExtension: [MODIFIER] }),
      at(ENTRY.coverage, '.status.modifierExtension[0]'),
      'not-supported',
    ],
    ['two entries with one fullUrl (bdl-7)', (b) => void (b.entry[ENTRY.insurer].fullUrl = b.entry[ENTRY.provider].fullUrl), `Bundle.entry[${ENTRY.insurer}].fullUrl`, 'invalid'],
  ];

  // One argument per case: jest passes a `done` callback in place of a missing 4th argument.
  it.each(cases.map((c) => [c[0], c] as const))('%s', async (_name, [, change, expression, code]) => {
    const msg = message();
    const bundle: any = structuredClone(referralBundle(msg));
    const body = change(bundle, msg) ?? bundle;
    const before = await stored();
    const issues = expectOutcome(await post(body), 400);
    expect(issues.map((i) => i.expression?.[0])).toContain(expression);
    const named = issues.find((i) => i.expression?.[0] === expression)!;
    if (code) expect(named.code).toBe(code);
    expect(named.diagnostics!.length).toBeGreaterThan(10);
    expect(JSON.stringify(issues)).not.toContain(msg.bsn);
    expect(await stored()).toBe(before);
  });

  it('reports every problem at once', async () => {
    const bundle: any = referralBundle(message());
    bundle.entry[ENTRY.request].resource.authoredOn = '2999-01-01';
    bundle.entry[ENTRY.consent].resource.status = 'inactive';
    bundle.entry[ENTRY.provider].resource.identifier[0].value = 'x';
    const issues = expectOutcome(await post(bundle), 400);
    expect(issues.map((i) => i.expression![0]).sort()).toEqual([at(ENTRY.provider, '.identifier[0].value'), at(ENTRY.request, '.authoredOn'), at(ENTRY.consent, '.status')].sort());
  });
});

describe('every other failure is an OperationOutcome too', () => {
  it('a valid Bundle for another insurer: 403 naming the UZOVI element', async () => {
    const before = await stored();
    const [issue] = expectOutcome(await post(referralBundle(message({ uzovi: '8799' }))), 403);
    expect(issue).toMatchObject({ code: 'forbidden', expression: [at(ENTRY.insurer, '.identifier[0].value')] });
    expect(await stored()).toBe(before);
  });

  it('no token: 401; a wrong role: 403', async () => {
    const bundle = referralBundle(message());
    expect(expectOutcome(await post(bundle, { bearer: null }), 401)[0].code).toBe('login');
    expect(expectOutcome(await post(bundle, { bearer: token('mediator', { uzovi: [UZOVI] }) }), 403)[0].code).toBe('forbidden');
  });

  it('a body that is not JSON, empty, nested too deep: 400 on the Bundle', async () => {
    for (const raw of ['{"resourceType": "Bundle",', '', `${'['.repeat(100)}${']'.repeat(100)}`]) {
      const [issue] = expectOutcome(await post(undefined, { raw }), 400);
      expect(issue).toMatchObject({ code: 'structure', expression: ['Bundle'] });
    }
  });

  it('another media type: 415; too large: 413', async () => {
    const bundle = JSON.stringify(referralBundle(message()));
    expect(expectOutcome(await post(undefined, { raw: bundle, type: 'application/fhir+xml' }), 415)[0].code).toBe('not-supported');
    expect(expectOutcome(await post(undefined, { raw: bundle, type: 'text/plain' }), 415)[0].code).toBe('not-supported');
    const big = JSON.stringify({ ...referralBundle(message()), padding: 'x'.repeat(api.config.bodyLimitBytes) });
    expect(expectOutcome(await post(undefined, { raw: big }), 413)[0].code).toBe('too-long');
  });

  it('over the rate limit: 429 with Retry-After', async () => {
    const limited = await startApi({ RATE_LIMIT_PER_MINUTE: '1' });
    try {
      const send = () => http(limited.url, 'POST', '/fhir/Bundle', { token: rs(), body: [], headers: { 'content-type': FHIR } });
      expect((await send()).status).toBe(400);
      const res = await send();
      expect(expectOutcome(res, 429)[0].code).toBe('throttled');
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await limited.close();
    }
  });

  it('an unknown FHIR path: 404 as an OperationOutcome; the JSON routes keep their own error shape', async () => {
    const res = await http(api.url, 'POST', '/fhir/Patient', { token: rs(), body: {}, headers: { 'content-type': FHIR } });
    expect(expectOutcome(res, 404)[0].code).toBe('not-found');
    const json = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: {} });
    expect(json.status).toBe(400);
    expect(json.body.statusCode).toBe(400);
    // And they do not take FHIR's media type.
    const fhirToJson = await http(api.url, 'POST', '/v1/referrals', { token: rs(), body: message(), headers: { 'content-type': FHIR } });
    expect(fhirToJson.status).toBe(415);
    expect(fhirToJson.body).toMatchObject({ statusCode: 415, details: [{ field: 'content-type', reason: 'must be application/json' }] });
  });
});
