/**
 * GET /metrics in the Prometheus text format. A scraper has no browser login: it sends either the
 * METRICS_TOKEN secret (when configured) or a JWT of the `admin` role as its bearer token.
 */
import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AcceptsMetricsToken, Roles } from '@app/platform';
import { OpsMetricsService } from './ops-metrics.service';

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: OpsMetricsService) {}

  @Get()
  @Roles('admin')
  @AcceptsMetricsToken()
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition format)',
    description:
      'Request latencies per route pattern, queue depths, tasks per status, referrals per status and verdict, the newest linkage run, process metrics. ' +
      'Bearer: a JWT of the admin role, or the METRICS_TOKEN secret when one is configured. Gauges read from Postgres and Redis are reused for METRICS_CACHE_SECONDS.',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'The metrics', schema: { type: 'string', example: 'ggz_mediation_tasks{status="open"} 12' } })
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const text = await this.metrics.text();
    void reply.header('content-type', this.metrics.contentType);
    return text;
  }
}
