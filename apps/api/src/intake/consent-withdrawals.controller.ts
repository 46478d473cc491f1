/** Withdrawing consent: the referral service, or the insurer on the patient's request. */
import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, ErrorResponseDto, Principal, Roles } from '@app/platform';
import { ConsentWithdrawalDto, ConsentWithdrawalService, WithdrawalReceipt } from '@app/mediation';

@ApiTags('referrals')
@Controller('v1/consent-withdrawals')
export class ConsentWithdrawalsController {
  constructor(private readonly withdrawals: ConsentWithdrawalService) {}

  @Post()
  @HttpCode(200)
  @Roles('referral-service', 'mediation-lead')
  @ApiOperation({
    summary: 'Withdraw the consent of a referral (by referralId or messageId)',
    description:
      'Erases the BSN (ciphertext, blind index) and everything derived from it, closes an open mediation task with outcome consent-withdrawn, ' +
      'and makes queued work a no-op; only anonymous counts remain. Idempotent: a repeat answers 200 with alreadyWithdrawn: true. ' +
      'A re-delivery of the same message is refused (409).',
  })
  @ApiOkResponse({ description: '{ referralId, messageId, uzovi, status: "withdrawn", withdrawnAt, tasksClosed, alreadyWithdrawn }' })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such referral for your organisation' })
  withdraw(@Body() body: ConsentWithdrawalDto, @CurrentPrincipal() caller: Principal): Promise<WithdrawalReceipt> {
    if (body.messageId !== undefined && body.uzovi === undefined && caller.uzovis.length > 1) {
      throw new BadRequestException({
        message: 'The withdrawal is ambiguous',
        details: [{ field: 'uzovi', reason: 'is required with messageId when your token acts for more than one insurer' }],
      });
    }
    if (body.uzovi !== undefined && !caller.uzovis.includes(body.uzovi)) {
      throw new BadRequestException({ message: 'The withdrawal is invalid', details: [{ field: 'uzovi', reason: 'is not an insurer your token acts for' }] });
    }
    return this.withdrawals.withdraw(body, caller);
  }
}
