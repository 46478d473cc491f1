import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldErrorDto {
  @ApiProperty({ example: 'consent.scope', description: 'Path of the offending field in the request body' })
  field: string;
  @ApiProperty({ example: 'must be "zorgbemiddeling"' })
  reason: string;
}

/** The one error shape for every 4xx and 5xx response. */
export class ErrorResponseDto {
  @ApiProperty({ example: 400 })
  statusCode: number;
  @ApiProperty({ example: 'Bad Request' })
  error: string;
  @ApiProperty({ example: 'The referral message is invalid' })
  message: string;
  @ApiPropertyOptional({ type: [FieldErrorDto] })
  details?: FieldErrorDto[];
  @ApiPropertyOptional({ description: 'Correlates with the service logs', example: 'b3c1f6d2-…' })
  requestId?: string;
}
