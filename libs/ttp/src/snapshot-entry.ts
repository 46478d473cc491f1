/**
 * One waiting-list entry of a provider's snapshot: checked field by field (reasons never echo a
 * value) and pseudonymised. The BSN, when a provider sends one instead of a pre-pseudonym, is
 * turned into the pseudonym here and goes no further.
 */
import { bsnProblem, containsBsnLike, isDiagnosisGroup, isIsoDate, isPrePseudonym } from '@app/core';

export const SNAPSHOT_COLUMNS = ['clientRef', 'bsn', 'prePseudonym', 'location', 'diagnosisGroup', 'registeredOn', 'intakeOn', 'stage', 'waitsForThisProvider'] as const;
export const ENTRY_STAGES = ['waiting-intake', 'waiting-treatment'] as const;

export interface CheckedEntry {
  clientRef: string;
  pseudonym: string;
  location: string;
  diagnosisGroup: string;
  registeredOn: string;
  intakeOn: string | null;
  stage: string;
  waitsForThisProvider: boolean;
}

/** The two stages, with their keys prepared (stage1Pseudonymiser, stage2Pseudonymiser of the core). */
export interface EntryKeys {
  stage1: (bsn: string) => string;
  stage2: (prePseudonym: string) => string;
}

const REF = /^[\x21-\x7e]{1,64}$/;
const CODE = /^[\x21-\x7e]{1,40}$/;

/** Empty CSV cells and JSON null both mean "not given". */
const given = (v: unknown) => v !== undefined && v !== null && v !== '';

/**
 * Checks a record (a CSV row as strings, or a JSON object) against the snapshot format and the
 * provider's locations; returns the pseudonymised entry or the problems.
 */
export function checkEntry(
  raw: unknown,
  ctx: { today: string; locations: ReadonlySet<string>; keys: EntryKeys },
): { entry: CheckedEntry } | { problems: { field: string; reason: string }[] } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { problems: [{ field: '(row)', reason: 'must be a JSON object' }] };
  const r = raw as Record<string, unknown>;
  const problems: { field: string; reason: string }[] = [];
  const bad = (field: string, reason: string) => void problems.push({ field, reason });
  for (const k of Object.keys(r)) if (!(SNAPSHOT_COLUMNS as readonly string[]).includes(k)) bad(k, 'is not a field of a snapshot entry');

  if (typeof r.clientRef !== 'string' || !REF.test(r.clientRef)) bad('clientRef', 'is required: 1–64 printable characters without spaces');
  // The provider's own reference is kept with the entry: never a BSN, in any notation (the BSN goes in bsn).
  else if (containsBsnLike(r.clientRef)) bad('clientRef', 'must not hold a BSN or another number that passes the elfproef, in any notation (a BSN belongs in the bsn field only)');
  const hasBsn = given(r.bsn);
  const hasPre = given(r.prePseudonym);
  if (hasBsn && hasPre) bad('bsn', 'give either bsn or prePseudonym, not both');
  else if (!hasBsn && !hasPre) bad('bsn', 'is required, or prePseudonym instead');
  else if (hasBsn) {
    const p = bsnProblem(r.bsn);
    if (p) bad('bsn', p);
  } else if (!isPrePseudonym(r.prePseudonym)) bad('prePseudonym', 'must be 64 lowercase hex characters (stage 1, see the README)');
  if (typeof r.location !== 'string' || !CODE.test(r.location)) bad('location', 'is required: the location code of the registry');
  else if (!ctx.locations.has(r.location)) bad('location', 'is not a location of this provider in the registry');
  if (!isDiagnosisGroup(r.diagnosisGroup)) bad('diagnosisGroup', 'must be a diagnosis group code (e.g. depressie)');

  const registered = r.registeredOn;
  if (!isIsoDate(registered)) bad('registeredOn', 'must be a date YYYY-MM-DD');
  else if (registered > ctx.today) bad('registeredOn', 'must not be in the future');
  const intake = given(r.intakeOn) ? r.intakeOn : null;
  if (intake !== null) {
    if (!isIsoDate(intake)) bad('intakeOn', 'must be empty or a date YYYY-MM-DD');
    else if (intake > ctx.today) bad('intakeOn', 'must not be in the future');
    else if (isIsoDate(registered) && intake < registered) bad('intakeOn', 'must not be before registeredOn');
  }
  if (!(ENTRY_STAGES as readonly string[]).includes(r.stage as string)) bad('stage', `must be one of: ${ENTRY_STAGES.join(', ')}`);
  else if (r.stage === 'waiting-treatment' && intake === null) bad('intakeOn', 'is required when the stage is waiting-treatment');
  else if (r.stage === 'waiting-intake' && intake !== null) bad('intakeOn', 'must be empty while the stage is waiting-intake');
  const waits = r.waitsForThisProvider === true || r.waitsForThisProvider === 'true' ? true : r.waitsForThisProvider === false || r.waitsForThisProvider === 'false' ? false : null;
  if (waits === null) bad('waitsForThisProvider', 'must be true or false');

  if (problems.length > 0) return { problems };
  const pre = hasBsn ? ctx.keys.stage1(r.bsn as string) : (r.prePseudonym as string);
  return {
    entry: {
      clientRef: r.clientRef as string,
      pseudonym: ctx.keys.stage2(pre),
      location: r.location as string,
      diagnosisGroup: r.diagnosisGroup as string,
      registeredOn: registered as string,
      intakeOn: intake as string | null,
      stage: r.stage as string,
      waitsForThisProvider: waits!,
    },
  };
}
