/**
 * Reads a FHIR R4 referral Bundle (docs/FHIR.md) into the JSON route's referral message, so that
 * both routes share one validator, one tenant check and one idempotent store. This file only
 * finds the elements and remembers where each value came from (a FHIRPath expression): whether a
 * value is acceptable is the ReferralMessageDto's decision, and its field errors are translated
 * back to the element that carried the value.
 *
 * Elements and resources outside the profile are ignored and never stored. Nothing here quotes a
 * value from the Bundle in an issue: a BSN may stand anywhere.
 */
import { amsterdamDate, isIsoDateTime } from '@app/core';
import type { FieldErrorDto } from '@app/platform';

/** Canonical base of this service's own FHIR definitions (code systems, extension). */
export const FHIR_CANONICAL_BASE = 'https://ggz-wachttijd.nl/fhir';

export const FHIR_SYSTEMS = {
  bsn: 'http://fhir.nl/fhir/NamingSystem/bsn',
  agb: 'http://fhir.nl/fhir/NamingSystem/agb-z',
  uzovi: 'http://fhir.nl/fhir/NamingSystem/uzovi',
  /** The diagnosis-group codes of DIAGNOSIS_GROUP_CODES (libs/core), as they are. */
  diagnosisGroup: `${FHIR_CANONICAL_BASE}/CodeSystem/diagnosegroep`,
  /** One code: "zorgbemiddeling". */
  consentScope: `${FHIR_CANONICAL_BASE}/CodeSystem/consent-scope`,
  /** Extension on Consent, valueString: how the consent was recorded (the JSON's consent.channel). */
  consentChannel: `${FHIR_CANONICAL_BASE}/StructureDefinition/consent-channel`,
  /** The optional suspected ICD-10 code (the JSON's dsmCode). */
  icd10: 'http://hl7.org/fhir/sid/icd-10',
} as const;

/** FHIR's id datatype: the messageId comes from Bundle.id or MessageHeader.id. */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const REQUEST_INTENTS = ['proposal', 'plan', 'directive', 'order', 'original-order', 'reflex-order', 'filler-order', 'instance-order', 'option'];

/** An OperationOutcome issue type (http://hl7.org/fhir/issue-type) this intake uses. */
export type IssueCode = 'structure' | 'required' | 'value' | 'invalid' | 'code-invalid' | 'not-supported' | 'forbidden' | 'conflict';

/**
 * Modifier extensions (by url) this intake understands: none. FHIR R4 (Extensibility, "isModifier")
 * requires a receiver to refuse an instance carrying a modifierExtension it does not understand,
 * on any element at any depth, since it may change the meaning of what it is on (even negate it).
 */
export const UNDERSTOOD_MODIFIER_EXTENSIONS: readonly string[] = [];
/** Enough to show where; a Bundle full of them does not need a thousand issues. */
const MAX_MODIFIER_ISSUES = 20;
/** A JSON key that can stand in an element path as it is: letters and digits, no run of digits that could be a BSN. */
const ELEMENT_NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/;

export interface FhirIssue {
  code: IssueCode;
  /** FHIRPath of the element, e.g. Bundle.entry[1].resource.identifier[0].value. */
  expression: string;
  diagnostics: string;
}

export type MessageField =
  'messageId' | 'bsn' | 'verwijsdatum' | 'klachtenprofiel' | 'dsmCode' | 'agb' | 'uzovi' | 'consent.id' | 'consent.givenAt' | 'consent.scope' | 'consent.channel';

