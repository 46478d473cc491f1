import { validatePlain } from '@app/platform';
import { ReferralMessageDto } from '../referral-message.dto';
import { FHIR_SYSTEMS, fieldIssues, readReferralBundle } from './referral-bundle';

const BSN = '123456782'; // synthetic, passes the elfproef

function bundle(): any {
  return {
    resourceType: 'Bundle',
    id: 'msg-1',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:p', resource: { resourceType: 'Patient', identifier: [{ system: FHIR_SYSTEMS.bsn, value: BSN }] }, request: { method: 'POST', url: 'Patient' } },
      {
        fullUrl: 'urn:uuid:o',
        resource: { resourceType: 'Organization', identifier: [{ system: FHIR_SYSTEMS.agb, value: '94012345' }] },
        request: { method: 'POST', url: 'Organization' },
      },
      {
        fullUrl: 'urn:uuid:s',
        resource: {
          resourceType: 'ServiceRequest',
          status: 'active',
          intent: 'order',
          subject: { reference: 'urn:uuid:p' },
          authoredOn: '2026-11-20',
          performer: [{ reference: 'urn:uuid:o' }],
          reasonCode: [
            {
              coding: [
                { system: FHIR_SYSTEMS.diagnosisGroup, code: 'depressie' },
                { system: FHIR_SYSTEMS.icd10, code: 'F32.1' },
              ],
            },
          ],
        },
        request: { method: 'POST', url: 'ServiceRequest' },
      },
      {
        fullUrl: 'urn:uuid:c',
        resource: {
          resourceType: 'Consent',
          identifier: [{ value: 'c-1' }],
          status: 'active',
          scope: { coding: [{ system: FHIR_SYSTEMS.consentScope, code: 'zorgbemiddeling' }] },
          patient: { reference: 'urn:uuid:p' },
          dateTime: '2026-11-20T10:15:00+01:00',
          policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
          extension: [{ url: FHIR_SYSTEMS.consentChannel, valueString: 'verwijsportaal' }],
        },
        request: { method: 'POST', url: 'Consent' },
      },
      {
        fullUrl: 'urn:uuid:v',
        resource: { resourceType: 'Coverage', status: 'active', beneficiary: { reference: 'urn:uuid:p' }, payor: [{ identifier: { system: FHIR_SYSTEMS.uzovi, value: '3311' } }] },
        request: { method: 'POST', url: 'Coverage' },
      },
    ],
  };
}

