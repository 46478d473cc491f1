/**
 * Request and response shapes of the provider registry: providers (AGB), their locations
 * (vestigingen) and insurer contracts. The field rules are exported too, because the CSV import
 * checks its rows with exactly the same rules. Reasons name the rule, never the value.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { ValidateNested } from 'class-validator';
import { DIAGNOSIS_GROUP_CODES, isDiagnosisGroup, isIsoDate, isRegion, isValidAgb, isValidUzovi, WAITING_LIST_REGIONS } from '@app/core';
import { Field, FieldRule, rules } from '@app/platform';

export const REGION_CODES = WAITING_LIST_REGIONS.map((r) => r.code);
export const LIST_LIMIT_DEFAULT = 50;
export const LIST_LIMIT_MAX = 500;

/** "1234 ab", " 1234AB " → "1234AB"; anything else is left alone for the rule to refuse. */
export function normalisePostcode(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  const m = /^\s*(\d{4})\s?([A-Za-z]{2})\s*$/.exec(raw);
  return m ? `${m[1]}${m[2].toUpperCase()}` : raw;
}

/** A set of diagnosis groups: duplicates dropped and sorted, so re-imports compare equal. */
export function normaliseGroups(raw: unknown): unknown {
  if (!Array.isArray(raw) || !raw.every((g) => typeof g === 'string')) return raw;
  return [...new Set(raw as string[])].sort();
}

export function trimText(raw: unknown): unknown {
  return typeof raw === 'string' ? raw.trim() : raw;
}
const trim = ({ value }: { value: unknown }) => trimText(value);

/** Free text that ends up in the database and in other people's screens. */
const text = (max: number): FieldRule =>
  rules.all(
    rules.required,
    rules.string,
    rules.length(1, max),
    // Postgres refuses NUL bytes with an error; other control characters have no business here.
    // eslint-disable-next-line no-control-regex -- control characters are exactly what it refuses
    rules.pattern(/^[^\x00-\x1f\x7f]*$/, 'must not contain control characters'),
    rules.noBsn,
  );

export const REGISTRY_RULES = {
  agb: rules.all(rules.required, rules.string, (v) => (isValidAgb(v) ? null : 'must be exactly 8 digits')),
  uzovi: rules.all(rules.required, rules.string, (v) => (isValidUzovi(v) ? null : 'must be exactly 4 digits')),
  providerName: text(200),
  // The location code is part of a URL path (PUT …/locations/:code), so keep it URL-safe.
  locationCode: rules.all(rules.required, rules.string, rules.pattern(/^[A-Za-z0-9._-]{1,40}$/, 'must be 1–40 letters, digits, dots, dashes or underscores'), rules.noBsn),
  locationName: text(200),
  postcode: rules.all(
    rules.required,
    rules.string,
    rules.pattern(/^[1-9][0-9]{3}[A-Z]{2}$/, 'must be a Dutch postcode: 4 digits (not starting with 0) and 2 letters, e.g. 1234 AB'),
  ),
  municipality: text(100),
  region: rules.all(rules.required, rules.string, (v) => (isRegion(v) ? null : `must be a waiting-list region code, one of: ${REGION_CODES.join(', ')}`)),
  diagnosisGroups: rules.all(rules.required, (v) => {
    if (!Array.isArray(v)) return 'must be an array of diagnosis-group codes';
    const bad = v.findIndex((g) => !isDiagnosisGroup(g));
    return bad >= 0 ? `item ${bad} is not a diagnosis-group code; allowed: ${DIAGNOSIS_GROUP_CODES.join(', ')}` : null;
  }),
  validFrom: rules.all(rules.required, rules.string, (v) => (isIsoDate(v) ? null : 'must be a real calendar date in the form YYYY-MM-DD')),
  /** Exclusive end; null or absent means open-ended. */
  validUntil: (v: unknown, o: object): string | null => {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || !isIsoDate(v)) return 'must be a real calendar date in the form YYYY-MM-DD, or null for open-ended';
    const from = (o as { validFrom?: unknown }).validFrom;
    return isIsoDate(from) && v <= from ? 'must be after validFrom (the end date is exclusive)' : null;
  },
};

