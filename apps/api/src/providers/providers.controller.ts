/** HTTP edge of the provider registry: providers, their locations and insurer contracts. */
import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Param, PipeTransform, Post, Put, Query, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { amsterdamDate } from '@app/core';
import { ErrorResponseDto, Role, Roles } from '@app/platform';
import {
  ContractCreateDto,
  ContractViewDto,
  LocationUpsertDto,
  LocationViewDto,
  ProviderDetailDto,
  ProviderListQueryDto,
  ProviderPageDto,
  ProviderRegistryService,
  ProviderUpsertDto,
  ProviderViewDto,
  REGISTRY_RULES,
} from '@app/waitlists';
import { AgbParamPipe, uuidParam } from '../common/params';

/** The registry is reference data for matching: insurer staff and providers may read it, admins write it. */
export const REGISTRY_READERS: Role[] = ['admin', 'mediator', 'mediation-lead', 'provider'];

/** The location code is part of the path; same rule as in the body of an import. */
class LocationCodePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    const reason = REGISTRY_RULES.locationCode(value, {});
    if (reason) throw new BadRequestException({ message: 'The location code is invalid', details: [{ field: 'code', reason }] });
    return value;
  }
}

@ApiTags('providers')
@ApiBadRequestResponse({ description: 'Invalid path, query or body; `details` names each field and the reason', type: ErrorResponseDto })
@Controller('v1/providers')
export class ProvidersController {
  constructor(private readonly registry: ProviderRegistryService) {}

  @Get()
  @Roles(...REGISTRY_READERS)
  @ApiOperation({
    summary: 'List providers with their locations, filtered, in AGB order',
    description: 'region and diagnosisGroup must hold for the same location; uzovi keeps providers with a contract of that insurer on contractedOn (default today).',
  })
  @ApiOkResponse({ type: ProviderPageDto })
  list(@Query() q: ProviderListQueryDto): Promise<ProviderPageDto> {
    return this.registry.listProviders({
      region: q.region,
      diagnosisGroup: q.diagnosisGroup,
      uzovi: q.uzovi,
      contractedOn: q.contractedOn ?? amsterdamDate(new Date()),
      limit: q.limit === undefined ? undefined : Number(q.limit),
      cursor: q.cursor,
    });
  }

  @Get(':agb')
  @Roles(...REGISTRY_READERS)
  @ApiOperation({ summary: 'A provider with its locations and contracts' })
  @ApiOkResponse({ type: ProviderDetailDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No provider with this AGB code' })
  get(@Param('agb', AgbParamPipe) agb: string): Promise<ProviderDetailDto> {
    return this.registry.getProvider(agb);
  }

  @Put(':agb')
  @Roles('admin')
  @ApiOperation({ summary: 'Create or rename a provider' })
  @ApiCreatedResponse({ type: ProviderViewDto, description: 'Created' })
  @ApiOkResponse({ type: ProviderViewDto, description: 'Updated (or already so)' })
  async upsert(@Param('agb', AgbParamPipe) agb: string, @Body() body: ProviderUpsertDto, @Res({ passthrough: true }) reply: FastifyReply) {
    const { created, provider } = await this.registry.upsertProvider(agb, body.name);
    void reply.status(created ? 201 : 200);
    return provider;
  }

  @Put(':agb/locations/:code')
  @Roles('admin')
  @ApiOperation({ summary: 'Create or update a location of a provider', description: 'The postcode is stored normalised: "1234 ab" becomes "1234AB".' })
  @ApiParam({ name: 'code', description: 'Location code, unique per provider: 1–40 of A-Z a-z 0-9 . _ -', example: 'centrum' })
  @ApiCreatedResponse({ type: LocationViewDto, description: 'Created' })
  @ApiOkResponse({ type: LocationViewDto, description: 'Updated (or already so)' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No provider with this AGB code' })
  async upsertLocation(
    @Param('agb', AgbParamPipe) agb: string,
    @Param('code', LocationCodePipe) code: string,
    @Body() body: LocationUpsertDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { created, location } = await this.registry.upsertLocation(agb, code, body);
    void reply.status(created ? 201 : 200);
    return location;
  }

  @Post(':agb/contracts')
  @Roles('admin')
  @ApiOperation({ summary: 'Record a contract of an insurer with the provider', description: 'Periods are [validFrom, validUntil); validUntil null = open-ended.' })
  @ApiCreatedResponse({ type: ContractViewDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No provider with this AGB code' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The period overlaps a stored contract of the same insurer with this provider' })
  createContract(@Param('agb', AgbParamPipe) agb: string, @Body() body: ContractCreateDto): Promise<ContractViewDto> {
    return this.registry.createContract(agb, body);
  }

  @Delete(':agb/contracts/:id')
  @HttpCode(204)
  @Roles('admin')
  @ApiOperation({ summary: 'Delete a contract' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No contract with this id for this provider' })
  async deleteContract(@Param('agb', AgbParamPipe) agb: string, @Param('id', uuidParam('id')) id: string): Promise<void> {
    await this.registry.deleteContract(agb, id);
  }
}
