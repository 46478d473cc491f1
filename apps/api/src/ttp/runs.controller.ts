/** TTP operators start linkage runs and follow them. */
import { Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal, ErrorResponseDto, Principal, Roles } from '@app/platform';
import { LinkageRun, LinkageService } from '@app/ttp';
import { uuidParam } from '../common/params';
import { limitParam } from './format';

@ApiTags('ttp')
@Controller('v1/ttp/runs')
export class RunsController {
  constructor(private readonly linkage: LinkageService) {}

  @Post()
  @Roles('ttp-operator')
  @ApiOperation({
    summary: 'Start a linkage run now (the nightly run needs nobody)',
    description:
      'Queues a run over the snapshots in force (202). When those snapshots were linked already, answers 200 with that run; ' +
      'when a run is still queued, 200 with that one. Follow it at GET /v1/ttp/runs/{id}.',
  })
  @ApiAcceptedResponse({ description: 'Queued: the run' })
  @ApiOkResponse({ description: 'Nothing new to link: the run that stands for the current snapshots, or the one already queued' })
  async start(@CurrentPrincipal() caller: Principal, @Res({ passthrough: true }) reply: FastifyReply): Promise<LinkageRun> {
    const { run, created } = await this.linkage.requestOnDemand(caller.subject);
    reply.status(created ? 202 : 200);
    if (created) reply.header('location', `/v1/ttp/runs/${run.id}`);
    return run;
  }

  @Get()
  @Roles('ttp-operator')
  @ApiOperation({ summary: 'Linkage runs, newest first: inputs (provider, snapshot, as-of date, key version), timings and counts' })
  @ApiQuery({ name: 'limit', required: false, description: '1–200, default 50' })
  list(@Query('limit') limit?: string): Promise<LinkageRun[]> {
    return this.linkage.list(limitParam(limit));
  }

  @Get(':id')
  @Roles('ttp-operator')
  @ApiOperation({ summary: 'One linkage run' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@Param('id', uuidParam()) id: string): Promise<LinkageRun> {
    return this.linkage.get(id);
  }
}
