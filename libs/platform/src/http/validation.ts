/**
 * Turns class-validator results into field-level details ("consent.scope": "must be …") and
 * offers one validation routine for the single route, the batch route and tests alike.
 */
import { ArgumentMetadata, BadRequestException, ValidationPipe } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError, ValidatorOptions } from 'class-validator';
import { maskBsnLike } from '@app/core';
import type { FieldErrorDto } from './error-response.dto';
import { NUL_REASON } from './field-check';

export const VALIDATOR_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  // One reason per field is enough and keeps messages readable.
  stopAtFirstError: true,
  validationError: { target: false, value: false },
};

/** At most `max` (MAX_REPORTED_DETAILS) details: a body with 10,000 wrong fields gets the first 100. */
export function toFieldErrors(errors: ValidationError[], prefix = '', max = MAX_REPORTED_DETAILS): FieldErrorDto[] {
  const out: FieldErrorDto[] = [];
  collect(errors, prefix, out, max);
  return out;
}

function collect(errors: ValidationError[], prefix: string, out: FieldErrorDto[], max: number): void {
  for (const e of errors) {
    if (out.length >= max) return;
    // A property name is the client's text (an unknown key is echoed): BSN-like numbers masked.
    const name = maskBsnLike(e.property);
    const field = prefix ? (/^\d+$/.test(name) ? `${prefix}[${name}]` : `${prefix}.${name}`) : name;
    for (const [rule, text] of Object.entries(e.constraints ?? {})) {
      if (out.length >= max) return;
      out.push({ field, reason: rule === 'whitelistValidation' ? 'is not an allowed field' : text });
    }
    if (e.children?.length) collect(e.children, field, out, max);
  }
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

/** Metatypes the validation pipe does not validate (no DTO class): their values are only NUL-checked here. */
const UNVALIDATED: unknown[] = [undefined, String, Boolean, Number, Array, Object, Buffer, Date];

/**
 * The first NUL character (U+0000) in a parsed value — a string, or a string or key anywhere in
 * a JSON object or array — named as toFieldErrors names fields; null when there is none.
 * Iterative (bodies are bounded in depth before they are parsed, but this must not rely on it).
 */
export function findNul(value: unknown, name = '(body)', anyObject = false): FieldErrorDto | null {
  // Parsed query strings and path parameters are objects of a prototype of Fastify's own.
  const container = anyObject ? (v: unknown): v is object => v !== null && typeof v === 'object' : isJsonContainer;
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return { field: path || name, reason: NUL_REASON };
    } else if (container(v)) {
      const array = Array.isArray(v);
      for (const [k, child] of Object.entries(v)) {
        const at = array ? `${path}[${k}]` : path ? `${path}.${k}` : k;
        if (k.includes('\u0000')) return { field: path || name, reason: 'must not have a key with NUL characters (U+0000)' };
        stack.push([child, at]);
      }
    }
  }
  return null;
}

/**
 * The global pipe: class-validator for DTOs (their fields refuse NUL themselves, see Field), and
 * before it a NUL check of every query and path parameter and of every body without a DTO class
 * (FHIR Bundles, registry imports, norm sets, JSON snapshots): Postgres refuses NUL in text, so a
 * NUL that reached a statement would fail it with a 500. A 400 names the field instead. A DTO
 * body is left to its fields, so a batch answers a NUL in one message for that message only.
 */
export class AppValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const kind = metadata.type;
    if (kind === 'query' || kind === 'param' || (kind === 'body' && UNVALIDATED.includes(metadata.metatype))) {
      const nul = findNul(value, metadata.data ?? (kind === 'body' ? '(body)' : `(${kind})`), kind !== 'body');
      if (nul) {
        const detail = { field: maskBsnLike(nul.field), reason: nul.reason };
        throw new InvalidBodyException([detail], kind === 'body' ? 'The request body is invalid' : kind === 'query' ? 'The query is invalid' : 'The path is invalid');
      }
    }
    return super.transform(value, metadata);
  }
}

