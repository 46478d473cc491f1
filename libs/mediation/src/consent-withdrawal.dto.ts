/** A consent withdrawal names the referral by its id, or by the referral service's message id. */
import { ApiPropertyOptional } from '@nestjs/swagger';
import { isUUID } from 'class-validator';
import { Field, FieldRule, rules } from '@app/platform';

/** Exactly one of referralId and messageId. */
const oneReference: FieldRule = (_v, o) => {
  const r = o as { referralId?: unknown; messageId?: unknown };
  if (r.referralId === undefined && r.messageId === undefined) return 'is required, or messageId instead';
  if (r.referralId !== undefined && r.messageId !== undefined) return 'give either referralId or messageId, not both';
  return null;
};

export class ConsentWithdrawalDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'The referral, as the service returned it; or give messageId' })
  @Field(rules.all(oneReference, rules.optional(rules.all(rules.string, (v) => (isUUID(v as string) ? null : 'must be a UUID')))))
  referralId?: string;

  @ApiPropertyOptional({ example: 'vws-2026-000123', description: 'The messageId the referral was delivered with' })
  @Field(rules.optional(rules.all(rules.string, rules.length(1, 128), rules.pattern(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'), rules.noBsn)))
  messageId?: string;

  @ApiPropertyOptional({ example: '3311', description: 'With messageId, when your token acts for more than one insurer' })
  @Field(rules.optional(rules.all(rules.string, rules.pattern(/^\d{4}$/, 'must be a 4-digit UZOVI code'))))
  uzovi?: string;
}
