/** A reactive request: the patient's BSN and why staff look it up. */
import { ApiProperty } from '@nestjs/swagger';
import { bsnProblem } from '@app/core';
import { Field, rules } from '@app/platform';

export class ReactiveSearchDto {
  @ApiProperty({ example: '123456782', description: 'The BSN the patient gave (9 digits, or 8 with the leading zero implied)' })
  @Field(rules.all(rules.required, (v) => bsnProblem(v)))
  bsn: string;

  @ApiProperty({
    example: 'Patient called on 2026-11-23 asking for a shorter wait',
    description: '10–500 characters; stored in the access log (no BSN or other long numbers in it)',
  })
  @Field(rules.all(rules.required, rules.string, rules.length(10, 500), rules.pattern(/^(?![\s\S]*\d{8})[\s\S]*$/, 'must not contain a BSN or another long number'), rules.noBsn))
  reason: string;
}
