/**
 * FHIR R4 referral Bundles for the tests, built from a JSON-route referral message (harness
 * referralMessage) so that the same referral can be delivered both ways. The profile is in
 * docs/FHIR.md; the code systems are the ones the intake reads (FHIR_SYSTEMS).
 */
import { randomUUID } from 'node:crypto';
import { FHIR_SYSTEMS, FhirR4 } from '@app/referrals';

export const ENTRY = { patient: 0, provider: 1, insurer: 2, request: 3, consent: 4, coverage: 5 } as const;

export interface BundleOptions {
  type?: 'transaction' | 'message';
  /** The Bundle's id for a transaction (default: the message's messageId). */
  bundleId?: string;
}

/**
 * A transaction Bundle: Patient, provider and insurer Organizations, ServiceRequest, Consent,
 * Coverage at the ENTRY positions, referenced by urn:uuid fullUrls. A message Bundle has a
 * MessageHeader in front (every other entry one further on) whose id is the message id.
 */
export function referralBundle(msg: Record<string, any>, opts: BundleOptions = {}): FhirR4.Bundle {
  const u = { patient: `urn:uuid:${randomUUID()}`, provider: `urn:uuid:${randomUUID()}`, insurer: `urn:uuid:${randomUUID()}` };
  const reasonCode: FhirR4.CodeableConcept[] = [{ coding: [{ system: FHIR_SYSTEMS.diagnosisGroup, code: msg.klachtenprofiel }] }];
  if (msg.dsmCode !== undefined) reasonCode.push({ coding: [{ system: FHIR_SYSTEMS.icd10, code: msg.dsmCode }] });
  const resources: [string | undefined, FhirR4.ProfileResource][] = [
    [u.patient, { resourceType: 'Patient', identifier: [{ system: FHIR_SYSTEMS.bsn, value: msg.bsn }] }],
    [u.provider, { resourceType: 'Organization', identifier: [{ system: FHIR_SYSTEMS.agb, value: msg.agb }], name: 'GGZ aanbieder' }],
    [u.insurer, { resourceType: 'Organization', identifier: [{ system: FHIR_SYSTEMS.uzovi, value: msg.uzovi }], name: 'Zorgverzekeraar' }],
    [
      `urn:uuid:${randomUUID()}`,
      {
        resourceType: 'ServiceRequest',
        status: 'active',
        intent: 'order',
        subject: { reference: u.patient },
        authoredOn: msg.verwijsdatum,
        performer: [{ reference: u.provider }],
        reasonCode,
      },
    ],
    [
      `urn:uuid:${randomUUID()}`,
      {
        resourceType: 'Consent',
        identifier: [{ value: msg.consent.id }],
        status: 'active',
        scope: { coding: [{ system: FHIR_SYSTEMS.consentScope, code: msg.consent.scope }] },
        // Required by R4 (1..*), not read by the intake: the LOINC code of the HL7 examples.
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        patient: { reference: u.patient },
        dateTime: msg.consent.givenAt,
        // ppc-1 (R4): a policy or a policyRule; the intake requires one and does not read it.
        policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
        extension: [{ url: FHIR_SYSTEMS.consentChannel, valueString: msg.consent.channel }],
      },
    ],
    [`urn:uuid:${randomUUID()}`, { resourceType: 'Coverage', status: 'active', beneficiary: { reference: u.patient }, payor: [{ reference: u.insurer }] }],
  ];
  if (opts.type === 'message') {
    return {
      resourceType: 'Bundle',
      id: randomUUID(),
      type: 'message',
      timestamp: new Date().toISOString(),
      entry: [
        {
          fullUrl: `urn:uuid:${randomUUID()}`,
          resource: {
            resourceType: 'MessageHeader',
            id: msg.messageId,
            eventCoding: { system: 'https://ggz-wachttijd.nl/fhir/CodeSystem/message-event', code: 'referral' },
            source: { endpoint: 'https://verwijsdienst.example/fhir' },
          },
        },
        ...resources.map(([fullUrl, resource]) => ({ fullUrl, resource })),
      ],
    };
  }
  return {
    resourceType: 'Bundle',
    id: opts.bundleId ?? msg.messageId,
    type: 'transaction',
    entry: resources.map(([fullUrl, resource]) => ({ fullUrl, resource, request: { method: 'POST' as const, url: resource.resourceType } })),
  };
}

/** The resource at an entry position, for tests that change one element. */
export function resourceAt(bundle: FhirR4.Bundle, index: number): Record<string, any> {
  return bundle.entry![index].resource as Record<string, any>;
}
