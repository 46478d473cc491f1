import fc from 'fast-check';
import { addDays, amsterdamDate, amsterdamHour, amsterdamMidnight, isIsoDate, isIsoDateTime, nextDay } from './dates';

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

describe('Amsterdam time helpers', () => {
  it('finds the instant a day begins in Amsterdam, in winter and summer time and on both switch days', () => {
    expect(amsterdamMidnight('2026-01-15')).toBe('2026-01-14T23:00:00.000Z');
    expect(amsterdamMidnight('2026-07-15')).toBe('2026-07-14T22:00:00.000Z');
    expect(amsterdamMidnight('2026-03-29')).toBe('2026-03-28T23:00:00.000Z'); // clocks go forward at 02:00
    expect(amsterdamMidnight('2026-10-25')).toBe('2026-10-24T22:00:00.000Z'); // clocks go back at 03:00
  });

  it('gives the hour of the day in Amsterdam and the next calendar day', () => {
    expect(amsterdamHour(new Date('2026-07-14T22:30:00Z'))).toBe(0);
    expect(amsterdamHour(new Date('2026-01-14T22:30:00Z'))).toBe(23);
    expect(nextDay('2026-12-31')).toBe('2027-01-01');
    expect(nextDay('2028-02-28')).toBe('2028-02-29');
    // Calendar days, not 24-hour steps in a time zone: 26 weeks back across a DST change stays on the weekday.
    expect(addDays('2026-10-30', -182)).toBe('2026-05-01');
    expect(addDays('2026-03-28', 2)).toBe('2026-03-30');
  });
});
