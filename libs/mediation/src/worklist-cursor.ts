/**
 * The worklist's page cursor (nextCursor): base64url of the last row's sort keys. Decoded here,
 * value by value, so that a forged cursor is a 400 naming `cursor` and never a database error.
 */
import { BadRequestException } from '@nestjs/common';
import { isIsoDate } from '@app/core';

/** A cursor's values, as WorklistService.list writes them. */
export interface TaskCursor {
  s: 'priority' | 'due' | 'created';
  p: number;
  d: string;
  c: string;
  id: string;
}

const CURSOR_TEXT = /^[A-Za-z0-9_-]{1,512}$/;
const CREATED_EXACT = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const CURSOR_REASON = 'is not a cursor of this listing (pass nextCursor unchanged, with the same sort)';

/**
 * Decodes a worklist cursor, checking every value against what the statement casts it to — the
 * priority a whole number 1–5 (the column's range; 2^40 or 1e300 passed Number.isInteger and broke
 * the ::int cast with a 500), the due date a calendar date from 1900, the creation time an instant
 * from 1900 (year 0 broke ::timestamptz), the id a UUID — or refuses it with 400 naming `cursor`.
 */
export function decodeTaskCursor(cursor: unknown, sort: string): TaskCursor {
  const bad = () => new BadRequestException({ message: 'The cursor is invalid', details: [{ field: 'cursor', reason: CURSOR_REASON }] });
  if (typeof cursor !== 'string' || !CURSOR_TEXT.test(cursor)) throw bad();
  let c: Partial<TaskCursor> | null;
  try {
    c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<TaskCursor> | null;
  } catch {
    throw bad();
  }
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw bad();
  const created = typeof c.c === 'string' ? CREATED_EXACT.exec(c.c) : null;
  const valid =
    c.s === sort &&
    (sort === 'priority' || sort === 'due' || sort === 'created') &&
    Number.isInteger(c.p) &&
    (c.p as number) >= 1 &&
    (c.p as number) <= 5 &&
    isIsoDate(c.d) &&
    created !== null &&
    Number(created[1]) >= 1900 &&
    !Number.isNaN(Date.parse(c.c as string)) &&
    typeof c.id === 'string' &&
    UUID.test(c.id);
  if (!valid) throw bad();
  return c as TaskCursor;
}
