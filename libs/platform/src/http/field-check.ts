/**
 * One decorator per field: a pure check returns the reason a value is refused, or null. This
 * keeps every rule in one readable function and every error message in the caller's terms.
 */
import { registerDecorator, ValidationArguments } from 'class-validator';

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
          const reason = rule(value, args.object);
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
  // Postgres cannot store NUL in text: refused here (a control character), naming the field, instead of failing the statement.
  string: (v: unknown) => (typeof v !== 'string' ? 'must be a string' : v.includes('\u0000') ? 'must not contain control characters' : null),
  length:
    (min: number, max: number): FieldRule =>
    (v) =>
      typeof v === 'string' && (v.length < min || v.length > max) ? `must be ${min}–${max} characters long` : null,
  pattern:
    (re: RegExp, reason: string): FieldRule =>
    (v) =>
      typeof v === 'string' && !re.test(v) ? reason : null,
  optional:
    (r: FieldRule): FieldRule =>
    (v, o) =>
      v === undefined ? null : r(v, o),
};