export function createValidationPipe(): ValidationPipe {
  return new AppValidationPipe({
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

/** Bounds on a JSON body, checked on its bytes as they arrive, before it is parsed or validated. */
export interface JsonBounds {
  /** Deepest nesting of objects and arrays. */
  depth: number;
  /** Most members one object may have. */
  objectKeys: number;
  /** Most object members in the whole body (0 = no bound beyond the body limit). */
  totalKeys: number;
  /** Most items one array may have (0 = no bound beyond the body limit). */
  arrayItems: number;
  /** Longest string (key or value), in bytes as sent (escapes count as written). */
  stringBytes: number;
}

/**
 * The default bounds, sized on the largest legitimate bodies: a referral batch of 1,000 messages
 * (~14 members each, ~14,000 in all), a wait-time report of 5,000 figures (~20,000 members), a FHIR
 * Bundle (a few hundred). Bulk routes (the JSON snapshot upload) lift totalKeys and arrayItems.
 */
export const JSON_BOUNDS: JsonBounds = { depth: MAX_BODY_DEPTH, objectKeys: 256, totalKeys: 25_000, arrayItems: 10_000, stringBytes: 64 * 1024 };

/** Most field problems one answer lists (a body can hold tens of thousands of wrong fields). */
export const MAX_REPORTED_DETAILS = 100;

interface Frame {
  object: boolean;
  /** Members (object) or items (array) so far. */
  count: number;
  /** Object: the next string is a key. Array: the next value starts an item. */
  expect: boolean;
  /**
   * Object: where the current member's key is, undecoded (decoded only to name a field): its
   * first bytes from earlier chunks (`keyHead`, rare) and then `keyChunk[keyStart, keyEnd)`.
   */
  keyHead: Buffer | undefined;
  keyChunk: Uint8Array | undefined;
  keyStart: number;
  keyEnd: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
/** Longest part of a key used to name a field (keys up to stringBytes are allowed, not echoed whole). */
const KEY_NAME_BYTES = 64;

/**
 * Streaming check of a JSON body's shape against JsonBounds: one pass over the bytes (strings are
 * skipped with indexOf, keys are not decoded), stopping at the first bound exceeded, so a hostile
 * body costs at most the bytes read until then. It does not validate JSON (JSON.parse does,
 * afterwards): it tracks nesting, member and item counts and string lengths, and names the field.
 */
export class JsonBoundsScanner {
  private readonly stack: Frame[] = [];
  private totalKeys = 0;
  private inString = false;
  /** Whether the string being read is a key (of the innermost object). */
  private inKey = false;
  private escaped = false;
  private stringBytes = 0;
  /** The first bound exceeded. */
  problem: FieldErrorDto | undefined;

  constructor(private readonly bounds: JsonBounds = JSON_BOUNDS) {}

  /** Feeds the next bytes; returns false once a bound is exceeded (see `problem`). */
  write(buf: Uint8Array): boolean {
    if (this.problem) return false;
    const n = buf.length;
    const b = this.bounds;
    // Next backslash at or after i (n when none): found once per stretch, so the chunk is scanned for them once.
    let nextBackslash = -1;
    let i = 0;
    if (this.inString && this.inKey) this.carryKey(buf);
    while (i < n) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          this.stringBytes++;
          i++;
          continue;
        }
        if (nextBackslash < i) {
          nextBackslash = indexOf(buf, BACKSLASH, i);
        }
        const quote = indexOf(buf, QUOTE, i);
        const j = quote < nextBackslash ? quote : nextBackslash;
        this.stringBytes += j - i;
        if (this.stringBytes > b.stringBytes)
          return this.fail(this.inKey ? this.path(1) : this.path(), this.inKey ? `has a key longer than ${b.stringBytes} bytes` : `is longer than ${b.stringBytes} bytes`);
        if (j === n) break;
        if (j === nextBackslash) {
          this.escaped = true;
          this.stringBytes++;
          i = j + 1;
          continue;
        }
        // The closing quote.
        this.inString = false;
        i = j + 1;
        if (this.inKey) {
          this.inKey = false;
          const top = this.stack[this.stack.length - 1];
          top.keyEnd = j;
          top.count++;
          this.totalKeys++;
          if (top.count > b.objectKeys) return this.fail(this.path(1), `has more than ${b.objectKeys} members`);
          if (b.totalKeys > 0 && this.totalKeys > b.totalKeys) return this.fail('(body)', `has more than ${b.totalKeys} members in all`);
        }
        continue;
      }
      const c = buf[i++];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
      const top = this.stack[this.stack.length - 1] as Frame | undefined;
      if (c === COMMA) {
        if (top) top.expect = true;
        continue;
      }
      if (c === COLON) {
        if (top) top.expect = false;
        continue;
      }
      if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        this.stack.pop();
        continue;
      }
      // A value starts (or, in an object expecting one, a key).
      if (top && !top.object && top.expect) {
        top.expect = false;
        top.count++;
        if (b.arrayItems > 0 && top.count > b.arrayItems) return this.fail(this.path(1), `has more than ${b.arrayItems} items`);
      }
      if (c === QUOTE) {
        this.inString = true;
        this.stringBytes = 0;
        this.inKey = top !== undefined && top.object && top.expect;
        if (this.inKey) {
          top!.keyHead = undefined;
          top!.keyChunk = buf;
          top!.keyStart = i;
          top!.keyEnd = i;
        }
        continue;
      }
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        this.stack.push({ object: c === OPEN_OBJECT, count: 0, expect: true, keyHead: undefined, keyChunk: undefined, keyStart: 0, keyEnd: 0 });
        // Named as the body: the path of the 33rd level says nothing useful (and was always '(body)').
        if (this.stack.length > b.depth) return this.fail('(body)', `is nested deeper than ${b.depth} levels`);
      }
      // Numbers, true, false, null: nothing to bound (their length counts against the body limit).
    }
    if (this.inString && this.inKey) this.keepKeyHead(buf, n);
    return true;
  }

  /** A key runs on past the chunk: keep its first bytes (the chunk itself is not kept). */
  private keepKeyHead(buf: Uint8Array, end: number): void {
    const top = this.stack[this.stack.length - 1];
    const head = Buffer.concat([top.keyHead ?? Buffer.alloc(0), Buffer.from(buf.subarray(top.keyStart, end))]).subarray(0, KEY_NAME_BYTES);
    top.keyHead = head;
    top.keyChunk = undefined;
  }

  /** The next chunk of a key that began in an earlier one. */
  private carryKey(buf: Uint8Array): void {
    const top = this.stack[this.stack.length - 1];
    top.keyChunk = buf;
    top.keyStart = 0;
    top.keyEnd = 0;
  }

  private fail(field: string, reason: string): false {
    this.problem = { field, reason };
    return false;
  }

  /** The field path of the current position; `drop` innermost frames left out (to name a container). */
  private path(drop = 0): string {
    let out = '';
    const end = this.stack.length - drop;
    for (let d = 0; d < end; d++) {
      const f = this.stack[d];
      if (f.count === 0) break;
      if (f.object) {
        const key = keyName(f);
        out += out === '' ? key : `.${key}`;
      } else {
        out += `[${f.count - 1}]`;
      }
    }
    return out === '' ? '(body)' : out;
  }
}

/** indexOf on a Uint8Array that answers its length (not -1) when the byte is absent. */
function indexOf(buf: Uint8Array, byte: number, from: number): number {
  const at = buf.indexOf(byte, from);
  return at === -1 ? buf.length : at;
}

/** A frame's current key, decoded, cut to KEY_NAME_BYTES and with odd characters replaced. */
function keyName(f: Frame): string {
  const tail = f.keyChunk ? f.keyChunk.subarray(f.keyStart, Math.min(f.keyEnd, f.keyStart + KEY_NAME_BYTES)) : new Uint8Array(0);
  const raw = Buffer.concat([f.keyHead ?? Buffer.alloc(0), tail])
    .subarray(0, KEY_NAME_BYTES)
    .toString('utf8');
  let name: string;
  try {
    name = JSON.parse(`"${raw}"`) as string;
  } catch {
    // Cut inside an escape: named as sent.
    name = raw;
  }
  // Named as toFieldErrors names fields; characters other than these are not echoed.
  return name.replace(/[^\w.$@:-]/g, '_').slice(0, KEY_NAME_BYTES);
}
