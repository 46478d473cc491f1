import { randomUUID } from 'node:crypto';
import { BadRequestException } from '@nestjs/common';
import { decodeTaskCursor } from './worklist-cursor';

const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const base = { s: 'priority', p: 3, d: '2026-01-05', c: '2026-01-05T09:30:00.123456Z', id: randomUUID() };

function refusal(cursor: unknown, sort = 'priority'): unknown {
  try {
    decodeTaskCursor(cursor, sort);
  } catch (e) {
    expect(e).toBeInstanceOf(BadRequestException);
    return ((e as BadRequestException).getResponse() as { details: unknown }).details;
  }
  throw new Error('not refused');
}

describe('decodeTaskCursor', () => {
  it('takes the cursors the worklist writes, for every sort', () => {
    for (const s of ['priority', 'due', 'created']) expect(decodeTaskCursor(enc({ ...base, s }), s)).toEqual({ ...base, s });
  });

  it.each([
    ['a priority beyond int range', { ...base, p: 2 ** 40 }],
    ['a priority beyond double precision', { ...base, p: 1e300 }],
    ['a negative priority', { ...base, p: -1 }],
    ['priority 0', { ...base, p: 0 }],
    ['priority 6', { ...base, p: 6 }],
    ['a fractional priority', { ...base, p: 1.5 }],
    ['a priority as text', { ...base, p: '1' }],
    ['a due date beyond the calendar', { ...base, d: '99999-01-01' }],
    ['a due date in year 0', { ...base, d: '0000-01-01' }],
    ['a creation time in year 0', { ...base, c: '0000-01-01T00:00:00.000000Z' }],
    ['a creation time not exact', { ...base, c: '2026-01-05T09:30:00Z' }],
    ['an id that is no UUID', { ...base, id: '1; DROP TABLE referral' }],
    ['another sort', { ...base, s: 'due' }],
    ['no object', 42],
    ['null', null],
    ['an array', [base]],
  ])('refuses %s with 400 naming cursor', (_name, value) => {
    expect(refusal(enc(value))).toEqual([{ field: 'cursor', reason: expect.stringMatching(/not a cursor/) }]);
  });

  it.each([
    ['not base64url', '!!!'],
    ['base64 of no JSON', enc('{nope')],
    ['empty', ''],
    ['longer than any cursor', 'A'.repeat(513)],
    ['not a string', ['a', 'b']],
    ['a NUL', 'ab\u0000'],
  ])('refuses text that is %s', (_name, cursor) => {
    expect(refusal(cursor)).toEqual([{ field: 'cursor', reason: expect.any(String) }]);
  });
});
