/** The decision history of a referral, and verdict counts (so that no-data is visible). */
import { Controller, Get, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, ErrorResponseDto, Principal, Roles } from '@app/platform';
import { EvaluationHistoryService } from '@app/mediation';
import { uuidParam } from '../common/params';

@ApiTags('evaluations')
@Controller('v1')
export class EvaluationsController {
  constructor(private readonly history: EvaluationHistoryService) {}

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
}
