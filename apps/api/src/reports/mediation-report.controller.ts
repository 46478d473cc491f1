/**
 * The evaluation report of proactive mediation: per month, aggregates only, small counts
 * suppressed. Insurer management (mediation-lead) and auditors see their own insurer(s); an admin
 * sees the national figures (or one insurer's with ?uzovi=). Mediators work cases and have the
 * worklist counts; the evaluation figures are for those who steer and check the process.
 */
import { BadRequestException, Controller, ForbiddenException, Get, Headers, Query, Res } from '@nestjs/common';
import { ApiForbiddenResponse, ApiBadRequestResponse, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { amsterdamDate, isValidUzovi } from '@app/core';
import { CurrentPrincipal, ErrorResponseDto, Principal, Roles } from '@app/platform';
import { MediationReportService, mediationReportCsv, reportPeriod } from '@app/mediation';
import { wantsCsv } from '../ttp/format';

const PARAMS = ['from', 'to', 'uzovi', 'format'];

@ApiTags('reports')
@Controller('v1/reports')
export class MediationReportController {
  constructor(private readonly reports: MediationReportService) {}

  @Get('mediation')
  @Roles('mediation-lead', 'auditor', 'admin')
  @ApiOperation({
    summary: 'The evaluation report of proactive mediation, per month (your insurer; national for an admin)',
    description:
      'Per calendar month (Europe/Amsterdam): consented referrals received; share above the norm per stage among evaluated referrals; tasks created, their outcomes and ' +
      'time to first contact (working days); expected weeks saved by accepted alternatives; providers referred to without current figures; TTP-measured cells whose ' +
      'declared wait is flagged. Counts of 1–4 people are null ("primary"), further cells are hidden so that none can be worked out ("secondary"), figures computed ' +
      'from a hidden count or fewer than 5 people are null ("dependent"); `suppressed` says which. CSV is long-form: month,figure,value,suppressed. See the README.',
  })
  @ApiQuery({ name: 'from', required: false, description: 'YYYY-MM; default 11 months before `to`' })
  @ApiQuery({ name: 'to', required: false, description: 'YYYY-MM; default the current month; not in the future; at most 36 months in all' })
  @ApiQuery({ name: 'uzovi', required: false, description: 'One insurer: one of yours (an admin: any)' })
  @ApiQuery({ name: 'format', required: false, enum: ['json', 'csv'], description: 'Default json; Accept: text/csv works too' })
  @ApiProduces('application/json', 'text/csv')
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'uzovi is not an insurer the token acts for' })
  async mediation(
    @Query() query: Record<string, string | string[]>,
    @Headers('accept') accept: string | undefined,
    @CurrentPrincipal() caller: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const details: { field: string; reason: string }[] = [];
    for (const k of Object.keys(query)) {
      if (!PARAMS.includes(k)) details.push({ field: k, reason: `is not a parameter of this report (${PARAMS.join(', ')})` });
      else if (Array.isArray(query[k])) details.push({ field: k, reason: 'must be given once' });
    }
    if (details.length) throw new BadRequestException({ message: 'The query is invalid', details });
    const { from, to, uzovi, format } = query as Record<string, string | undefined>;
    const csv = wantsCsv(format, accept);
    const period = reportPeriod(from, to, amsterdamDate(new Date()).slice(0, 7));
    if ('errors' in period) throw new BadRequestException({ message: 'The period is invalid', details: period.errors });

    let uzovis: string[] | null = caller.role === 'admin' ? null : caller.uzovis;
    if (uzovi !== undefined) {
      if (!isValidUzovi(uzovi)) throw new BadRequestException({ message: 'The UZOVI code is invalid', details: [{ field: 'uzovi', reason: 'must be 4 digits' }] });
      if (caller.role !== 'admin' && !caller.uzovis.includes(uzovi)) {
        throw new ForbiddenException({ message: 'Not your insurer', details: [{ field: 'uzovi', reason: 'is not an insurer this token acts for' }] });
      }
      uzovis = [uzovi];
    }

    const report = await this.reports.report({ from: period.from, to: period.to, uzovis });
    if (!csv) return report;
    const who = report.scope.kind === 'national' ? 'national' : report.scope.uzovi.join('-');
    reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="mediation-report-${who}-${report.from}-${report.to}.csv"`);
    return mediationReportCsv(report);
  }
}
