/** Providers publish their waiting times; new figures re-evaluate their open referrals. */
import { Body, Controller, ForbiddenException, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiCreatedResponse, ApiForbiddenResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, ErrorResponseDto, Principal, Roles } from '@app/platform';
import { DecisionInputsService } from '@app/mediation';
import { CurrentWaitDto, WaitTimeReceiptDto, WaitTimeReportDto, WaitTimesService } from '@app/waitlists';
import { AgbParamPipe } from '../common/params';

function assertOwnAgb(caller: Principal, agb: string): void {
  if (caller.role === 'provider' && caller.agb !== agb) {
    throw new ForbiddenException({ message: 'A provider may only use its own AGB code', details: [{ field: 'agb', reason: 'is not the AGB code of this caller' }] });
  }
}

@ApiTags('waiting times')
@ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid report; `details` names each figure and field' })
@ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No provider with this AGB code in the registry' })
@ApiForbiddenResponse({ type: ErrorResponseDto, description: "Another provider's AGB code" })
@Controller('v1/providers/:agb/wait-times')
export class WaitTimesController {
  constructor(
    private readonly waits: WaitTimesService,
    private readonly inputs: DecisionInputsService,
  ) {}

  @Post()
  @Roles('provider')
  @ApiOperation({
    summary: "Publish a month's waiting times (own AGB only)",
    description:
      'Per location (its registry code) and diagnosis group: aanmeldwachttijd and behandelwachttijd in weeks, one decimal. ' +
      'Every report is kept; the latest month (latest submission) is current, and figures for a month more than two months back are stale. ' +
      "All-or-nothing; the provider's open referrals for the groups reported are re-evaluated (requested in the same transaction; " +
      '`reevaluating` counts the referrals that will be judged again, including any being judged at that moment).',
  })
  @ApiCreatedResponse({ type: WaitTimeReceiptDto })
  async submit(@Param('agb', AgbParamPipe) agb: string, @Body() body: WaitTimeReportDto, @CurrentPrincipal() caller: Principal): Promise<WaitTimeReceiptDto> {
    assertOwnAgb(caller, agb);
    const stored = await this.inputs.submitFigures(agb, body, caller.subject);
    return { agb, month: stored.month, stored: stored.stored, reevaluating: stored.reevaluating };
  }

  @Get()
  @Roles('provider', 'admin', 'mediator', 'mediation-lead')
  @ApiOperation({ summary: "A provider's current waiting times per location and diagnosis group" })
  @ApiQuery({ name: 'includeStale', required: false, type: Boolean, description: 'Also list the latest figures that are stale' })
  @ApiOkResponse({ type: [CurrentWaitDto] })
  current(@Param('agb', AgbParamPipe) agb: string, @Query('includeStale') includeStale: string | undefined, @CurrentPrincipal() caller: Principal): Promise<CurrentWaitDto[]> {
    assertOwnAgb(caller, agb);
    return this.waits.currentForProvider(agb, undefined, includeStale === 'true');
  }
}
