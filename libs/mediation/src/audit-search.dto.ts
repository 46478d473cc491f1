/** What an auditor asks of the access log: a person (by BSN), a user, a period — any combination. */
import { ApiPropertyOptional } from '@nestjs/swagger';
import { bsnProblem, hasDigitRun, isIsoDate } from '@app/core';
import { Field, rules } from '@app/platform';

/**
 * A user id (token subject) to search for. The search is itself an access-log entry that names the
 * user searched, and the access log holds no run of 8 or more digits (it could be a BSN; see
 * AuditService.record): such an id is refused here, naming the field, rather than failing the
 * entry (it was a 500). A BSN in any other notation is refused too (rules.noBsn).
 */
export const ACTOR_DIGITS_REASON = 'must not hold a run of 8 or more digits (it could be a BSN, which the access log never holds): to search by person, give bsn';
const actorRule = rules.all(rules.string, rules.length(1, 128), rules.noBsn, (v) => (hasDigitRun(v, 8) ? ACTOR_DIGITS_REASON : null));

const day = (v: unknown) => (isIsoDate(v) ? null : 'must be a date YYYY-MM-DD');

export class AuditSearchDto {
  @ApiPropertyOptional({ example: '123456782', description: "The person's BSN: the service computes the index the log knows them by" })
  @Field(rules.optional((v) => bsnProblem(v)))
  bsn?: string;

  @ApiPropertyOptional({ example: 'mediator-7', description: 'A user (token subject)' })
  @Field(rules.optional(actorRule))
  actor?: string;

  @ApiPropertyOptional({ example: '2026-11-01', description: 'From this day (Europe/Amsterdam), inclusive' })
  @Field(rules.optional(day))
  from?: string;

  @ApiPropertyOptional({ example: '2026-11-30', description: 'Up to and including this day' })
  @Field(rules.optional(day))
  to?: string;

  @ApiPropertyOptional({ example: 500, description: '1–10,000, default 1,000' })
  @Field(rules.optional((v) => (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 10_000 ? null : 'must be a whole number from 1 to 10,000')))
  limit?: number;
}
