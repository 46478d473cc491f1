/** HTTP edge of referral intake: turns requests into calls on ReferralIntakeService. */
import { BadRequestException, Body, ConflictException, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal, ErrorResponseDto, INSURER_STAFF, InvalidBodyException, Principal, Roles } from '@app/platform';
import { ReferralIntakeService, ReferralMessageDto, ReferralViewDto } from '@app/referrals';
import { StaffReferralService } from '@app/mediation';
import { BatchItemResultDto, BatchResponseDto, ReferralBatchDto } from './referral-batch.dto';

const STATUS = { created: 201, duplicate: 200, conflict: 409, invalid: 400, forbidden: 403 } as const;
const CONFLICT_REASON = {
  content: 'is already used for a different referral message',
  withdrawn: 'belongs to a referral whose consent was withdrawn',
};

@ApiTags('referrals')
@ApiBadRequestResponse({ description: 'Invalid body; `details` names each field and the reason', type: ErrorResponseDto })
@ApiPayloadTooLargeResponse({ description: 'Body larger than the configured limit', type: ErrorResponseDto })
@ApiUnsupportedMediaTypeResponse({ description: 'Body is not application/json', type: ErrorResponseDto })
@Controller('v1/referrals')
export class ReferralsController {
  constructor(
    private readonly intake: ReferralIntakeService,
    private readonly staffReads: StaffReferralService,
  ) {}

  @Post()
  @Roles('referral-service')
  @ApiOperation({
    summary: 'Deliver one consented referral message',
    description:
      'Idempotent per (uzovi, messageId): a re-delivery with the same content answers 200 with the stored referral; ' +
      'the same messageId with different content answers 409. Nothing of a refused message is stored.',
  })
  @ApiCreatedResponse({ type: ReferralViewDto, description: 'Stored; evaluation is queued' })
  @ApiOkResponse({ type: ReferralViewDto, description: 'Re-delivery of a message already stored' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'messageId already used with different content, or its consent was withdrawn' })
  async deliver(@Body() body: ReferralMessageDto, @CurrentPrincipal() caller: Principal, @Res({ passthrough: true }) reply: FastifyReply) {
    this.intake.assertTenant(body, caller);
    const [result] = await this.intake.store([body], caller);
    if (result.outcome === 'conflict') {
      throw new ConflictException(
        result.withdrawn
          ? { message: 'Consent for this message was withdrawn; it is not stored again', details: [{ field: 'messageId', reason: CONFLICT_REASON.withdrawn }] }
          : { message: 'This messageId was already delivered with different content', details: [{ field: 'messageId', reason: CONFLICT_REASON.content }] },
      );
    }
    // Valid, but refused by the database (see ReferralIntakeService.store): 400 naming the field.
    if (result.outcome === 'invalid') throw new InvalidBodyException(result.errors);
    if (result.outcome !== 'created' && result.outcome !== 'duplicate') throw new Error('unexpected intake outcome');
    void reply.status(STATUS[result.outcome]);
    return result.referral;
  }

  @Post('batch')
  @HttpCode(200)
  @Roles('referral-service')
  @ApiOperation({
    summary: 'Deliver up to 1,000 referral messages',
    description: 'Not all-or-nothing: each message gets its own outcome, with the status the single route would have answered.',
  })
  @ApiOkResponse({ type: BatchResponseDto })
  async deliverBatch(@Body() body: ReferralBatchDto, @CurrentPrincipal() caller: Principal): Promise<BatchResponseDto> {
    const results: BatchItemResultDto[] = new Array(body.messages.length);
    const valid: { index: number; msg: ReferralMessageDto }[] = [];
    body.messages.forEach((plain, index) => {
      const v = this.intake.validate(plain, caller);
      if ('msg' in v) valid.push({ index, msg: v.msg });
      else {
        const messageId = (plain as { messageId?: unknown })?.messageId;
        results[index] = {
          index,
          // Echoed only when it passed its own rule (so never a BSN, a NUL, an over-long text).
          messageId: typeof messageId === 'string' && !v.errors.some((e) => e.field === 'messageId') && messageId.length <= 128 ? messageId : undefined,
          outcome: v.outcome,
          status: STATUS[v.outcome],
          errors: v.errors,
        };
      }
    });
    const stored = await this.intake.store(
      valid.map((v) => v.msg),
      caller,
    );
    stored.forEach((r, k) => {
      const { index, msg } = valid[k];
      results[index] = {
        index,
        messageId: msg.messageId,
        outcome: r.outcome,
        status: STATUS[r.outcome],
        referralId: 'referral' in r ? r.referral.id : undefined,
        errors:
          r.outcome === 'conflict'
            ? [{ field: 'messageId', reason: r.withdrawn ? CONFLICT_REASON.withdrawn : CONFLICT_REASON.content }]
            : // Valid, but refused by the database: this message only (see ReferralIntakeService.store).
              r.outcome === 'invalid'
              ? r.errors
              : undefined,
      };
    });
    const summary = { created: 0, duplicate: 0, conflict: 0, invalid: 0, forbidden: 0 };
    for (const r of results) summary[r.outcome as keyof typeof summary]++;
    return { summary, results };
  }

  @Get(':id')
  @Roles(...INSURER_STAFF)
  @ApiOperation({ summary: 'Read a referral of your own insurer (BSN masked) and its processing state' })
  @ApiOkResponse({ type: ReferralViewDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such referral for your organisation' })
  get(
    @Param(
      'id',
      new ParseUUIDPipe({
        exceptionFactory: () => new BadRequestException({ message: 'The referral id is invalid', details: [{ field: 'id', reason: 'must be a UUID' }] }),
      }),
    )
    id: string,
    @CurrentPrincipal() caller: Principal,
  ): Promise<ReferralViewDto> {
    return this.staffReads.read(id, caller);
  }
}