const arrayOfObjects = (what: string): FieldRule => rules.optional((v) => (Array.isArray(v) ? null : `must be an array of ${what}`));

// ---- requests ----------------------------------------------------------------------------

export class ProviderUpsertDto {
  @ApiProperty({ example: 'GGZ Voorbeeld Noord', description: 'Name of the provider, 1–200 characters' })
  @Transform(trim)
  @Field(REGISTRY_RULES.providerName)
  name: string;
}

export class LocationUpsertDto {
  @ApiProperty({ example: 'Vestiging Centrum', description: 'Name of the location (vestiging), 1–200 characters' })
  @Transform(trim)
  @Field(REGISTRY_RULES.locationName)
  name: string;

  @ApiProperty({ example: '1234AB', description: 'Dutch postcode; "1234 ab" is accepted and stored as "1234AB"' })
  @Transform(({ value }) => normalisePostcode(value))
  @Field(REGISTRY_RULES.postcode)
  postcode: string;

  @ApiProperty({ example: 'Amsterdam', description: 'Municipality (gemeente), 1–100 characters' })
  @Transform(trim)
  @Field(REGISTRY_RULES.municipality)
  municipality: string;

  @ApiProperty({ enum: REGION_CODES, example: 'amsterdam', description: 'Waiting-list region (zorgkantoorregio) code' })
  @Field(REGISTRY_RULES.region)
  region: string;

  @ApiProperty({ enum: DIAGNOSIS_GROUP_CODES, isArray: true, example: ['angst', 'depressie'], description: 'Diagnosis groups treated here (may be empty)' })
  @Transform(({ value }) => normaliseGroups(value))
  @Field(REGISTRY_RULES.diagnosisGroups)
  diagnosisGroups: string[];
}

export class ContractCreateDto {
  @ApiProperty({ example: '3311', description: 'UZOVI code of the insurer: 4 digits' })
  @Field(REGISTRY_RULES.uzovi)
  uzovi: string;

  @ApiProperty({ example: '2026-01-01', description: 'First day of the contract (YYYY-MM-DD)' })
  @Field(REGISTRY_RULES.validFrom)
  validFrom: string;

  @ApiPropertyOptional({ example: '2027-01-01', nullable: true, type: String, description: 'Day after the last day (exclusive); null or absent = open-ended' })
  @Field(REGISTRY_RULES.validUntil)
  validUntil?: string | null;
}

export class ImportLocationDto extends LocationUpsertDto {
  @ApiProperty({ example: 'centrum', description: 'Code of the location, unique per provider: 1–40 of A-Z a-z 0-9 . _ -' })
  @Field(REGISTRY_RULES.locationCode)
  code: string;
}

export class ImportProviderDto {
  @ApiProperty({ example: '94012345', description: 'AGB code: 8 digits' })
  @Field(REGISTRY_RULES.agb)
  agb: string;

  @ApiProperty({ example: 'GGZ Voorbeeld Noord' })
  @Transform(trim)
  @Field(REGISTRY_RULES.providerName)
  name: string;

  @ApiPropertyOptional({ type: [ImportLocationDto], description: 'Locations to create or update (others stay as they are)' })
  @Field(arrayOfObjects('locations'))
  @ValidateNested({ each: true })
  @Type(() => ImportLocationDto)
  locations?: ImportLocationDto[];
}

export class ImportContractDto extends ContractCreateDto {
  @ApiProperty({ example: '94012345', description: 'AGB code of a provider registered before or in the same import' })
  @Field(REGISTRY_RULES.agb)
  agb: string;
}

/** The JSON import; documents the body (the rows are checked one by one, see registry-import.ts). */
export class RegistryImportDto {
  @ApiPropertyOptional({ type: [ImportProviderDto] })
  providers?: ImportProviderDto[];
  @ApiPropertyOptional({ type: [ImportContractDto], description: 'Identified by (uzovi, agb, validFrom): a re-import updates validUntil' })
  contracts?: ImportContractDto[];
}

export class ContractsImportDto {
  @ApiProperty({ type: [ImportContractDto] })
  contracts: ImportContractDto[];
}

