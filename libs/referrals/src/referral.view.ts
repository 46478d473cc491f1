import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { REFERRAL_STATUSES, ReferralStatus } from './referral.entity';

export class ConsentViewDto {
  @ApiProperty() id: string;
  @ApiProperty({ description: 'ISO 8601, UTC' }) givenAt: string;
  @ApiProperty() scope: string;
  @ApiProperty() channel: string;
}

/** A referral as insurer staff and the referral service see it: the BSN is always masked. */
export class ReferralViewDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() messageId: string;
  @ApiProperty({ example: '3311' }) uzovi: string;
  @ApiProperty({ example: '*****6782', description: 'Masked: only the last four digits' }) bsn: string;
  @ApiProperty({ example: '2026-11-20' }) verwijsdatum: string;
  @ApiProperty({ example: 'depressie' }) klachtenprofiel: string;
  @ApiPropertyOptional({ nullable: true, type: String }) dsmCode: string | null;
  @ApiProperty({ example: '94012345' }) agb: string;
  @ApiProperty({ type: ConsentViewDto }) consent: ConsentViewDto;
  @ApiProperty({ enum: REFERRAL_STATUSES, description: 'pending: waiting for an evaluation; evaluated: see verdict' }) status: ReferralStatus;
  @ApiPropertyOptional({
    enum: ['above-norm', 'within-norm', 'no-data', 'no-norm'],
    nullable: true,
    type: String,
    description: 'Outcome of the latest evaluation (no-norm: no norm set applies on the referral date)',
  })
  verdict: string | null;
  @ApiProperty() receivedAt: string;
  @ApiProperty() statusChangedAt: string;
}
