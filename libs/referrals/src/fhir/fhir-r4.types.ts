/// <reference types="fhir/r4" />
/**
 * The FHIR R4 shapes the FHIR intake reads and answers with: the maintained definitions of
 * @types/fhir (its 0.0.x line, namespace `fhir4`; its 3.x line is the old STU3-only one).
 * The intake never trusts these types for input: a Bundle arrives as `unknown` and every element
 * is checked before it is read (referral-bundle.ts).
 */

export type OperationOutcome = fhir4.OperationOutcome;
export type OperationOutcomeIssue = fhir4.OperationOutcomeIssue;
export type Identifier = fhir4.Identifier;
export type Coding = fhir4.Coding;
export type CodeableConcept = fhir4.CodeableConcept;
export type Extension = fhir4.Extension;
export type Reference = fhir4.Reference;
export type Patient = fhir4.Patient;
export type Organization = fhir4.Organization;
export type ServiceRequest = fhir4.ServiceRequest;
export type Consent = fhir4.Consent;
export type Coverage = fhir4.Coverage;
export type MessageHeader = fhir4.MessageHeader;

/** The resources of this profile. */
export type ProfileResource = Patient | Organization | ServiceRequest | Consent | Coverage | MessageHeader;
export type BundleEntry = fhir4.BundleEntry<ProfileResource>;
export type Bundle = fhir4.Bundle<ProfileResource>;
