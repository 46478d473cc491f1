import fc from 'fast-check';
import { amsterdamDate, isIsoDate, isIsoDateTime } from './dates';

describe('isIsoDate', () => {
  it.each(['2026-01-01', '2024-02-29', '2026-12-31'])('accepts %s', (d) => expect(isIsoDate(d)).toBe(true));
  it.each(['2026-02-29', '2026-02-30', '2026-13-01', '2026-00-10', '2026-1-01', '26-01-01', '2026-01-01T00:00:00Z', '', '1800-01-01'])('refuses %s', (d) =>
    expect(isIsoDate(d)).toBe(false),
  );
  it('property: agrees with the calendar for every day 1900–2100', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2100-12-31T00:00:00Z'), noInvalidDate: true }), (d) => {
        expect(isIsoDate(d.toISOString().slice(0, 10))).toBe(true);
      }),
    );
  });
});

describe('isIsoDateTime', () => {
  it.each(['2026-03-01T09:30:00Z', '2026-03-01T09:30:00.123+01:00', '2026-03-01T09:30+02:00'])('accepts %s', (d) => expect(isIsoDateTime(d)).toBe(true));
  it.each(['2026-03-01T09:30:00', '2026-03-01', '2026-02-30T09:30:00Z', '2026-03-01T24:00:00Z', 'yesterday'])('refuses %s', (d) => expect(isIsoDateTime(d)).toBe(false));
});

describe('amsterdamDate', () => {
  it('uses the Dutch calendar day, not UTC', () => {
    // 23:30 UTC on 31 Dec is already 1 Jan in Amsterdam (CET, UTC+1).
    expect(amsterdamDate(new Date('2025-12-31T23:30:00Z'))).toBe('2026-01-01');
    // Summer time: UTC+2.
    expect(amsterdamDate(new Date('2026-06-30T22:30:00Z'))).toBe('2026-07-01');
    expect(amsterdamDate(new Date('2026-06-30T21:30:00Z'))).toBe('2026-06-30');
  });
});