describe('readReferralBundle', () => {
  it('reads a valid Bundle into the JSON message, remembering where each value came from', () => {
    const r = readReferralBundle(bundle());
    expect(r.issues).toEqual([]);
    expect(r.message).toEqual({
      messageId: 'msg-1',
      bsn: BSN,
      verwijsdatum: '2026-11-20',
      klachtenprofiel: 'depressie',
      dsmCode: 'F32.1',
      agb: '94012345',
      uzovi: '3311',
      consent: { id: 'c-1', givenAt: '2026-11-20T10:15:00+01:00', scope: 'zorgbemiddeling', channel: 'verwijsportaal' },
    });
    expect('value' in validatePlain(ReferralMessageDto, r.message)).toBe(true);
    expect(r.source).toMatchObject({
      messageId: 'Bundle.id',
      bsn: 'Bundle.entry[0].resource.identifier[0].value',
      agb: 'Bundle.entry[1].resource.identifier[0].value',
      klachtenprofiel: 'Bundle.entry[2].resource.reasonCode[0].coding[0].code',
      uzovi: 'Bundle.entry[4].resource.payor[0].identifier.value',
      'consent.channel': 'Bundle.entry[3].resource.extension[0].valueString',
    });
    expect(r.labels.bsn).toBe('Patient.identifier[0].value');
  });

  it("maps the validator's field errors to the elements, and never quotes a value", () => {
    const b = bundle();
    b.entry[0].resource.identifier[0].value = '123456789';
    b.entry[2].resource.reasonCode[0].coding[0].code = 'griep';
    const r = readReferralBundle(b);
    const v = validatePlain(ReferralMessageDto, r.message);
    expect('errors' in v).toBe(true);
    const issues = fieldIssues('errors' in v ? v.errors : [], r);
    expect(issues.map((i) => [i.code, i.expression])).toEqual([
      ['value', 'Bundle.entry[0].resource.identifier[0].value'],
      ['code-invalid', 'Bundle.entry[2].resource.reasonCode[0].coding[0].code'],
    ]);
    expect(issues[0].diagnostics).toBe('Patient.identifier[0].value fails the elfproef (not a valid BSN)');
    expect(JSON.stringify(issues)).not.toContain('123456789');
  });

  it('names missing resources and elements, and does not judge their fields again', () => {
    const b = bundle();
    b.entry.splice(3, 1); // no Consent
    delete b.entry[2].resource.authoredOn;
    const r = readReferralBundle(b);
    expect(r.issues.map((i) => i.expression)).toEqual(['Bundle.entry.resource.ofType(Consent)']);
    const v = validatePlain(ReferralMessageDto, r.message);
    const issues = fieldIssues('errors' in v ? v.errors : [], r);
    expect(issues.map((i) => [i.code, i.expression])).toEqual([['required', 'Bundle.entry[2].resource.authoredOn']]);
  });

  it('takes the message id from the MessageHeader of a message Bundle', () => {
    const b = bundle();
    b.type = 'message';
    b.entry = [{ resource: { resourceType: 'MessageHeader', id: 'hdr-7' } }, ...b.entry.map(({ request: _r, ...e }: any) => e)];
    const r = readReferralBundle(b);
    expect(r.issues).toEqual([]);
    expect(r.message.messageId).toBe('hdr-7');
    expect(r.source.messageId).toBe('Bundle.entry[0].resource.id');
    expect(r.labels.messageId).toBe('MessageHeader.id');
  });

  it('reads a date-time authoredOn as its calendar date in Amsterdam', () => {
    const b = bundle();
    b.entry[2].resource.authoredOn = '2026-06-30T22:30:00Z';
    expect(readReferralBundle(b).message.verwijsdatum).toBe('2026-07-01');
  });

  it('reads own properties only: "constructor" and "toString" in a Bundle are data', () => {
    const r = readReferralBundle(JSON.parse('{"resourceType":"Bundle","type":"transaction","id":"x","entry":[{"resource":{"resourceType":"toString"}}],"constructor":{}}'));
    expect(r.issues.map((i) => i.expression)).toEqual(expect.arrayContaining(['Bundle.entry[0].request', 'Bundle.entry.resource.ofType(Patient)']));
  });

  it('refuses a modifierExtension on any element at any depth, naming it (none is understood)', () => {
    const mod = () => [{ url: 'https://example.org/fhir/StructureDefinition/not', valueBoolean: true }];
    const b = bundle();
    b.entry[0].resource.modifierExtension = mod(); // on a resource
    b.entry[2].resource.reasonCode[0].coding[1].modifierExtension = mod(); // on a datatype, deep down
    b.entry[3].request.modifierExtension = mod(); // on a backbone element of the Bundle
    b.entry[4].resource._status = { modifierExtension: mod() }; // on a primitive
    b.entry[4].resource.contained = [{ resourceType: 'Basic', modifierExtension: [...mod(), ...mod()] }];
    b.entry[1].resource['123456782'] = { modifierExtension: mod() }; // no element name: never echoed
    const r = readReferralBundle(b);
    expect(r.issues.map((i) => [i.code, i.expression])).toEqual([
      ['not-supported', 'Bundle.entry[0].resource.modifierExtension[0]'],
      ['not-supported', 'Bundle.entry[1].resource.children().modifierExtension[0]'],
      ['not-supported', 'Bundle.entry[2].resource.reasonCode[0].coding[1].modifierExtension[0]'],
      ['not-supported', 'Bundle.entry[3].request.modifierExtension[0]'],
      ['not-supported', 'Bundle.entry[4].resource.status.modifierExtension[0]'],
      ['not-supported', 'Bundle.entry[4].resource.contained[0].modifierExtension[0]'],
      ['not-supported', 'Bundle.entry[4].resource.contained[0].modifierExtension[1]'],
    ]);
    expect(JSON.stringify(r.issues)).not.toMatch(/123456782|example\.org/);
    const odd = bundle();
    odd.modifierExtension = 'x';
    expect(readReferralBundle(odd).issues.map((i) => i.expression)).toEqual(['Bundle.modifierExtension']);
    const many = bundle();
    many.entry[0].resource.modifierExtension = Array.from({ length: 50 }, mod).flat();
    expect(readReferralBundle(many).issues).toHaveLength(20);
  });

  it('refuses two entries with one fullUrl (bdl-7), unless their meta.versionId differs', () => {
    const b = bundle();
    b.entry[1].fullUrl = b.entry[0].fullUrl;
    expect(readReferralBundle(b).issues.map((i) => [i.code, i.expression])).toEqual([['invalid', 'Bundle.entry[1].fullUrl'], expect.anything()]);
    const versions = bundle();
    versions.entry.push({ ...structuredClone(versions.entry[1]), request: { method: 'PUT', url: 'Organization/o' } });
    versions.entry[1].resource.meta = { versionId: '1' };
    versions.entry[5].resource.meta = { versionId: '2' };
    expect(readReferralBundle(versions).issues.filter((i) => i.expression.endsWith('fullUrl'))).toEqual([]);
    versions.entry[5].resource.meta = { versionId: '1' };
    expect(readReferralBundle(versions).issues.map((i) => i.expression)).toContain('Bundle.entry[5].fullUrl');
  });

  it('requires a policy or policyRule on the Consent (ppc-1)', () => {
    const b = bundle();
    delete b.entry[3].resource.policyRule;
    expect(readReferralBundle(b).issues.map((i) => [i.code, i.expression])).toEqual([['required', 'Bundle.entry[3].resource.policyRule']]);
    b.entry[3].resource.policy = [{ uri: 'https://verwijsdienst.example/privacy/zorgbemiddeling' }];
    expect(readReferralBundle(b).issues).toEqual([]);
    b.entry[3].resource.policy = [];
    expect(readReferralBundle(b).issues.map((i) => [i.code, i.expression])).toEqual([['structure', 'Bundle.entry[3].resource.policyRule']]);
  });

  it.each([[null], [[]], ['Bundle'], [{ resourceType: 'Patient' }]])('refuses %j as a whole', (body) => {
    const r = readReferralBundle(body);
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0].expression).toMatch(/^Bundle(\.resourceType)?$/);
  });
});