export interface BundleReading {
  /** The referral message in the JSON route's terms (fields that could not be found are absent). */
  message: Record<string, unknown> & { consent: Record<string, unknown> };
  /** Where each field's value came from. */
  source: Partial<Record<MessageField, string>>;
  /** The same without the entry index, for words: "ServiceRequest.authoredOn". */
  labels: Partial<Record<MessageField, string>>;
  /** Problems found while reading; a field named here is not judged again by the validator. */
  issues: FhirIssue[];
  reported: Set<MessageField>;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
/** Own properties only: "constructor" or "toString" in a Bundle are data, not Object.prototype. */
const get = (o: Obj, key: string): unknown => (Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined);

interface Found {
  index: number;
  path: string;
  resource: Obj;
  fullUrl?: string;
}

export function readReferralBundle(body: unknown): BundleReading {
  const r = new Reader();
  r.read(body);
  return { message: r.message, source: r.source, labels: r.labels, issues: r.issues, reported: r.reported };
}

/** The validator's field errors, as issues on the elements the values came from. */
export function fieldIssues(errors: FieldErrorDto[], reading: BundleReading): FhirIssue[] {
  const out: FhirIssue[] = [];
  for (const e of errors) {
    const field = e.field as MessageField;
    if (reading.reported.has(field)) continue;
    // A field without a source had its element reported missing already (or the resource was).
    const expression = reading.source[field];
    if (expression === undefined) continue;
    const code: IssueCode = e.reason.startsWith('is required') ? 'required' : field === 'klachtenprofiel' || field === 'consent.scope' ? 'code-invalid' : 'value';
    out.push({ code, expression, diagnostics: `${reading.labels[field] ?? expression} ${e.reason}` });
  }
  return out;
}

class Reader {
  readonly message: BundleReading['message'] = { consent: {} };
  readonly source: BundleReading['source'] = {};
  readonly labels: BundleReading['labels'] = {};
  readonly issues: FhirIssue[] = [];
  readonly reported = new Set<MessageField>();
  private entries: Found[] = [];

  private issue(code: IssueCode, expression: string, diagnostics: string, field?: MessageField): void {
    this.issues.push({ code, expression, diagnostics });
    if (field) this.reported.add(field);
  }

  /** Records a message field taken from an element. */
  private take(field: MessageField, value: unknown, expression: string): void {
    this.source[field] = expression;
    this.labels[field] = this.label(expression);
    if (field.startsWith('consent.')) this.message.consent[field.slice('consent.'.length)] = value;
    else this.message[field] = value;
  }

  /** An element's path with its resource's type for the entry: "ServiceRequest.authoredOn". */
  private label(expression: string): string {
    const f = this.entries.find((x) => expression.startsWith(`${x.path}.`));
    return f ? `${get(f.resource, 'resourceType') as string}${expression.slice(f.path.length)}` : expression;
  }

  read(body: unknown): void {
    if (!isObj(body)) return this.issue('structure', 'Bundle', 'The request body must be a JSON object: a FHIR Bundle');
    if (get(body, 'resourceType') !== 'Bundle') return this.issue('invalid', 'Bundle.resourceType', 'resourceType must be "Bundle"');
    const type = get(body, 'type');
    if (type !== 'transaction' && type !== 'message') this.issue(type === undefined ? 'required' : 'value', 'Bundle.type', 'Bundle.type must be "transaction" or "message"');
    const entry = get(body, 'entry');
    if (!Array.isArray(entry) || entry.length === 0) {
      return this.issue(entry === undefined ? 'required' : 'structure', 'Bundle.entry', "Bundle.entry is required: a list of the profile's resources");
    }
    this.collect(entry, type === 'transaction');
    this.modifierExtensions(body);

    if (type === 'message') this.messageId(this.messageHeader(), 'MessageHeader.id');
    else this.messageId({ path: 'Bundle', resource: body, index: -1 }, 'Bundle.id');

    const patient = this.one('Patient');
    if (patient) this.patient(patient);
    const request = this.one('ServiceRequest');
    if (request) this.serviceRequest(request, patient);
    const consent = this.one('Consent');
    if (consent) this.consent(consent, patient);
    const coverage = this.one('Coverage');
    if (coverage) this.coverage(coverage, patient);
    // A resource missing altogether was reported by one(); its fields are not judged again.
    const missing: [Found | undefined, MessageField[]][] = [
      [patient, ['bsn']],
      [request, ['verwijsdatum', 'klachtenprofiel', 'dsmCode', 'agb']],
      [consent, ['consent.id', 'consent.givenAt', 'consent.scope', 'consent.channel']],
      [coverage, ['uzovi']],
    ];
    for (const [found, fields] of missing) if (!found) fields.forEach((f) => this.reported.add(f));
  }

