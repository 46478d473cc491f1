import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Principal, ROLES, Roles } from '@app/platform';

@ApiTags('auth')
@Controller('v1/auth')
export class WhoamiController {
  @Get('whoami')
  @Roles(...ROLES)
  @ApiOperation({ summary: 'Who the bearer token says you are (role and tenant)' })
  @ApiOkResponse({ schema: { example: { subject: 'dev-mediator', role: 'mediator', uzovis: ['3311'] } } })
  whoami(@CurrentPrincipal() caller: Principal): Principal {
    return caller;
  }
}
