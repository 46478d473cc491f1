/**
 * A provider's monthly waiting-time report: per location and diagnosis group, the
 * aanmeldwachttijd and behandelwachttijd in weeks (one decimal), for the month they describe.
 */
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, ValidateNested } from 'class-validator';
import { DIAGNOSIS_GROUP_CODES, isDiagnosisGroup } from '@app/core';
import { Field, FieldRule, rules } from '@app/platform';

/** Longest wait a report may state; anything above is a typing error, not a waiting list. */
export const MAX_REPORTED_WEEKS = 260;
export const MAX_FIGURES_PER_REPORT = 5000;

const weeks: FieldRule = (v) => {
  if (v === undefined || v === null) return 'is required';
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'must be a number of weeks';
  if (v < 0 || v > MAX_REPORTED_WEEKS) return `must be between 0 and ${MAX_REPORTED_WEEKS} weeks`;
  return Math.abs(Math.round(v * 10) - v * 10) > 1e-9 ? 'must have at most one decimal' : null;
};

export class WaitFigureDto {
  @ApiProperty({ example: 'utrecht-centrum', description: "The location's code in the registry (of the provider in the path)" })
  @Field(rules.all(rules.required, rules.string, rules.length(1, 40), rules.noBsn))
  location: string;

  @ApiProperty({ enum: DIAGNOSIS_GROUP_CODES, example: 'depressie' })
  @Field(rules.all(rules.required, rules.string, (v) => (isDiagnosisGroup(v) ? null : `must be one of: ${DIAGNOSIS_GROUP_CODES.join(', ')}`)))
  diagnosisGroup: string;

  @ApiProperty({ example: 5.5, description: 'Aanmeldwachttijd: registration to intake, in weeks (one decimal)' })
  @Field(weeks)
  aanmeldWeeks: number;

  @ApiProperty({ example: 8, description: 'Behandelwachttijd: intake to start of treatment, in weeks (one decimal)' })
  @Field(weeks)
  behandelWeeks: number;
}

export class WaitTimeReportDto {
  @ApiProperty({ example: '2026-11', description: 'The month the figures describe (YYYY-MM): not in the future, at most 24 months back' })
  @Field(rules.all(rules.required, rules.string, rules.pattern(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month in the form YYYY-MM')))
  month: string;

  @ApiProperty({ type: [WaitFigureDto], description: `1–${MAX_FIGURES_PER_REPORT} figures; one per location and diagnosis group` })
  @IsArray({ message: 'must be an array' })
  @ArrayMinSize(1, { message: 'must hold at least one figure' })
  @ArrayMaxSize(MAX_FIGURES_PER_REPORT, { message: `must hold at most ${MAX_FIGURES_PER_REPORT} figures` })
  @ValidateNested({ each: true })
  @Type(() => WaitFigureDto)
  figures: WaitFigureDto[];
}

export class CurrentWaitDto {
  @ApiProperty() locationId: string;
  @ApiProperty() location: string;
  @ApiProperty() locationName: string;
  @ApiProperty() region: string;
  @ApiProperty() diagnosisGroup: string;
  @ApiProperty({ example: '2026-11' }) month: string;
  @ApiProperty() aanmeldWeeks: number;
  @ApiProperty() behandelWeeks: number;
  @ApiProperty({ description: 'Figures for a month more than two months before the current one do not count' }) stale: boolean;
  @ApiProperty() submittedAt: string;
}

export class WaitTimeReceiptDto {
  @ApiProperty() agb: string;
  @ApiProperty({ example: '2026-11' }) month: string;
  @ApiProperty({ description: 'Figures stored' }) stored: number;
  @ApiProperty({ description: 'Open referrals to this provider set back for re-evaluation' }) reevaluating: number;
}
