/** Path-parameter checks that answer 400 naming the parameter, in the one error shape. */
import { BadRequestException, ParseUUIDPipe, PipeTransform } from '@nestjs/common';
import { isValidAgb } from '@app/core';

export function uuidParam(field = 'id'): ParseUUIDPipe {
  return new ParseUUIDPipe({
    exceptionFactory: () => new BadRequestException({ message: `The ${field} is invalid`, details: [{ field, reason: 'must be a UUID' }] }),
  });
}

export class AgbParamPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isValidAgb(value)) throw new BadRequestException({ message: 'The AGB code is invalid', details: [{ field: 'agb', reason: 'must be 8 digits' }] });
    return value;
  }
}
