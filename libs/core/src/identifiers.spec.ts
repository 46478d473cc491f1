import fc from 'fast-check';
import { bsnProblem, containsBsnLike, findBsnLike, hasDigitRun, isValidAgb, isValidBsn, isValidUzovi, maskBsn, maskBsnLike, normaliseBsn, syntheticBsn } from './identifiers';

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

describe('BSN-like numbers in any notation (containsBsnLike, findBsnLike, maskBsnLike)', () => {
  const bsn = '123456782'; // synthetic, valid by the elfproef
  const short = '12345672'; // 8-digit form of 012345672, valid with the leading zero
  const fullWidth = (s: string) => s.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)));
  const arabicIndic = (s: string) => s.replace(/\d/g, (d) => String.fromCharCode(0x0660 + Number(d)));
  const mathBold = (s: string) => s.replace(/\d/g, (d) => String.fromCodePoint(0x1d7ce + Number(d)));
  const mathMonospace = (s: string) => s.replace(/\d/g, (d) => String.fromCodePoint(0x1d7f6 + Number(d)));

  it.each([
    ['plain', bsn],
    ['8 digits', short],
    ['spaces 3-3-3', '123 456 782'],
    ['dots 4-2-3', '1234.56.782'],
    ['dashes', '123-456-782'],
    ['underscores', '123_456_782'],
    ['slashes', '123/456/782'],
    ['NBSP', '123\u00a0456\u00a0782'],
    ['narrow NBSP and thin space', '123\u202f456\u2009782'],
    ['spaced dashes', '123 - 456 - 782'],
    ['en dash', '123\u2013456\u2013782'],
    ['one digit per group', '1 2 3 4 5 6 7 8 2'],
    ['full-width digits', fullWidth(bsn)],
    ['full-width digits and separators', '１２３．４５６．７８２'],
    ['Arabic-Indic digits', arabicIndic(bsn)],
    ['mathematical bold digits (astral)', mathBold(bsn)],
    ['mathematical monospace digits (a later run of ten)', mathMonospace(bsn)],
    ['mixed scripts', `${fullWidth('123')} 456 ${arabicIndic('782')}`],
    ['8 digits with separators', '1234 5672'],
  ])('finds %s', (_name, notation) => {
    for (const text of [notation, `BSN: ${notation}.`, `patient ${notation} belde`, `x${notation}x`]) {
      expect(containsBsnLike(text)).toBe(true);
    }
    expect(findBsnLike(`call about ${notation} today`)[0].digits).toBe(notation.length === 8 || notation === '1234 5672' ? short : bsn);
  });

  it.each([
    ['fails the elfproef', '123456789'],
    ['fails the elfproef, spaced', '123 456 789'],
    ['too short', '1234567'],
    ['part of a longer number', '1234567820'],
    ['part of a longer spaced number', '1123 456 7820'],
    ['a UUID whose first group is digits', '12345678-2b7d-4c1e-9a55-0d2f6b8e4a10'],
    ['a UUID', '6f1c2a9e-3b7d-4c1e-9a55-0d2f6b8e4a10'],
    ['a SHA-256 in hex', 'a1b2c3d4123456782e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d'],
    ['an ISO date', 'referred on 2026-11-20'],
    ['separators too wide', '123    456    782'],
    ['no digits', 'Patient called asking for a shorter wait'],
  ])('does not count %s', (_name, text) => {
    expect(containsBsnLike(text)).toBe(false);
  });

  it('with wordBoundary, runs touching a letter do not count (as in the log scan)', () => {
    expect(containsBsnLike(`ab${bsn}`, { wordBoundary: true })).toBe(false);
    expect(containsBsnLike(`"id":"${bsn}"`, { wordBoundary: true })).toBe(true);
    expect(containsBsnLike('"reason":"123 456 782"', { wordBoundary: true })).toBe(true);
  });

  it('finds a BSN beside other digit groups', () => {
    // A trailing group that makes the whole run too long does not hide the BSN before it.
    expect(containsBsnLike(`${bsn} 12`)).toBe(true);
    expect(containsBsnLike(`12-${bsn}`)).toBe(true);
  });

  it('masks every hit, keeping the last four digits and the rest of the text', () => {
    expect(maskBsnLike('a 123 456 782 b １２３４５６７８２ c')).toBe('a *****6782 b *****6782 c');
    expect(maskBsnLike('nothing here 2026-11-20')).toBe('nothing here 2026-11-20');
  });

  it('finds every synthetic BSN in every notation (property)', () => {
    const notations = fc.constantFrom<(d: string) => string>(
      (d) => d,
      (d) => `${d.slice(0, 3)} ${d.slice(3, 6)} ${d.slice(6)}`,
      (d) => `${d.slice(0, 4)}.${d.slice(4, 6)}.${d.slice(6)}`,
      (d) => d.split('').join('-'),
      (d) => `${d.slice(0, 3)}\u00a0${d.slice(3, 6)}\u00a0${d.slice(6)}`,
      fullWidth,
      arabicIndic,
    );
    fc.assert(
      fc.property(fc.integer({ min: 10_000_000, max: 99_999_999 }), notations, fc.constantFrom('', 'bsn ', 'x', 'reden: '), (seed, write, prefix) => {
        const text = `${prefix}${write(syntheticBsn(seed))} `;
        expect(findBsnLike(text).some((h) => isValidBsn(h.digits))).toBe(true);
        expect(containsBsnLike(maskBsnLike(text))).toBe(false);
      }),
    );
  });

  it('is linear: a long text of digit groups is scanned quickly', () => {
    const text = '12 '.repeat(50_000) + '１'.repeat(20_000);
    const t0 = Date.now();
    containsBsnLike(text);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('counts digit runs in any script (hasDigitRun)', () => {
    expect(hasDigitRun('mediator-12345678', 8)).toBe(true);
    expect(hasDigitRun(fullWidth('12345678'), 8)).toBe(true);
    expect(hasDigitRun('mediator-1234567', 8)).toBe(false);
  });
});
