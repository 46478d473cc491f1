/** The zorgbemiddelaars' worklist: claim, work and close mediation tasks of their own insurer. */
import { BadRequestException, Body, Controller, Get, HttpCode, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiConflictResponse, ApiForbiddenResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, ErrorResponseDto, INSURER_STAFF, Principal, Roles } from '@app/platform';
import {
  AssignDto,
  ContactAttemptDto,
  OutcomeDto,
  ReopenDto,
  TASK_SORTS,
  TASK_STATUSES,
  TaskFilter,
  TaskPageDto,
  TaskSummaryDto,
  VersionedDto,
  WorklistService,
} from '@app/mediation';
import { uuidParam } from '../common/params';

@ApiTags('worklist')
@ApiBadRequestResponse({ type: ErrorResponseDto, description: '`details` names each field and the reason' })
@ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such task for your insurer' })
@Controller('v1/worklist')
export class WorklistController {
  constructor(private readonly worklist: WorklistService) {}

  @Post('claim-next')
  @HttpCode(200)
  @Roles(...INSURER_STAFF)
  @ApiOperation({
    summary: 'Claim the most urgent open, unassigned task of your insurer',
    description: 'Highest priority first, then the earliest due date. Safe under any number of concurrent claimers. 404 "queue empty" when there is none.',
  })
  @ApiOkResponse({ type: TaskSummaryDto })
  async claimNext(@CurrentPrincipal() caller: Principal): Promise<TaskSummaryDto> {
    const task = await this.worklist.claimNext(caller);
    if (!task) throw new NotFoundException({ message: 'Queue empty: no open, unassigned task for your insurer', details: [] });
    return task;
  }

  @Get('tasks')
  @Roles(...INSURER_STAFF)
  @ApiOperation({ summary: "Your insurer's tasks, filtered, sorted and paged by cursor" })
  @ApiQuery({ name: 'status', required: false, description: `One or more, comma-separated: ${TASK_STATUSES.join(', ')}` })
  @ApiQuery({ name: 'assignee', required: false, description: 'A subject, or "me"' })
  @ApiQuery({ name: 'overdue', required: false, enum: ['true', 'false'], description: 'First contact due date passed without a contact attempt' })
  @ApiQuery({ name: 'noNewContact', required: false, enum: ['true', 'false'], description: 'Flagged: the referral is now within the norm while contact is under way' })
  @ApiQuery({ name: 'priority', required: false, description: '1–5' })
  @ApiQuery({ name: 'diagnosisGroup', required: false })
  @ApiQuery({ name: 'region', required: false, description: 'A region where the referred provider has a location' })
  @ApiQuery({ name: 'sort', required: false, enum: TASK_SORTS, description: 'priority (default: the claim order), due, created' })
  @ApiQuery({ name: 'limit', required: false, description: '1–200, default 50' })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiOkResponse({ type: TaskPageDto })
  list(@Query() q: Record<string, string>, @CurrentPrincipal() caller: Principal): Promise<TaskPageDto> {
    const allowed = ['status', 'assignee', 'overdue', 'noNewContact', 'priority', 'diagnosisGroup', 'region', 'sort', 'limit', 'cursor'];
    const unknown = Object.keys(q).filter((k) => !allowed.includes(k));
    if (unknown.length)
      throw new BadRequestException({ message: 'Unknown query parameter', details: unknown.map((field) => ({ field, reason: 'is not a filter of this listing' })) });
    for (const [k, v] of Object.entries(q)) {
      if (typeof v !== 'string') throw new BadRequestException({ message: 'Repeated query parameter', details: [{ field: k, reason: 'must be given once' }] });
    }
    return this.worklist.list(caller, q as TaskFilter);
  }

  @Get('counts')
  @Roles(...INSURER_STAFF)
  @ApiOperation({ summary: "Tasks per status for your insurer's team dashboard, with overdue and unassigned counts" })
  counts(@CurrentPrincipal() caller: Principal) {
    return this.worklist.counts(caller);
  }

  @Get('tasks/:id')
  @Roles(...INSURER_STAFF)
  @ApiOperation({
    summary: 'A task with its referral, the evaluation that explains it, the alternatives and its history',
    description: 'The full BSN only for the task’s assignee while it is open; everyone else sees it masked. Every read is logged.',
  })
  detail(@Param('id', uuidParam()) id: string, @CurrentPrincipal() caller: Principal) {
    return this.worklist.detail(id, caller);
  }

  @Post('tasks/:id/claim')
  @HttpCode(200)
  @Roles(...INSURER_STAFF)
  @ApiOperation({ summary: 'Claim this open, unassigned task (409 when it is assigned: a lead may reassign)' })
  @ApiOkResponse({ type: TaskSummaryDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'Stale version, or the task is not open and unassigned' })
  claim(@Param('id', uuidParam()) id: string, @Body() body: VersionedDto, @CurrentPrincipal() caller: Principal) {
    return this.worklist.claim(id, caller, body.version);
  }

  @Post('tasks/:id/release')
  @HttpCode(200)
  @Roles(...INSURER_STAFF)
  @ApiOperation({ summary: 'Give the task back to the queue (its assignee, or a lead)' })
  @ApiOkResponse({ type: TaskSummaryDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto })
  release(@Param('id', uuidParam()) id: string, @Body() body: VersionedDto, @CurrentPrincipal() caller: Principal) {
    return this.worklist.release(id, caller, body.version);
  }

  @Post('tasks/:id/assign')
  @HttpCode(200)
  @Roles(...INSURER_STAFF)
  @ApiOperation({ summary: 'Assign or reassign the task (mediation-lead only)' })
  @ApiOkResponse({ type: TaskSummaryDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto })
  assign(@Param('id', uuidParam()) id: string, @Body() body: AssignDto, @CurrentPrincipal() caller: Principal) {
    return this.worklist.assign(id, caller, body);
  }

  @Post('tasks/:id/contact-attempts')
  @HttpCode(200)
  @Roles(...INSURER_STAFF)
  @ApiOperation({ summary: 'Record a contact attempt (channel and result); `awaitingPatient` when reached and the patient will decide later' })
  @ApiOkResponse({ type: TaskSummaryDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto })
  contact(@Param('id', uuidParam()) id: string, @Body() body: ContactAttemptDto, @CurrentPrincipal() caller: Principal) {
    return this.worklist.contactAttempt(id, caller, body);
  }

  @Post('tasks/:id/outcome')
  @HttpCode(200)
  @Roles(...INSURER_STAFF)
  @ApiOperation({ summary: 'Record the outcome, which closes the task' })
  @ApiOkResponse({ type: TaskSummaryDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'Stale version, not claimed, or `unreachable` before the configured attempts' })
  outcome(@Param('id', uuidParam()) id: string, @Body() body: OutcomeDto, @CurrentPrincipal() caller: Principal) {
    return this.worklist.outcome(id, caller, body);
  }

  @Post('tasks/:id/reopen')
  @HttpCode(200)
  @Roles(...INSURER_STAFF)
  @ApiOperation({ summary: 'Reopen a closed task (mediation-lead only)' })
  @ApiOkResponse({ type: TaskSummaryDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto })
  reopen(@Param('id', uuidParam()) id: string, @Body() body: ReopenDto, @CurrentPrincipal() caller: Principal) {
    return this.worklist.reopen(id, caller, body.version);
  }
}
