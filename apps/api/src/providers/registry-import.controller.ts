/**
 * Bulk import of the provider registry, as JSON or as CSV (text/csv). All or nothing: a single
 * bad row refuses the whole import with row-level details, and nothing is stored.
 */
import { Body, Controller, Headers, HttpCode, Inject, Post } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBadRequestResponse, ApiBody, ApiConflictResponse, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { APP_CONFIG, AppConfig, ErrorResponseDto, readText, Roles } from '@app/platform';
import {
  CONTRACT_CSV_COLUMNS,
  ContractsImportDto,
  importRefused,
  ImportParse,
  ImportResultDto,
  LOCATION_CSV_COLUMNS,
  planFromContractsCsv,
  planFromJson,
  planFromLocationsCsv,
  ProviderRegistryService,
  RegistryImportDto,
} from '@app/waitlists';

/** Read by the API's hooks (bootstrap.ts): these routes also accept a text/csv body, and a bulk JSON body. */
export const ACCEPTS_CSV = { accepts: ['text/csv'], bulkJson: true };

const isCsv = (contentType: string | undefined) => /^text\/csv\s*(;|$)/i.test(contentType ?? '');

@ApiTags('providers')
@ApiConsumes('application/json', 'text/csv')
@ApiBadRequestResponse({ description: 'Invalid rows; `details` names each (`rows[12].postcode`, `providers[3].locations[0].region`), at most 100', type: ErrorResponseDto })
@ApiConflictResponse({ description: 'A contract overlaps a stored contract that the import does not replace', type: ErrorResponseDto })
@ApiOkResponse({ type: ImportResultDto, description: 'Stored, in one transaction; counts per kind' })
@Controller('v1/providers')
export class RegistryImportController {
  constructor(
    private readonly registry: ProviderRegistryService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('import')
  @HttpCode(200)
  @Roles('admin')
  @RouteConfig(ACCEPTS_CSV)
  @ApiOperation({
    summary: 'Import providers, locations and contracts (JSON) or providers with locations (CSV)',
    description:
      'Upserts providers by agb, locations by (agb, code), contracts by (uzovi, agb, validFrom); nothing is deleted, ' +
      'and importing the same data again changes nothing. CSV (text/csv): header ' +
      `\`${LOCATION_CSV_COLUMNS.join(',')}\`, one row per location, diagnosisGroups separated by \`|\`; \`;\` as separator also works.`,
  })
  @ApiBody({ type: RegistryImportDto })
  async importRegistry(@Body() body: unknown, @Headers('content-type') type: string | undefined): Promise<ImportResultDto> {
    return this.run(isCsv(type) ? planFromLocationsCsv(await readText(body, this.config.bodyLimitBytes)) : planFromJson(body));
  }

  @Post('contracts/import')
  @HttpCode(200)
  @Roles('admin')
  @RouteConfig(ACCEPTS_CSV)
  @ApiOperation({
    summary: 'Import insurer contracts (JSON or CSV)',
    description: `CSV (text/csv): header \`${CONTRACT_CSV_COLUMNS.join(',')}\`; an empty validUntil is open-ended. JSON: { "contracts": [...] }.`,
  })
  @ApiBody({ type: ContractsImportDto })
  async importContracts(@Body() body: unknown, @Headers('content-type') type: string | undefined): Promise<ImportResultDto> {
    return this.run(isCsv(type) ? planFromContractsCsv(await readText(body, this.config.bodyLimitBytes)) : planFromJson(body, true));
  }

  private run(parsed: ImportParse): Promise<ImportResultDto> {
    if ('errors' in parsed) throw importRefused(400, parsed.errors);
    return this.registry.importRegistry(parsed.plan);
  }
}
