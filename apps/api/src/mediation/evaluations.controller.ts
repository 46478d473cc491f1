/** The decision history of a referral, verdict counts (so that no-data and no-norm are visible), and replay. */
import { BadRequestException, Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { isIsoDate } from '@app/core';
import { AuditService, CurrentPrincipal, ErrorResponseDto, Principal, Roles } from '@app/platform';
import { EvaluationHistoryService, EvaluationReplayService, ReplayReport } from '@app/mediation';
import { uuidParam } from '../common/params';

@ApiTags('evaluations')
@Controller('v1')
export class EvaluationsController {
  constructor(
    private readonly history: EvaluationHistoryService,
    private readonly replays: EvaluationReplayService,
    private readonly audit: AuditService,
  ) {}

  @Get('referrals/:id/evaluations')
  @Roles('mediator', 'mediation-lead', 'auditor', 'admin')
  @ApiOperation({
    summary: "A referral's evaluations, newest first, each with a plain-language summary and everything it used",
    description: 'Insurer staff see this only for referrals with a mediation task; auditors for their insurer; admins for all.',
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  evaluations(@Param('id', uuidParam()) id: string, @CurrentPrincipal() caller: Principal) {
    return this.history.forReferral(id, caller);
  }

  @Get('evaluations/verdicts')
  @Roles('mediation-lead', 'auditor', 'admin')
  @ApiOperation({ summary: 'Referrals per status and verdict, per insurer (all insurers for an admin)' })
  verdicts(@CurrentPrincipal() caller: Principal) {
    return this.history.verdictCounts(caller);
  }

  @Get('evaluations/replay')
  @Roles('auditor', 'admin')
  @ApiOperation({
    summary: 'Recompute stored decisions from their stored inputs with today’s code and list those that differ',
    description:
      'An auditor replays the decisions of their insurer, an admin all. `from`/`to` bound the evaluation date (inclusive). ' +
      'Each difference names the evaluation, the referral, the field, the stored and the recomputed value (the first 100). ' +
      'The ranking of alternatives is not replayed (its candidates are not stored with the decision).',
  })
  @ApiQuery({ name: 'from', required: false, description: 'YYYY-MM-DD' })
  @ApiQuery({ name: 'to', required: false, description: 'YYYY-MM-DD' })
  @ApiOkResponse({ schema: { example: { checked: 1204, differing: 0, differences: [] } } })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  async replay(@Query() q: Record<string, string>, @CurrentPrincipal() caller: Principal): Promise<ReplayReport> {
    const problems = Object.keys(q)
      .filter((k) => k !== 'from' && k !== 'to')
      .map((field) => ({ field, reason: 'is not a parameter of the replay' }));
    for (const f of ['from', 'to'] as const) if (q[f] !== undefined && !isIsoDate(q[f])) problems.push({ field: f, reason: 'must be a real date YYYY-MM-DD' });
    if (problems.length === 0 && q.from && q.to && q.from > q.to) problems.push({ field: 'to', reason: 'must not be before from' });
    if (problems.length > 0) throw new BadRequestException({ message: 'The replay request is invalid', details: problems });
    const report = await this.replays.replay({ uzovis: caller.role === 'admin' ? null : caller.uzovis, from: q.from, to: q.to });
    // Decisions about persons were read (not shown): one entry for the replay as a whole.
    await this.audit.record([
      {
        actor: caller,
        personIndex: null,
        action: 'audit-read',
        resource: 'referral-evaluation/replay',
        purpose: 'audit',
        outcome: 'allowed',
        details: { checked: report.checked, differing: report.differing },
      },
    ]);
    return report;
  }
}