const limitRule = rules.optional(
  rules.all(rules.string, (v) => {
    const n = /^\d{1,4}$/.test(v as string) ? Number(v) : NaN;
    return n >= 1 && n <= LIST_LIMIT_MAX ? null : `must be a whole number from 1 to ${LIST_LIMIT_MAX}`;
  }),
);

/** Page cursors are the last AGB of the previous page, base64url-encoded so clients treat them as opaque. */
export function encodeCursor(agb: string): string {
  return Buffer.from(agb, 'utf8').toString('base64url');
}
export function decodeCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,16}$/.test(cursor)) return null;
  const agb = Buffer.from(cursor, 'base64url').toString('utf8');
  return isValidAgb(agb) ? agb : null;
}

export class ProviderListQueryDto {
  @ApiPropertyOptional({ enum: REGION_CODES, description: 'Only providers with a location in this region' })
  @Field(rules.optional(REGISTRY_RULES.region))
  region?: string;

  @ApiPropertyOptional({ enum: DIAGNOSIS_GROUP_CODES, description: 'Only providers with a location treating this group (in the region, when given)' })
  @Field(rules.optional(rules.all(rules.string, (v) => (isDiagnosisGroup(v) ? null : `must be one of: ${DIAGNOSIS_GROUP_CODES.join(', ')}`))))
  diagnosisGroup?: string;

  @ApiPropertyOptional({ example: '3311', description: 'Only providers contracted by this insurer (on contractedOn)' })
  @Field(rules.optional(REGISTRY_RULES.uzovi))
  uzovi?: string;

  @ApiPropertyOptional({ example: '2026-06-01', description: 'Day the contract must cover; default today (Europe/Amsterdam). Needs uzovi' })
  @Field(
    rules.optional(
      rules.all(rules.string, (v, o) =>
        !isIsoDate(v) ? 'must be a real calendar date in the form YYYY-MM-DD' : (o as ProviderListQueryDto).uzovi === undefined ? 'needs uzovi' : null,
      ),
    ),
  )
  contractedOn?: string;

  @ApiPropertyOptional({ example: LIST_LIMIT_DEFAULT, description: `Page size, 1–${LIST_LIMIT_MAX} (default ${LIST_LIMIT_DEFAULT})` })
  @Field(limitRule)
  limit?: string;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @Field(rules.optional(rules.all(rules.string, (v) => (decodeCursor(v as string) ? null : 'is not a cursor from a previous page'))))
  cursor?: string;
}

// ---- responses ---------------------------------------------------------------------------

export class LocationViewDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'centrum' }) code: string;
  @ApiProperty() name: string;
  @ApiProperty({ example: '1234AB' }) postcode: string;
  @ApiProperty() municipality: string;
  @ApiProperty({ enum: REGION_CODES }) region: string;
  @ApiProperty({ enum: DIAGNOSIS_GROUP_CODES, isArray: true }) diagnosisGroups: string[];
}

export class ContractViewDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: '3311' }) uzovi: string;
  @ApiProperty({ example: '94012345' }) agb: string;
  @ApiProperty({ example: '2026-01-01' }) validFrom: string;
  @ApiProperty({ example: null, nullable: true, type: String, description: 'Exclusive; null = open-ended' }) validUntil: string | null;
}

export class ProviderViewDto {
  @ApiProperty({ example: '94012345' }) agb: string;
  @ApiProperty() name: string;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
  @ApiProperty({ type: [LocationViewDto] }) locations: LocationViewDto[];
}

export class ProviderDetailDto extends ProviderViewDto {
  @ApiProperty({ type: [ContractViewDto], description: 'All contracts, past and future included' }) contracts: ContractViewDto[];
}

export class ProviderPageDto {
  @ApiProperty({ type: [ProviderViewDto], description: 'Ordered by AGB code' }) items: ProviderViewDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as cursor for the next page; null on the last page' }) nextCursor: string | null;
}

export class ImportCountDto {
  @ApiProperty() created: number;
  @ApiProperty() updated: number;
  @ApiProperty({ description: 'Already stored exactly like this' }) unchanged: number;
}

export class ImportResultDto {
  @ApiProperty({ type: ImportCountDto }) providers: ImportCountDto;
  @ApiProperty({ type: ImportCountDto }) locations: ImportCountDto;
  @ApiProperty({ type: ImportCountDto }) contracts: ImportCountDto;
}