  private collect(entry: unknown[], transaction: boolean): void {
    const seen = new Map<string, { index: number; versionId?: string }[]>();
    entry.forEach((e, i) => {
      const path = `Bundle.entry[${i}]`;
      if (!isObj(e)) return this.issue('structure', path, `${path} must be an object`);
      const resource = get(e, 'resource');
      if (!isObj(resource)) return this.issue(resource === undefined ? 'required' : 'structure', `${path}.resource`, `${path}.resource is required: a FHIR resource`);
      if (typeof get(resource, 'resourceType') !== 'string') return this.issue('required', `${path}.resource.resourceType`, `${path}.resource.resourceType is required`);
      if (transaction) {
        // bdl-3: each entry of a transaction says what to do with it; this intake only creates.
        const req = get(e, 'request');
        const method = isObj(req) ? get(req, 'method') : undefined;
        if (!isObj(req)) this.issue('required', `${path}.request`, `${path}.request is required in a transaction Bundle ({ "method": "POST", "url": "<type>" })`);
        else if (method !== 'POST' && method !== 'PUT') this.issue('value', `${path}.request.method`, `${path}.request.method must be "POST" or "PUT"`);
      }
      const fullUrl = get(e, 'fullUrl');
      if (fullUrl !== undefined && typeof fullUrl !== 'string') this.issue('structure', `${path}.fullUrl`, `${path}.fullUrl must be a string`);
      if (typeof fullUrl === 'string') this.uniqueFullUrl(fullUrl, resource, i, seen);
      this.entries.push({ index: i, path: `${path}.resource`, resource, fullUrl: typeof fullUrl === 'string' ? fullUrl : undefined });
    });
  }

  /** bdl-7: a fullUrl names one entry, unless the entries are versions of it (different meta.versionId). */
  private uniqueFullUrl(fullUrl: string, resource: Obj, i: number, seen: Map<string, { index: number; versionId?: string }[]>): void {
    const meta = get(resource, 'meta');
    const v = isObj(meta) ? get(meta, 'versionId') : undefined;
    const versionId = typeof v === 'string' ? v : undefined;
    const earlier = seen.get(fullUrl) ?? [];
    const clash = earlier.find((x) => x.versionId === undefined || versionId === undefined || x.versionId === versionId);
    if (clash) {
      const path = `Bundle.entry[${i}].fullUrl`;
      this.issue('invalid', path, `${path} is also the fullUrl of Bundle.entry[${clash.index}]: a fullUrl must be unique in a Bundle unless meta.versionId differs (bdl-7)`);
    }
    earlier.push({ index: i, versionId });
    seen.set(fullUrl, earlier);
  }

  /**
   * Every modifierExtension in the Bundle — on a resource, a backbone element, a datatype, in
   * contained resources, on a primitive's "_element" — is refused unless understood (none is).
   * Walked without recursion, in document order; keys that are no element name show as children().
   */
  private modifierExtensions(body: Obj): void {
    let reported = 0;
    const stack: [unknown, string][] = [[body, 'Bundle']];
    while (stack.length > 0 && reported < MAX_MODIFIER_ISSUES) {
      const [v, path] = stack.pop()!;
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
        continue;
      }
      if (!isObj(v)) continue;
      const keys = Object.keys(v);
      const children: [unknown, string][] = [];
      for (const key of keys) {
        const child = get(v, key);
        if (key === 'modifierExtension') {
          const at = `${path}.modifierExtension`;
          const list = Array.isArray(child) && child.length > 0 ? child : [undefined];
          list.forEach((x, k) => {
            if (reported >= MAX_MODIFIER_ISSUES) return;
            const url = isObj(x) ? get(x, 'url') : undefined;
            if (typeof url === 'string' && UNDERSTOOD_MODIFIER_EXTENSIONS.includes(url)) return;
            const where = x === undefined ? at : `${at}[${k}]`;
            reported++;
            this.issue(
              'not-supported',
              where,
              `${where} is a modifier extension this service does not understand (it understands none): FHIR requires a Bundle carrying one to be refused`,
            );
          });
          continue;
        }
        const name = key.startsWith('_') ? key.slice(1) : key;
        children.push([child, ELEMENT_NAME.test(name) && !/\d{5}/.test(name) ? `${path}.${name}` : `${path}.children()`]);
      }
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
    }
  }

  private ofType(type: string): Found[] {
    return this.entries.filter((f) => get(f.resource, 'resourceType') === type);
  }

  /** The single resource of a type the profile needs exactly once. */
  private one(type: string): Found | undefined {
    const found = this.ofType(type);
    if (found.length === 1) return found[0];
    const expression = `Bundle.entry.resource.ofType(${type})`;
    if (found.length === 0) this.issue('required', expression, `The Bundle must hold one ${type}; it holds none`);
    else this.issue('invalid', expression, `The Bundle must hold one ${type}; it holds ${found.length}`);
    return undefined;
  }

