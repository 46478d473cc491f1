/** The reactive request: staff look a patient up by BSN, with a stated reason, logged as such. */
import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, ErrorResponseDto, Principal, Roles } from '@app/platform';
import { ReactiveSearchDto, ReactiveSearchService } from '@app/mediation';

@ApiTags('referrals')
@Controller('v1/referrals/search')
export class ReactiveSearchController {
  constructor(private readonly searches: ReactiveSearchService) {}

  @Post()
  @HttpCode(200)
  @Roles('mediator', 'mediation-lead')
  @ApiOperation({
    summary: "Find your insurer's referrals for a patient who asks for mediation themselves (reactive request)",
    description:
      'The only way to reach a person other than through a task. Needs a stated reason; the search, its reason and the person (as the access log ' +
      'knows them) go into the access log with purpose reactive-request. The BSN travels in the body, never in a URL, and comes back masked.',
  })
  @ApiOkResponse({ description: '{ referrals: [{ referralId, uzovi, bsn (masked), verwijsdatum, klachtenprofiel, agb, status, verdict, taskId, taskStatus }] }' })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  search(@Body() body: ReactiveSearchDto, @CurrentPrincipal() caller: Principal) {
    return this.searches.search(body.bsn, body.reason, caller);
  }
}
