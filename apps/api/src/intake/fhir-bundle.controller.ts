/**
 * FHIR R4 intake: POST /fhir/Bundle takes a referral as a transaction or message Bundle
 * (docs/FHIR.md), reads it into the JSON route's referral message and hands it to the same
 * ReferralIntakeService calls as POST /v1/referrals — the same validator, tenant check and
 * idempotent store, so a delivery means the same thing whichever way it came. The answers are
 * the JSON route's (201 created / 200 re-delivery, with the referral); every failure is an
 * OperationOutcome naming the element.
 */
import { Body, Controller, Post, Res, UseFilters } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal, Principal, Roles } from '@app/platform';
import { fieldIssues, readReferralBundle, ReferralIntakeService, ReferralViewDto } from '@app/referrals';
import { FHIR_JSON, FhirIssuesException, FhirOutcomeFilter } from './fhir-outcome';

const OUTCOME = 'An OperationOutcome: issue[] with severity, code, diagnostics and expression (FHIRPath of the element)';

@ApiTags('fhir')
@ApiConsumes(FHIR_JSON, 'application/json')
@ApiBadRequestResponse({ description: `The Bundle is not a valid referral. ${OUTCOME}` })
@ApiPayloadTooLargeResponse({ description: `Body larger than the configured limit. ${OUTCOME}` })
@ApiUnsupportedMediaTypeResponse({ description: `Body is not application/fhir+json or application/json. ${OUTCOME}` })
@UseFilters(FhirOutcomeFilter)
@Controller('fhir')
export class FhirBundleController {
  constructor(private readonly intake: ReferralIntakeService) {}

  @Post('Bundle')
  @Roles('referral-service')
  // Read by the onRequest hook in bootstrap.ts (which takes any +json type today; listed so the route says what it takes).
  @RouteConfig({ accepts: [FHIR_JSON] })
  @ApiOperation({
    summary: 'Deliver one consented referral as a FHIR R4 Bundle (transaction or message)',
    description:
      'Patient (BSN), ServiceRequest (authoredOn, performer with AGB, reasonCode with the diagnosis group), Consent (active, dated, scope zorgbemiddeling) ' +
      'and Coverage (payor with UZOVI); see docs/FHIR.md. The message id is Bundle.id (transaction) or MessageHeader.id (message): idempotent per ' +
      '(uzovi, message id) together with POST /v1/referrals.',
  })
  @ApiBody({ schema: { type: 'object', description: 'A FHIR R4 Bundle of type transaction or message (docs/FHIR.md)' } })
  @ApiCreatedResponse({ type: ReferralViewDto, description: 'Stored; evaluation is queued' })
  @ApiOkResponse({ type: ReferralViewDto, description: 'Re-delivery of a message already stored' })
  @ApiConflictResponse({ description: `The message id was already used with different content, or its consent was withdrawn. ${OUTCOME}` })
  async deliver(@Body() body: unknown, @CurrentPrincipal() caller: Principal, @Res({ passthrough: true }) reply: FastifyReply): Promise<ReferralViewDto> {
    const reading = readReferralBundle(body);
    const checked = this.intake.validate(reading.message, caller);
    const issues = [...reading.issues, ...('outcome' in checked && checked.outcome === 'invalid' ? fieldIssues(checked.errors, reading) : [])];
    if (issues.length > 0) throw new FhirIssuesException(400, issues, 'The Bundle is not a valid referral');
    if (!('msg' in checked)) {
      // Valid, but for an insurer this caller may not send for.
      throw new FhirIssuesException(
        403,
        [
          {
            code: 'forbidden',
            expression: reading.source.uzovi ?? 'Bundle',
            diagnostics: `${reading.labels.uzovi ?? 'The UZOVI code'} is not an insurer this caller may send referrals for`,
          },
        ],
        'The caller may not send referrals for this insurer',
      );
    }

    const [result] = await this.intake.store([checked.msg], caller);
    if (result.outcome === 'conflict') {
      const where = reading.labels.messageId ?? 'The message id';
      throw new FhirIssuesException(
        409,
        [
          {
            code: 'conflict',
            expression: reading.source.messageId ?? 'Bundle.id',
            diagnostics: result.withdrawn
              ? `${where} belongs to a referral whose consent was withdrawn; it is not stored again`
              : `${where} was already delivered with different content`,
          },
        ],
        'This message id was already used',
      );
    }
    // Valid, but refused by the database (see ReferralIntakeService.store): 400 naming the element.
    if (result.outcome === 'invalid') {
      const named = fieldIssues(result.errors, reading);
      const issues = named.length > 0 ? named : result.errors.map((e) => ({ code: 'invalid' as const, expression: 'Bundle', diagnostics: `The Bundle ${e.reason}` }));
      throw new FhirIssuesException(400, issues, 'The Bundle is not a valid referral');
    }
    if (result.outcome !== 'created' && result.outcome !== 'duplicate') throw new Error('unexpected intake outcome');
    void reply.status(result.outcome === 'created' ? 201 : 200);
    return result.referral;
  }
}
