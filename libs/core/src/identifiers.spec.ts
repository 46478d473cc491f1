import fc from 'fast-check';
import { bsnProblem, isValidAgb, isValidBsn, isValidUzovi, maskBsn, normaliseBsn, syntheticBsn } from './identifiers';

describe('BSN elfproef', () => {
  it.each(['111222333', '123456782'])('accepts the documented valid number %s', (bsn) => {
    expect(isValidBsn(bsn)).toBe(true);
  });

  it.each([
    ['999999999', 'documented invalid'],
    ['123456789', 'wrong check digit'],
    ['000000000', 'sum is zero'],
    ['12345678a', 'non-digit'],
    ['1234567', 'too short'],
    ['1234567890', 'too long'],
    ['', 'empty'],
    [' 11122233', 'leading space'],
  ])('refuses %s (%s)', (bsn) => {
    expect(isValidBsn(bsn)).toBe(false);
  });

  it('treats an 8-digit BSN as having a leading zero', () => {
    const nine = syntheticBsn(1234567); // starts with 0
    expect(nine).toMatch(/^0\d{8}$/);
    expect(isValidBsn(nine.slice(1))).toBe(true);
    expect(normaliseBsn(nine.slice(1))).toBe(nine);
    expect(normaliseBsn('123456782')).toBe('123456782');
  });

  it('computes the weighted sum exactly as specified (9..2, -1)', () => {
    // 123456782: 9+16+21+24+25+24+21+16-2 = 154 = 14 × 11
    expect(isValidBsn('123456782')).toBe(true);
    expect(isValidBsn('123456783')).toBe(false);
  });

  it('property: every synthetic BSN passes, and changing one digit breaks it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999 }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 9 }), (seed, pos, delta) => {
        const bsn = syntheticBsn(seed);
        expect(isValidBsn(bsn)).toBe(true);
        const d = (Number(bsn[pos]) + delta) % 10;
        const changed = bsn.slice(0, pos) + d + bsn.slice(pos + 1);
        // A single-digit change moves the weighted sum by weight×delta, never a multiple of 11.
        expect(isValidBsn(changed)).toBe(false);
      }),
    );
  });

  it('property: a transposition of two adjacent different digits is caught', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999 }), fc.integer({ min: 0, max: 7 }), (seed, pos) => {
        const bsn = syntheticBsn(seed);
        fc.pre(bsn[pos] !== bsn[pos + 1]);
        const swapped = bsn.slice(0, pos) + bsn[pos + 1] + bsn[pos] + bsn.slice(pos + 2);
        expect(isValidBsn(swapped)).toBe(false);
      }),
    );
  });

  it('explains refusals without echoing the number', () => {
    expect(bsnProblem(123456782)).toMatch(/string/);
    expect(bsnProblem('12-34')).toBe('must be 8 or 9 digits');
    expect(bsnProblem('999999999')).toMatch(/elfproef/);
    expect(bsnProblem('999999999')).not.toContain('999999999');
    expect(bsnProblem('123456782')).toBeNull();
  });

  it('masks all but the last four digits', () => {
    expect(maskBsn('123456782')).toBe('*****6782');
    expect(maskBsn('12345678')).toBe('*****5678');
  });
});

describe('AGB and UZOVI', () => {
  it('AGB is exactly 8 digits', () => {
    expect(isValidAgb('94012345')).toBe(true);
    for (const bad of ['9401234', '940123456', '9401234a', 94012345, null, '']) expect(isValidAgb(bad)).toBe(false);
  });
  it('UZOVI is exactly 4 digits', () => {
    for (const ok of ['3311', '7095', '7119', '3332']) expect(isValidUzovi(ok)).toBe(true);
    for (const bad of ['331', '33111', '33a1', 3311, undefined]) expect(isValidUzovi(bad)).toBe(false);
  });
});