  private messageHeader(): Found | undefined {
    const first = this.entries[0];
    if (first && first.index === 0 && get(first.resource, 'resourceType') === 'MessageHeader') return first;
    this.issue('invalid', 'Bundle.entry[0].resource', 'A message Bundle must start with a MessageHeader: its id is the message id', 'messageId');
    return undefined;
  }

  private messageId(holder: Found | undefined, label: string): void {
    if (!holder) return;
    const expression = `${holder.path}.id`;
    const id = get(holder.resource, 'id');
    if (typeof id === 'string' && !FHIR_ID.test(id)) {
      return this.issue('value', expression, `${label} must be a FHIR id: 1–64 letters, digits, "-" or "."`, 'messageId');
    }
    if (id === undefined) return this.issue('required', expression, `${label} is required: it is the message id that makes re-delivery idempotent`, 'messageId');
    this.take('messageId', id, expression);
  }

  // --- resources -------------------------------------------------------------------------------

  private patient(p: Found): void {
    const bsn = this.identifier(p, FHIR_SYSTEMS.bsn, 'bsn', 'a BSN');
    if (bsn) this.take('bsn', bsn.value, bsn.expression);
  }

  private serviceRequest(s: Found, patient: Found | undefined): void {
    const status = get(s.resource, 'status');
    if (status !== 'active') this.issue(status === undefined ? 'required' : 'value', `${s.path}.status`, 'ServiceRequest.status must be "active"');
    const intent = get(s.resource, 'intent');
    if (typeof intent !== 'string' || !REQUEST_INTENTS.includes(intent)) {
      this.issue(intent === undefined ? 'required' : 'code-invalid', `${s.path}.intent`, `ServiceRequest.intent must be a request intent code (${REQUEST_INTENTS.join(', ')})`);
    }
    this.refersToPatient(s, 'subject', patient);
    this.authoredOn(s);
    this.performer(s);
    this.reasonCodes(s);
  }

