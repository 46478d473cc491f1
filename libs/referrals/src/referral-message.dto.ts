/**
 * The agreed minimal referral message (AZWA C3a): four facts about the patient plus the message
 * id, the insurer and the consent evidence. Validation reasons name the rule, never the value.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ValidateNested } from 'class-validator';
import { amsterdamDate, bsnProblem, DIAGNOSIS_GROUP_CODES, isDiagnosisGroup, isIsoDate, isIsoDateTime } from '@app/core';
import { Field, rules } from '@app/platform';

export const CONSENT_SCOPE = 'zorgbemiddeling';
/** Clocks differ: a consent time up to this far ahead of ours is accepted. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

const isoDateNotFuture = rules.all(rules.required, rules.string, (v) => {
  if (!isIsoDate(v)) return 'must be a real calendar date in the form YYYY-MM-DD';
  return (v as string) > amsterdamDate(new Date()) ? 'must not be in the future' : null;
});

const instantNotFuture = rules.all(rules.required, rules.string, (v) => {
  if (!isIsoDateTime(v)) return 'must be an ISO 8601 date-time with a time zone, e.g. 2026-03-01T09:30:00+01:00';
  return Date.parse(v as string) > Date.now() + CLOCK_SKEW_MS ? 'must not be in the future' : null;
});

/** Ids the referral service chose: printable ASCII, and no BSN in any notation (rules.noBsn). */
const identifierText = (max: number) =>
  rules.all(rules.required, rules.string, rules.length(1, max), rules.pattern(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'), rules.noBsn);

export class ConsentDto {
  @ApiProperty({ example: 'c-2026-000123', description: 'Id of the consent record at the referral service' })
  @Field(identifierText(128))
  id: string;

  @ApiProperty({ example: '2026-11-20T10:15:00+01:00', description: 'When the patient consented (ISO 8601 with zone), not in the future' })
  @Field(instantNotFuture)
  givenAt: string;

  @ApiProperty({ enum: [CONSENT_SCOPE], description: 'Consent covers mediation (zorgbemiddeling) only' })
  @Field(rules.all(rules.required, (v) => (v === CONSENT_SCOPE ? null : `must be "${CONSENT_SCOPE}"`)))
  scope: string;

  @ApiProperty({ example: 'verwijsportaal', description: 'How consent was recorded (e.g. verwijsportaal, huisarts, app)' })
  @Field(rules.all(rules.required, rules.string, rules.length(1, 64), rules.noBsn))
  channel: string;
}

export class ReferralMessageDto {
  @ApiProperty({ example: '6f1c2a9e-3b7d-4c1e-9a55-0d2f6b8e4a10', description: 'Unique per insurer; re-delivery with the same id is idempotent' })
  @Field(identifierText(128))
  messageId: string;

  @ApiProperty({ example: '123456782', description: 'BSN, 9 digits (8 digits get a leading zero), valid by the elfproef' })
  @Field((v) => (v === undefined || v === null ? 'is required' : bsnProblem(v)))
  bsn: string;

  @ApiProperty({ example: '2026-11-20', description: 'Referral date (YYYY-MM-DD), not in the future; waiting time counts from here' })
  @Field(isoDateNotFuture)
  verwijsdatum: string;

  @ApiProperty({ enum: DIAGNOSIS_GROUP_CODES, example: 'depressie', description: 'Suspected diagnosis group (hoofddiagnosegroep)' })
  @Field(rules.all(rules.required, rules.string, (v) => (isDiagnosisGroup(v) ? null : `must be one of: ${DIAGNOSIS_GROUP_CODES.join(', ')}`)))
  klachtenprofiel: string;

  @ApiPropertyOptional({ example: 'F32.1', description: 'Suspected DSM/ICD code, optional' })
  @Field(rules.optional(rules.all(rules.string, rules.pattern(/^[A-Za-z0-9.]{1,16}$/, 'must be 1–16 letters, digits or dots'), rules.noBsn)))
  dsmCode?: string;

  @ApiProperty({ example: '94012345', description: 'AGB code of the provider referred to: 8 digits' })
  @Field(rules.all(rules.required, rules.string, rules.pattern(/^\d{8}$/, 'must be exactly 8 digits')))
  agb: string;

  @ApiProperty({ example: '3311', description: "UZOVI code of the patient's insurer: 4 digits, one the caller may send for" })
  @Field(rules.all(rules.required, rules.string, rules.pattern(/^\d{4}$/, 'must be exactly 4 digits')))
  uzovi: string;

  @ApiProperty({ type: ConsentDto, description: "Evidence of the patient's consent; without it nothing is stored" })
  @Field((v) =>
    v === undefined || v === null
      ? "is required: without the patient's consent the referral may not be stored"
      : typeof v !== 'object' || Array.isArray(v)
        ? 'must be an object'
        : null,
  )
  @ValidateNested()
  @Type(() => ConsentDto)
  consent: ConsentDto;
}
