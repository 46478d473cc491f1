/**
 * What the TTP hands out: the insurer report (aggregates, small cells suppressed), a provider's
 * own feedback, and cleaned waiting times. Insurer roles never get anything person-level.
 */
import { BadRequestException, Controller, Get, Headers, Query, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { isValidAgb } from '@app/core';
import { CurrentPrincipal, ErrorResponseDto, Principal, Roles } from '@app/platform';
import { insurerReportCsv, TtpOutputsService } from '@app/ttp';
import { csvLine, diagnosisGroupParam, wantsCsv } from './format';

const FORMAT = { name: 'format', required: false, enum: ['json', 'csv'], description: 'Default json; Accept: text/csv works too' } as const;

function ownAgb(caller: Principal): string {
  return withAgb(caller).agb;
}

function withAgb(caller: Principal): Principal & { agb: string } {
  if (!caller.agb) throw new BadRequestException({ message: 'The token carries no AGB code', details: [{ field: 'agb', reason: 'is missing from the token' }] });
  return { ...caller, agb: caller.agb };
}

@ApiTags('ttp')
@Controller('v1/ttp')
export class TtpOutputsController {
  constructor(private readonly outputs: TtpOutputsService) {}

  @Get('report')
  @Roles('mediator', 'mediation-lead', 'auditor', 'ttp-operator')
  @ApiOperation({
    summary: 'The dedup report of the newest linkage run: aggregates only',
    description:
      'Per provider: entries, distinct people, people also waiting elsewhere; nationally, per region and per diagnosis group: entries, distinct people, ' +
      'people on 1, 2, 3 and 4+ lists; the largest provider-to-provider overlaps. 1–4 is shown as "<5"; "x" is hidden so that no "<5" can be worked out. ' +
      'CSV is long-form: section,key,name,measure,value.',
  })
  @ApiQuery(FORMAT)
  @ApiProduces('application/json', 'text/csv')
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No run has finished yet' })
  async report(@Query('format') format: string | undefined, @Headers('accept') accept: string | undefined, @Res({ passthrough: true }) reply: FastifyReply) {
    const csv = wantsCsv(format, accept);
    const report = await this.outputs.insurerReport();
    if (!csv) return report;
    reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="ttp-report-${report.run.asOf ?? 'empty'}.csv"`);
    return insurerReportCsv(report);
  }

  @Get('feedback')
  @Roles('provider')
  @ApiOperation({
    summary: 'Your own clients who also wait elsewhere (newest linkage run)',
    description:
      'Your client references only, with on how many other lists the person waits and at which stages — never where. `linked: false` when your snapshot was not in the run (e.g. made under an older key: re-send it). ' +
      'A client is named only once they were on your list in two snapshots at least TTP_FEEDBACK_MIN_DAYS (default 7) days apart, and without a break since: ' +
      'the TTP does not answer for people merely uploaded. Every read is in the access log (how many people were disclosed, by pseudonymous reference).',
  })
  @ApiQuery(FORMAT)
  @ApiProduces('application/json', 'text/csv')
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No run has finished yet' })
  async feedback(
    @Query('format') format: string | undefined,
    @Headers('accept') accept: string | undefined,
    @CurrentPrincipal() caller: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const csv = wantsCsv(format, accept);
    const fb = await this.outputs.feedback(withAgb(caller));
    if (!csv) return fb;
    reply.header('content-type', 'text/csv; charset=utf-8');
    return ['clientRef,otherLists,otherStages', ...fb.entries.map((e) => csvLine([e.clientRef, e.otherLists, e.otherStages.join(' ')]))].join('\n') + '\n';
  }

  @Get('cleaned-waits')
  @Roles('provider', 'mediator', 'mediation-lead', 'auditor', 'ttp-operator')
  @ApiOperation({
    summary: 'Cleaned waiting times per location and diagnosis group (newest linkage run)',
    description:
      'People waiting for intake and for treatment, each person once, leaving out intake entries of people already waiting for treatment elsewhere; ' +
      'median and 80th percentile of the wait so far (weeks), next to the declared figures, flagged when they differ by more than TTP_FLAG_WEEKS. ' +
      'A provider sees its own cells in full; others see counts of 1–4 as "<5", "x" where a count is hidden so that no "<5" of these figures or of the insurer report ' +
      'can be worked out from the two together, null for a cell that cannot be shown at all, and no percentiles for fewer than 5 people.',
  })
  @ApiQuery({ name: 'agb', required: false, description: 'One provider (ignored for a provider: always its own)' })
  @ApiQuery({ name: 'diagnosisGroup', required: false })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No run has finished yet' })
  cleanedWaits(@Query('agb') agb: string | undefined, @Query('diagnosisGroup') group: string | undefined, @CurrentPrincipal() caller: Principal) {
    const diagnosisGroup = diagnosisGroupParam(group);
    if (caller.role === 'provider') return this.outputs.cleanedWaits({ ownAgb: ownAgb(caller), diagnosisGroup });
    if (agb !== undefined && !isValidAgb(agb)) throw new BadRequestException({ message: 'The AGB code is invalid', details: [{ field: 'agb', reason: 'must be 8 digits' }] });
    return this.outputs.cleanedWaits({ agb, diagnosisGroup });
  }
}
