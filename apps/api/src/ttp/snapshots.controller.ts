/** Providers send their waiting lists to the TTP: CSV or NDJSON streamed, or a JSON array. */
import { BadRequestException, Body, Controller, Headers, HttpException, HttpStatus, Post, Res } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBadRequestResponse, ApiConsumes, ApiCreatedResponse, ApiOperation, ApiPayloadTooLargeResponse, ApiTags, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal, ErrorResponseDto, Principal, Roles } from '@app/platform';
import { SNAPSHOT_COLUMNS, SnapshotFormat, SnapshotReceipt, SnapshotUploadService } from '@app/ttp';

@ApiTags('ttp')
@Controller('v1/ttp/snapshots')
export class SnapshotsController {
  constructor(private readonly uploads: SnapshotUploadService) {}

  @Post()
  @Roles('provider')
  @RouteConfig({ accepts: ['text/csv', 'application/x-ndjson'], bulkJson: true })
  @ApiConsumes('text/csv', 'application/x-ndjson', 'application/json')
  @ApiOperation({
    summary: 'Replace your waiting-list snapshot (your own AGB, from your token)',
    description:
      `CSV with the header \`${SNAPSHOT_COLUMNS.join(',')}\`, NDJSON (one entry object per line) — both streamed — or a JSON array ` +
      '(within the body limit). Each entry has `bsn` or `prePseudonym` (stage 1, see the README), never both. ' +
      'Any invalid row refuses the whole snapshot (first 100 problems named, `rows[n].field`) and the previous one stays in force; ' +
      'a valid snapshot replaces the previous one at once. At most TTP_SNAPSHOTS_PER_DAY snapshots may go into force per 24 hours ' +
      '(429 with Retry-After beyond that). Feedback names a client only once they were on your list in two snapshots at least ' +
      'TTP_FEEDBACK_MIN_DAYS apart. Every upload is in the access log.',
  })
  @ApiCreatedResponse({ description: 'In force: { snapshotId, agb, entries, keyVersion, asOf, replaced }' })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiPayloadTooLargeResponse({ type: ErrorResponseDto })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'Too many snapshots in force within 24 hours; Retry-After says when the next is accepted' })
  async upload(
    @Body() body: unknown,
    @Headers('content-type') type: string | undefined,
    @CurrentPrincipal() caller: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SnapshotReceipt> {
    try {
      return await this.receive(body, type, caller);
    } catch (e) {
      if (e instanceof HttpException && e.getStatus() === HttpStatus.TOO_MANY_REQUESTS) {
        const wait = (e.getResponse() as { retryAfterSeconds?: number }).retryAfterSeconds;
        if (wait !== undefined) reply.header('retry-after', String(wait));
      }
      throw e;
    }
  }

  private receive(body: unknown, type: string | undefined, caller: Principal): Promise<SnapshotReceipt> {
    if (!caller.agb) throw new BadRequestException({ message: 'The token carries no AGB code', details: [{ field: 'agb', reason: 'is missing from the token' }] });
    const base = (type ?? '').split(';')[0].trim().toLowerCase();
    const format: SnapshotFormat = base === 'text/csv' ? 'csv' : base === 'application/x-ndjson' ? 'ndjson' : 'json';
    if (format === 'json') {
      const entries = Array.isArray(body) ? body : (body as { entries?: unknown })?.entries;
      if (!Array.isArray(entries))
        throw new BadRequestException({ message: 'The snapshot is invalid', details: [{ field: '(body)', reason: 'must be a JSON array of entries (or { "entries": [...] })' }] });
      return this.uploads.upload(caller.agb, caller.subject, 'json', entries, caller);
    }
    return this.uploads.upload(caller.agb, caller.subject, format, body as AsyncIterable<Buffer>, caller);
  }
}