  /** The referral date: a date as it is, a date-time as its calendar date in Amsterdam. */
  private authoredOn(s: Found): void {
    const expression = `${s.path}.authoredOn`;
    const v = get(s.resource, 'authoredOn');
    if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)) {
      if (!isIsoDateTime(v)) return this.issue('value', expression, 'ServiceRequest.authoredOn must be a date (YYYY-MM-DD) or a date-time with a time zone', 'verwijsdatum');
      return this.take('verwijsdatum', amsterdamDate(new Date(v)), expression);
    }
    if (typeof v === 'string' && /^\d{4}(-\d{2})?$/.test(v)) {
      return this.issue('value', expression, 'ServiceRequest.authoredOn must be a whole date: a year or month alone does not say when the wait started', 'verwijsdatum');
    }
    this.take('verwijsdatum', v, expression);
  }

  /** The provider referred to: one performer, an Organization with an AGB code (in the Bundle, or by identifier). */
  private performer(s: Found): void {
    const expression = `${s.path}.performer`;
    const performers = get(s.resource, 'performer');
    if (performers === undefined)
      return this.issue('required', expression, `ServiceRequest.performer is required: the provider referred to, an Organization with an AGB code (${FHIR_SYSTEMS.agb})`, 'agb');
    if (!Array.isArray(performers)) return this.issue('structure', expression, 'ServiceRequest.performer must be a list', 'agb');
    if (performers.length !== 1) return this.issue('invalid', expression, `ServiceRequest.performer must name exactly one provider; it names ${performers.length}`, 'agb');
    const agb = this.organizationIdentifier(performers[0], `${expression}[0]`, FHIR_SYSTEMS.agb, 'agb', 'an AGB code');
    if (agb) this.take('agb', agb.value, agb.expression);
  }

  /** The diagnosis group (one coding of our code system) and the optional ICD-10 code, from reasonCode. */
  private reasonCodes(s: Found): void {
    const expression = `${s.path}.reasonCode`;
    const reasons = get(s.resource, 'reasonCode');
    const groups: { code: unknown; expression: string }[] = [];
    const icd: { code: unknown; expression: string }[] = [];
    if (reasons !== undefined && !Array.isArray(reasons)) {
      this.issue('structure', expression, 'ServiceRequest.reasonCode must be a list of CodeableConcepts', 'klachtenprofiel');
      this.reported.add('dsmCode');
      return;
    }
    (reasons ?? []).forEach((concept, a) => {
      const codings = isObj(concept) ? get(concept, 'coding') : undefined;
      if (!Array.isArray(codings)) return;
      codings.forEach((coding, b) => {
        if (!isObj(coding)) return;
        const system = get(coding, 'system');
        const found = { code: get(coding, 'code'), expression: `${expression}[${a}].coding[${b}].code` };
        if (system === FHIR_SYSTEMS.diagnosisGroup) groups.push(found);
        else if (system === FHIR_SYSTEMS.icd10) icd.push(found);
      });
    });
    if (groups.length === 0) {
      this.issue('required', expression, `ServiceRequest.reasonCode must hold the diagnosis group: a coding with system ${FHIR_SYSTEMS.diagnosisGroup}`, 'klachtenprofiel');
    } else if (groups.length > 1) {
      this.issue('invalid', groups[1].expression, 'ServiceRequest.reasonCode holds more than one diagnosis group', 'klachtenprofiel');
    } else this.take('klachtenprofiel', groups[0].code, groups[0].expression);
    if (icd.length > 1) this.issue('invalid', icd[1].expression, 'ServiceRequest.reasonCode holds more than one ICD-10 code', 'dsmCode');
    else if (icd.length === 1) this.take('dsmCode', icd[0].code, icd[0].expression);
  }

  private consent(c: Found, patient: Found | undefined): void {
    const status = get(c.resource, 'status');
    if (status !== 'active') {
      this.issue(status === undefined ? 'required' : 'value', `${c.path}.status`, 'Consent.status must be "active": without an active consent nothing is stored');
    }
    this.refersToPatient(c, 'patient', patient);

    const ids = get(c.resource, 'identifier');
    if (!Array.isArray(ids) || ids.length === 0) {
      this.issue(
        ids === undefined ? 'required' : 'structure',
        `${c.path}.identifier`,
        'Consent.identifier is required: the id of the consent record at the referral service',
        'consent.id',
      );
    } else if (!isObj(ids[0])) this.issue('structure', `${c.path}.identifier[0]`, 'Consent.identifier[0] must be an Identifier', 'consent.id');
    else this.take('consent.id', get(ids[0], 'value'), `${c.path}.identifier[0].value`);

    this.take('consent.givenAt', get(c.resource, 'dateTime'), `${c.path}.dateTime`);

    // ppc-1: the rule the consent was given under, as a policy (uri or authority) or a policyRule.
    const policy = get(c.resource, 'policy');
    const policyRule = get(c.resource, 'policyRule');
    if (!(Array.isArray(policy) && policy.some(isObj)) && !isObj(policyRule)) {
      this.issue(
        policy === undefined && policyRule === undefined ? 'required' : 'structure',
        `${c.path}.policyRule`,
        'Consent needs policy or policyRule (FHIR R4 ppc-1): the rule the consent was given under, e.g. policyRule http://terminology.hl7.org/CodeSystem/v3-ActCode#OPTIN',
      );
    }

    const scope = get(c.resource, 'scope');
    const codings = isObj(scope) ? get(scope, 'coding') : undefined;
    const k = Array.isArray(codings) ? codings.findIndex((x) => isObj(x) && get(x, 'system') === FHIR_SYSTEMS.consentScope) : -1;
    if (k < 0) {
      this.issue(
        scope === undefined ? 'required' : 'code-invalid',
        `${c.path}.scope`,
        `Consent.scope must hold a coding with system ${FHIR_SYSTEMS.consentScope} and code "zorgbemiddeling"`,
        'consent.scope',
      );
    } else this.take('consent.scope', get((codings as Obj[])[k], 'code'), `${c.path}.scope.coding[${k}].code`);

    const extensions = get(c.resource, 'extension');
    const e = Array.isArray(extensions) ? extensions.findIndex((x) => isObj(x) && get(x, 'url') === FHIR_SYSTEMS.consentChannel) : -1;
    if (e < 0) {
      this.issue('required', `${c.path}.extension`, `Consent needs the extension ${FHIR_SYSTEMS.consentChannel} (valueString: how the consent was recorded)`, 'consent.channel');
    } else this.take('consent.channel', get((extensions as Obj[])[e], 'valueString'), `${c.path}.extension[${e}].valueString`);
  }

  /** The insurer: the Coverage's payor, an Organization with a UZOVI code (in the Bundle, or by identifier). */
  private coverage(v: Found, patient: Found | undefined): void {
    this.refersToPatient(v, 'beneficiary', patient);
    const expression = `${v.path}.payor`;
    const payors = get(v.resource, 'payor');
    if (payors === undefined)
      return this.issue('required', expression, `Coverage.payor is required: the insurer, an Organization with a UZOVI code (${FHIR_SYSTEMS.uzovi})`, 'uzovi');
    if (!Array.isArray(payors)) return this.issue('structure', expression, 'Coverage.payor must be a list', 'uzovi');
    if (payors.length !== 1) return this.issue('invalid', expression, `Coverage.payor must name exactly one insurer; it names ${payors.length}`, 'uzovi');
    const uzovi = this.organizationIdentifier(payors[0], `${expression}[0]`, FHIR_SYSTEMS.uzovi, 'uzovi', 'a UZOVI code');
    if (uzovi) this.take('uzovi', uzovi.value, uzovi.expression);
  }

  // --- elements --------------------------------------------------------------------------------

  /** The one identifier of a system on a resource (several with the same value count once). */
  private identifier(holder: Found, system: string, field: MessageField, what: string): { value: unknown; expression: string } | undefined {
    const name = get(holder.resource, 'resourceType') as string;
    const expression = `${holder.path}.identifier`;
    const list = get(holder.resource, 'identifier');
    if (list !== undefined && !Array.isArray(list)) return void this.issue('structure', expression, `${name}.identifier must be a list`, field);
    const hits: { value: unknown; expression: string }[] = [];
    (list ?? []).forEach((x, j) => {
      if (isObj(x) && get(x, 'system') === system) hits.push({ value: get(x, 'value'), expression: `${expression}[${j}].value` });
    });
    if (hits.length === 0) return void this.issue('required', expression, `${name}.identifier must hold ${what}: an identifier with system ${system}`, field);
    const other = hits.find((h) => h.value !== hits[0].value);
    if (other) return void this.issue('invalid', other.expression, `${name}.identifier holds more than one ${what.replace(/^an? /, '')}`, field);
    return hits[0];
  }

  /** An organization reference: to an Organization entry, or logical (Reference.identifier). */
  private organizationIdentifier(ref: unknown, path: string, system: string, field: MessageField, what: string): { value: unknown; expression: string } | undefined {
    if (!isObj(ref)) return void this.issue('structure', path, `${this.label(path)} must be a Reference`, field);
    const reference = get(ref, 'reference');
    if (reference !== undefined) {
      const target = this.resolve(reference);
      if (!target || get(target.resource, 'resourceType') !== 'Organization') {
        return void this.issue('invalid', `${path}.reference`, 'The reference must point to an Organization entry of this Bundle (by its fullUrl or Organization/<id>)', field);
      }
      return this.identifier(target, system, field, what);
    }
    const identifier = get(ref, 'identifier');
    if (isObj(identifier) && get(identifier, 'system') === system) return { value: get(identifier, 'value'), expression: `${path}.identifier.value` };
    return void this.issue('required', path, `The reference must point to an Organization with ${what} (${system}), or carry that identifier itself`, field);
  }

  /** Resources that name a person must name the Bundle's Patient: one referral is about one person. */
  private refersToPatient(holder: Found, element: string, patient: Found | undefined): void {
    const name = get(holder.resource, 'resourceType') as string;
    const ref = get(holder.resource, element);
    const expression = `${holder.path}.${element}`;
    if (ref === undefined) return this.issue('required', expression, `${name}.${element} is required: a reference to the Patient of this Bundle`);
    if (!isObj(ref)) return this.issue('structure', expression, `${name}.${element} must be a Reference`);
    if (!patient) return; // reported already
    const target = this.resolve(get(ref, 'reference'));
    if (target !== patient) this.issue('invalid', `${expression}.reference`, `${name}.${element} must refer to the Patient of this Bundle (by its fullUrl or Patient/<id>)`);
  }

  /** A literal reference resolved within the Bundle: by fullUrl, or as "<type>/<id>". */
  private resolve(reference: unknown): Found | undefined {
    if (typeof reference !== 'string' || reference === '') return undefined;
    return this.entries.find((f) => {
      if (f.fullUrl !== undefined && f.fullUrl === reference) return true;
      const id = get(f.resource, 'id');
      return typeof id === 'string' && reference === `${get(f.resource, 'resourceType') as string}/${id}`;
    });
  }
}
