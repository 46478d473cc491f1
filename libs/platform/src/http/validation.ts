/**
 * Turns class-validator results into field-level details ("consent.scope": "must be …") and
 * offers one validation routine for the single route, the batch route and tests alike.
 */
import { BadRequestException, ValidationPipe } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError, ValidatorOptions } from 'class-validator';
import type { FieldErrorDto } from './error-response.dto';

export const VALIDATOR_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  // One reason per field is enough and keeps messages readable.
  stopAtFirstError: true,
  validationError: { target: false, value: false },
};

export function toFieldErrors(errors: ValidationError[], prefix = ''): FieldErrorDto[] {
  const out: FieldErrorDto[] = [];
  for (const e of errors) {
    const field = prefix ? (/^\d+$/.test(e.property) ? `${prefix}[${e.property}]` : `${prefix}.${e.property}`) : e.property;
    for (const [rule, text] of Object.entries(e.constraints ?? {})) {
      out.push({ field, reason: rule === 'whitelistValidation' ? 'is not an allowed field' : text });
    }
    if (e.children?.length) out.push(...toFieldErrors(e.children, field));
  }
  return out;
}

export class InvalidBodyException extends BadRequestException {
  constructor(
    readonly details: FieldErrorDto[],
    message = 'The request body is invalid',
  ) {
    super({ message, details });
  }
}

/** Validates a plain value against a DTO class; returns the instance or the field errors. */
export function validatePlain<T extends object>(cls: new () => T, plain: unknown): { value: T } | { errors: FieldErrorDto[] } {
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) {
    return { errors: [{ field: '(body)', reason: 'must be a JSON object' }] };
  }
  const instance = plainToInstance(cls, plain);
  const errors = validateSync(instance, VALIDATOR_OPTIONS);
  return errors.length ? { errors: toFieldErrors(errors) } : { value: instance };
}

export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    ...VALIDATOR_OPTIONS,
    transform: true,
    exceptionFactory: (errors) => new InvalidBodyException(toFieldErrors(errors)),
  });
}

/** Deepest nesting of objects and arrays a JSON body may have (ours need about 5). */
export const MAX_BODY_DEPTH = 32;

/**
 * Whether a parsed body nests objects or arrays deeper than `max`. Iterative, so a hostile body
 * nested thousands deep cannot overflow the stack here (class-transformer, which the validation
 * pipe runs next, recurses and would).
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  if (!isJsonContainer(value)) return false;
  const stack: [object, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > max) return true;
    for (const child of Object.values(node)) if (isJsonContainer(child)) stack.push([child, depth + 1]);
  }
  return false;
}

/** A parsed JSON object or array; not a request stream (the body of a CSV or NDJSON upload). */
function isJsonContainer(v: unknown): v is object {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
