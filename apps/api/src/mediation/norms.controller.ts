/** Norm sets and the mediation policy: dated data an admin maintains; changes re-evaluate open referrals. */
import { Body, Controller, Get, Param, Patch, Post, Put } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBody, ApiConflictResponse, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, ErrorResponseDto, Principal, Roles } from '@app/platform';
import { DecisionInputsService, MediationPolicyService, NormSetsService } from '@app/mediation';
import { uuidParam } from '../common/params';

const NORM_SET_EXAMPLE = {
  name: 'Treeknorm GGZ 2027 (C4)',
  sector: 'ggz',
  validFrom: '2027-04-01',
  validUntil: null,
  urgency: null,
  category: 'cruciaal',
  maxWeeks: { aanmelding: 3, behandeling: 8, totaal: 11 },
};

@ApiTags('norms and policy')
@ApiBadRequestResponse({ type: ErrorResponseDto, description: '`details` names each field and the reason' })
@Controller('v1')
export class NormsController {
  constructor(
    private readonly normSets: NormSetsService,
    private readonly policy: MediationPolicyService,
    private readonly inputs: DecisionInputsService,
  ) {}

  @Get('norm-sets')
  @Roles('admin', 'mediation-lead', 'mediator', 'auditor')
  @ApiOperation({ summary: 'All norm sets, past, current and future' })
  list() {
    return this.normSets.all();
  }

  @Get('norm-sets/:id')
  @Roles('admin', 'mediation-lead', 'mediator', 'auditor')
  @ApiOperation({ summary: 'One norm set' })
  get(@Param('id', uuidParam()) id: string) {
    return this.normSets.get(id);
  }

  @Post('norm-sets')
  @Roles('admin')
  @ApiOperation({
    summary: 'Add a norm set',
    description:
      'sector ggz: maxWeeks aanmelding, behandeling, totaal; sector msz: polikliniek, diagnostiek, behandeling. ' +
      'Optional scope: urgency (regulier, urgent) and, for ggz, category (cruciaal, overig); null applies to all. ' +
      'A set overlapping another set of the same scope is refused (409): succeed that one (POST /v1/norm-sets/{id}/successor) or end it first. ' +
      'The set valid on the referral date applies; open referrals are re-evaluated.',
  })
  @ApiBody({ schema: { example: NORM_SET_EXAMPLE } })
  @ApiCreatedResponse({ description: 'Stored; `reevaluating` open referrals were queued' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'Overlaps a set of the same scope' })
  create(@Body() body: unknown, @CurrentPrincipal() caller: Principal) {
    return this.inputs.createNormSet(body, caller.subject);
  }

  @Patch('norm-sets/:id')
  @Roles('admin')
  @ApiOperation({ summary: "Set or change a norm set's end date (the only change allowed: decisions refer to it)" })
  @ApiBody({ schema: { example: { validUntil: '2027-04-01' } } })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The new period would overlap a set of the same scope' })
  end(@Param('id', uuidParam()) id: string, @Body() body: unknown) {
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    return this.inputs.endNormSet(id, b.validUntil);
  }

  @Post('norm-sets/:id/successor')
  @Roles('admin')
  @ApiOperation({
    summary: 'End a norm set and start its successor, in one step',
    description:
      'The body is the successor (as for POST /v1/norm-sets; same sector, urgency and category). The set `id` ends on the ' +
      "successor's validFrom and the successor starts then, in one transaction: there is no moment in which neither applies. " +
      'Open referrals are re-evaluated; `reevaluating` counts them.',
  })
  @ApiBody({ schema: { example: { ...NORM_SET_EXAMPLE, category: null } } })
  @ApiCreatedResponse({ description: '`ended` (the set with its new end date), `started` (the successor) and `reevaluating`' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The successor would overlap another set of the same scope' })
  succeed(@Param('id', uuidParam()) id: string, @Body() body: unknown, @CurrentPrincipal() caller: Principal) {
    return this.inputs.succeedNormSet(id, body, caller.subject);
  }

  @Get('mediation-policy')
  @Roles('admin', 'mediation-lead', 'mediator', 'auditor')
  @ApiOperation({ summary: 'The mediation policy in force, with its history' })
  @ApiOkResponse({ schema: { example: { current: { id: 1, phase1From: '2026-01-01', phase2From: null }, history: [] } } })
  async getPolicy() {
    const history = await this.policy.history();
    return { current: history[0], history };
  }

  @Put('mediation-policy')
  @Roles('admin')
  @ApiOperation({
    summary: 'Change the mediation policy',
    description: 'phase1From: from when above-norm patients are approached; phase2From: from when within-norm patients may be too (null: never). Open referrals are re-evaluated.',
  })
  @ApiBody({ schema: { example: { phase2From: '2027-04-01' } } })
  putPolicy(@Body() body: unknown, @CurrentPrincipal() caller: Principal) {
    return this.inputs.changePolicy(body, caller.subject);
  }
}
