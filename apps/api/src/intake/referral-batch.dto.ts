import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Field, rules, FieldErrorDto } from '@app/platform';
import { ReferralMessageDto } from '@app/referrals';

export const BATCH_MAX = 1000;

export class ReferralBatchDto {
  @ApiProperty({ type: [ReferralMessageDto], minItems: 1, maxItems: BATCH_MAX })
  @Field(
    rules.all(rules.required, (v) =>
      !Array.isArray(v)
        ? 'must be an array of referral messages'
        : v.length === 0
          ? 'must hold at least one message'
          : v.length > BATCH_MAX
            ? `must hold at most ${BATCH_MAX} messages`
            : null,
    ),
  )
  messages: unknown[];
}

export class BatchItemResultDto {
  @ApiProperty({ description: 'Position of the message in the request' }) index: number;
  @ApiPropertyOptional() messageId?: string;
  @ApiProperty({ enum: ['created', 'duplicate', 'conflict', 'invalid', 'forbidden'] }) outcome: string;
  @ApiProperty({ description: 'The status the single-message route would have answered', example: 201 }) status: number;
  @ApiPropertyOptional({ format: 'uuid' }) referralId?: string;
  @ApiPropertyOptional({ type: [FieldErrorDto] }) errors?: FieldErrorDto[];
}

export class BatchSummaryDto {
  @ApiProperty() created: number;
  @ApiProperty() duplicate: number;
  @ApiProperty() conflict: number;
  @ApiProperty() invalid: number;
  @ApiProperty() forbidden: number;
}

export class BatchResponseDto {
  @ApiProperty({ type: BatchSummaryDto }) summary: BatchSummaryDto;
  @ApiProperty({ type: [BatchItemResultDto] }) results: BatchItemResultDto[];
}
