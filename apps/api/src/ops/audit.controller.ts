/**
 * The access log for auditors: entries by person (the auditor gives a BSN, the service computes
 * the index the log knows the person by), by user, by period; JSON or CSV. An insurer's auditor
 * sees what happened within their own organisation. Every search is itself logged.
 */
import { BadRequestException, Body, Controller, Get, Headers, HttpCode, Inject, Post, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { APP_CONFIG, AppConfig, AuditService, CurrentPrincipal, InvalidBodyException, Principal, Roles, validatePlain } from '@app/platform';
import { AuditSearchDto, AuditSearchService } from '@app/mediation';
import { csvDocument } from '@app/core';
import { wantsCsv } from '../ttp/format';

const AUDIT_CSV_HEADER = ['id', 'at', 'actor', 'actorRole', 'organisation', 'personIndex', 'action', 'resource', 'purpose', 'outcome', 'details'];

@ApiTags('audit')
@Controller('v1/audit')
export class AuditController {
  constructor(
    private readonly searches: AuditSearchService,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('entries')
  @Roles('auditor')
  @ApiOperation({
    summary: 'The access log of your organisation by user and/or period (to search by person, POST /v1/audit/search: a BSN never goes in a URL)',
    description: 'Query: actor, from, to (YYYY-MM-DD, Europe/Amsterdam), limit (1–10,000, default 1,000), format=csv. Oldest first. Logged as audit-read.',
  })
  @ApiQuery({ name: 'actor', required: false })
  @ApiQuery({ name: 'from', required: false })
  @ApiQuery({ name: 'to', required: false })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'format', required: false, enum: ['json', 'csv'] })
  @ApiProduces('application/json', 'text/csv')
  async entries(
    @Query() query: Record<string, string | string[]>,
    @Headers('accept') accept: string | undefined,
    @CurrentPrincipal() caller: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if ('bsn' in query) {
      throw new BadRequestException({
        message: 'The query is invalid',
        details: [{ field: 'bsn', reason: 'is not accepted in a URL (URLs end up in logs): POST /v1/audit/search with the BSN in the body' }],
      });
    }
    const { format, ...rest } = query;
    const repeated = Object.keys(query).find((k) => Array.isArray(query[k]));
    if (repeated) throw new BadRequestException({ message: 'The query is invalid', details: [{ field: repeated, reason: 'must be given once' }] });
    const plain: Record<string, unknown> = { ...rest };
    if (typeof rest.limit === 'string' && /^\d{1,6}$/.test(rest.limit)) plain.limit = Number(rest.limit);
    const checked = validatePlain(AuditSearchDto, plain);
    if ('errors' in checked) throw new InvalidBodyException(checked.errors, 'The query is invalid');
    return this.find(checked.value, wantsCsv(format as string | undefined, accept), caller, reply);
  }

  @Post('search')
  @HttpCode(200)
  @Roles('auditor')
  @ApiOperation({
    summary: 'Search the access log of your organisation: by person (BSN in the body, never in a URL), user and/or period',
    description: 'Oldest first. `?format=csv` or `Accept: text/csv` for CSV. The search itself is logged (action audit-read).',
  })
  @ApiQuery({ name: 'format', required: false, enum: ['json', 'csv'] })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ description: '{ entries: [{ id, at, actor, actorRole, organisation, personIndex, action, resource, purpose, outcome, details }] }' })
  async search(
    @Body() body: AuditSearchDto,
    @Query('format') format: string | undefined,
    @Headers('accept') accept: string | undefined,
    @CurrentPrincipal() caller: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.find(body, wantsCsv(format, accept), caller, reply);
  }

  /** The search's rules are the service's; this turns its entries into JSON or CSV. */
  private async find(body: AuditSearchDto, csv: boolean, caller: Principal, reply: FastifyReply) {
    const entries = await this.searches.search(body, caller);
    if (!csv) return { entries };
    reply.header('content-type', 'text/csv; charset=utf-8');
    // The one CSV writer: an actor, resource or detail beginning with = + - @ is no formula in a spreadsheet.
    return csvDocument(
      AUDIT_CSV_HEADER,
      entries.map((e) => [
        e.id,
        new Date(e.at).toISOString(),
        e.actor,
        e.actorRole,
        e.organisation,
        e.personIndex,
        e.action,
        e.resource,
        e.purpose,
        e.outcome,
        JSON.stringify(e.details),
      ]),
    );
  }

  @Get('verify')
  @Roles('auditor')
  @ApiOperation({
    summary:
      'Seal new entries, recompute the hash chain of the whole access log and check its signed checkpoints: intact, or the first entry changed or removed, or the checkpoint that no longer holds (entries removed or the chain re-sealed)',
  })
  async verify() {
    while ((await this.audit.seal()) > 0);
    const result = await this.audit.verify({ checkpointKey: this.config.audit.checkpointKey, checkpointSeconds: this.config.audit.checkpointSeconds });
    return { intact: result.brokenAt === null && result.checkpointProblem === null, ...result };
  }
}
