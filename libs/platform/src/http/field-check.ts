/**
 * One decorator per field: a pure check returns the reason a value is refused, or null. This
 * keeps every rule in one readable function and every error message in the caller's terms.
 */
import { registerDecorator, ValidationArguments } from 'class-validator';
import { containsBsnLike } from '@app/core';

export type FieldRule = (value: unknown, object: object) => string | null;

export function Field(rule: FieldRule): PropertyDecorator {
  return (target, propertyName) => {
    const reasons = new WeakMap<object, string>();
    registerDecorator({
      name: 'field',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate(value: unknown, args: ValidationArguments) {
          // Postgres refuses NUL in text: refused for every field its own rule lets through.
          const reason = rule(value, args.object) ?? nulProblem(value);
          if (reason) reasons.set(args.object, reason);
          return reason === null;
        },
        defaultMessage(args: ValidationArguments) {
          return reasons.get(args.object) ?? 'is invalid';
        },
      },
    });
  };
}

export const NUL_REASON = 'must not contain NUL characters (U+0000)';

/** NUL in a string, or in a string item of an array: never valid anywhere (Postgres refuses it in text). */
export function nulProblem(value: unknown): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? NUL_REASON : null;
  if (Array.isArray(value)) return value.some((v) => typeof v === 'string' && v.includes('\u0000')) ? NUL_REASON : null;
  return null;
}

export const BSN_LIKE_REASON = 'must not hold a BSN or another number that passes the elfproef, in any notation (a BSN belongs in the bsn field only)';

/** Common rules, composable: the first that fails gives the reason. */
export const rules = {
  all:
    (...rs: FieldRule[]): FieldRule =>
    (v, o) => {
      for (const r of rs) {
        const reason = r(v, o);
        if (reason) return reason;
      }
      return null;
    },
  required: (v: unknown) => (v === undefined || v === null ? 'is required' : null),
  string: (v: unknown) => (typeof v === 'string' ? null : 'must be a string'),
  length:
    (min: number, max: number): FieldRule =>
    (v) =>
      typeof v === 'string' && (v.length < min || v.length > max) ? `must be ${min}–${max} characters long` : null,
  pattern:
    (re: RegExp, reason: string): FieldRule =>
    (v) =>
      typeof v === 'string' && !re.test(v) ? reason : null,
  /**
   * Free text (reasons, notes, ids, references): no BSN in any notation — spaces, dots, dashes,
   * full-width or other Unicode digits (containsBsnLike). Every field a client fills in that is not
   * the BSN itself carries this rule.
   */
  noBsn: (v: unknown) => (containsBsnLike(v) ? BSN_LIKE_REASON : null),
  optional:
    (r: FieldRule): FieldRule =>
    (v, o) =>
      v === undefined ? null : r(v, o),
};

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Whether a caller's X-Request-Id is kept (else the API makes one): 1–64 of A–Z a–z 0–9 . _ -,
 * and no BSN-like number in any notation — the id is logged with every line of the request and
 * echoed in every answer, so "123.456.782" there would be a BSN in the logs.
 */
export function acceptableRequestId(given: unknown): given is string {
  return typeof given === 'string' && REQUEST_ID.test(given) && !containsBsnLike(given);
}
