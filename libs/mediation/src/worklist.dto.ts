/** Requests and answers of the mediation worklist. Every command carries the task's version. */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { isUUID } from 'class-validator';
import { Field, FieldRule, rules } from '@app/platform';

export const TASK_STATUSES = ['open', 'in-progress', 'awaiting-patient', 'closed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const CONTACT_CHANNELS = ['phone', 'e-mail', 'letter', 'portal'] as const;
export const CONTACT_RESULTS = ['reached', 'no-answer', 'voicemail', 'wrong-number'] as const;
export const OUTCOMES = ['accepted-alternative', 'prefers-to-wait', 'already-in-care', 'unreachable', 'declined', 'no-longer-needed'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const TASK_SORTS = ['priority', 'due', 'created'] as const;

const oneOf =
  (values: readonly string[]): FieldRule =>
  (v) =>
    values.includes(v as string) ? null : `must be one of: ${values.join(', ')}`;

const version: FieldRule = rules.all(rules.required, (v) => (Number.isInteger(v) && (v as number) >= 1 ? null : 'must be a whole number from 1: the version you read'));

export class VersionedDto {
  @ApiProperty({ example: 3, description: 'The task version you last read; a stale version gets 409' })
  @Field(version)
  version: number;
}

export class AssignDto extends VersionedDto {
  @ApiProperty({ example: 'mediator-7', description: 'Subject (user id) of the mediator to work the task' })
  @Field(rules.all(rules.required, rules.string, rules.length(1, 128), rules.noBsn))
  assignee: string;
}

export class ContactAttemptDto extends VersionedDto {
  @ApiProperty({ enum: CONTACT_CHANNELS })
  @Field(rules.all(rules.required, oneOf(CONTACT_CHANNELS)))
  channel: string;

  @ApiProperty({ enum: CONTACT_RESULTS })
  @Field(rules.all(rules.required, oneOf(CONTACT_RESULTS)))
  result: string;

  @ApiPropertyOptional({ description: 'Reached, and the patient will come back with a decision: the task waits for the patient' })
  @Field(
    rules.optional((v, o) => {
      if (typeof v !== 'boolean') return 'must be true or false';
      return v && (o as ContactAttemptDto).result !== 'reached' ? 'can be true only when the result is "reached"' : null;
    }),
  )
  awaitingPatient?: boolean;
}

export class OutcomeDto extends VersionedDto {
  @ApiProperty({ enum: OUTCOMES, description: 'Closes the task. `unreachable` only after the configured number of failed attempts' })
  @Field(rules.all(rules.required, oneOf(OUTCOMES)))
  outcome: Outcome;

  @ApiPropertyOptional({ format: 'uuid', description: 'For accepted-alternative: the location the patient chose' })
  @Field((v, o) => {
    const accepted = (o as OutcomeDto).outcome === 'accepted-alternative';
    if (v === undefined || v === null) return accepted ? 'is required for accepted-alternative' : null;
    if (!accepted) return 'is only for accepted-alternative';
    return typeof v === 'string' && isUUID(v) ? null : 'must be a location id (UUID)';
  })
  locationId?: string;

  @ApiPropertyOptional({ example: 6.5, description: "For accepted-alternative: the location's expected total wait in weeks (default: from the task's alternatives)" })
  @Field((v, o) => {
    if (v === undefined || v === null) return null;
    if ((o as OutcomeDto).outcome !== 'accepted-alternative') return 'is only for accepted-alternative';
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 260 ? null : 'must be a number of weeks from 0 to 260';
  })
  expectedWeeks?: number;
}

export class ReopenDto extends VersionedDto {}

export class TaskSummaryDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: TASK_STATUSES }) status: TaskStatus;
  @ApiProperty({ description: '1 (just over the norm) … 5 (far over)' }) priority: number;
  @ApiProperty({ example: '2026-11-26', description: 'First contact due (working days after creation)' }) dueDate: string;
  @ApiProperty({ description: 'Due date passed without a contact attempt' }) overdue: boolean;
  @ApiPropertyOptional({ nullable: true, type: String }) assignee: string | null;
  @ApiProperty({ format: 'uuid' }) referralId: string;
  @ApiProperty({ example: 'depressie' }) diagnosisGroup: string;
  @ApiProperty({ example: '94012345' }) agb: string;
  @ApiProperty() uzovi: string;
  @ApiProperty() contactAttempts: number;
  @ApiProperty() failedContactAttempts: number;
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    enum: [...OUTCOMES, 'consent-withdrawn', 'phase-withdrawn'],
    description: '`phase-withdrawn`: closed by the evaluation, the person may not be approached in this phase (comes back when above the norm again)',
  })
  outcome: string | null;
  @ApiProperty() createdAt: string;
  @ApiPropertyOptional({ nullable: true, type: String }) claimedAt: string | null;
  @ApiProperty() lastActivityAt: string;
  @ApiPropertyOptional({ nullable: true, type: String }) closedAt: string | null;
  @ApiProperty({ description: 'Its referral is now within the norm while contact is under way: finish that contact, start no new one' }) noNewContact: boolean;
  @ApiPropertyOptional({ nullable: true, type: String }) noNewContactSince: string | null;
  @ApiProperty({ description: 'Send it back with every command' }) version: number;
}

export class TaskPageDto {
  @ApiProperty({ type: [TaskSummaryDto] }) items: TaskSummaryDto[];
  @ApiPropertyOptional({ nullable: true, type: String, description: 'Pass as `cursor` for the next page; null on the last page' }) nextCursor: string | null;
}
