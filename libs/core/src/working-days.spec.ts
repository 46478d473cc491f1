import fc from 'fast-check';
import {
  MAX_WORKING_DAYS,
  addWorkingDays,
  dutchPublicHolidays,
  easterSunday,
  isDutchPublicHoliday,
  isWorkingDay,
  namedDutchPublicHolidays,
  workingDaysBetween,
} from './working-days';

const DAY = 86_400_000;
const dayOf = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) / DAY;
const isoOf = (day: number): string => new Date(day * DAY).toISOString().slice(0, 10);
const nextDay = (iso: string): string => isoOf(dayOf(iso) + 1);

// Dates from 1900 well into the future, plus a dense band around today for realistic cases.
const anyDate = fc.oneof(
  fc.integer({ min: dayOf('1900-02-01'), max: dayOf('9990-12-31') }).map(isoOf), // room for spans of -10 days
  fc.integer({ min: dayOf('2020-01-01'), max: dayOf('2035-12-31') }).map(isoOf),
);
const steps = fc.integer({ min: 0, max: MAX_WORKING_DAYS });

/** Day-by-day reference for workingDaysBetween. */
function countByWalking(from: string, to: string): number {
  let count = 0;
  for (let d = nextDay(from); d <= to; d = nextDay(d)) if (isWorkingDay(d)) count++;
  return count;
}

describe('easterSunday', () => {
  it.each([
    [2024, '2024-03-31'],
    [2025, '2025-04-20'],
    [2026, '2026-04-05'],
    [2027, '2027-03-28'],
    [2038, '2038-04-25'],
    [2285, '2285-03-22'],
    [1943, '1943-04-25'],
    [2000, '2000-04-23'],
  ])('Easter %i is %s', (year, date) => {
    expect(easterSunday(year)).toBe(date);
  });

  it('is always a Sunday between 22 March and 25 April', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1583, max: 9999 }), (year) => {
        const e = easterSunday(year);
        expect(new Date(`${e}T00:00:00Z`).getUTCDay()).toBe(0);
        expect(e.slice(5) >= '03-22' && e.slice(5) <= '04-25').toBe(true);
      }),
    );
  });

  it.each([1582, 10000, 2026.5, NaN])('rejects year %p', (year) => {
    expect(() => easterSunday(year)).toThrow(String(year));
  });
});

describe('dutchPublicHolidays', () => {
  it('lists the 2026 holidays exactly', () => {
    expect(dutchPublicHolidays(2026)).toEqual([
      '2026-01-01',
      '2026-04-05',
      '2026-04-06',
      '2026-04-27',
      '2026-05-05',
      '2026-05-14',
      '2026-05-24',
      '2026-05-25',
      '2026-12-25',
      '2026-12-26',
    ]);
  });

  it('moves Koningsdag to 26 April when 27 April is a Sunday', () => {
    expect(new Date('2025-04-27T00:00:00Z').getUTCDay()).toBe(0);
    expect(dutchPublicHolidays(2025)).toContain('2025-04-26');
    expect(dutchPublicHolidays(2025)).not.toContain('2025-04-27');
    expect(namedDutchPublicHolidays(2025)).toContainEqual({ date: '2025-04-26', name: 'Koningsdag' });
  });

  it('does not count Goede Vrijdag', () => {
    expect(isDutchPublicHoliday('2026-04-03')).toBe(false);
    expect(isWorkingDay('2026-04-03')).toBe(true);
  });

  it('lists a date once when two holidays coincide (Bevrijdingsdag = Hemelvaartsdag in 2016)', () => {
    expect(dutchPublicHolidays(2016).filter((d) => d === '2016-05-05')).toHaveLength(1);
    expect(dutchPublicHolidays(2016)).toHaveLength(9);
    expect(
      namedDutchPublicHolidays(2016)
        .filter((h) => h.date === '2016-05-05')
        .map((h) => h.name),
    ).toEqual(['Bevrijdingsdag', 'Hemelvaartsdag']);
  });

  it('returns sorted copies that callers cannot use to corrupt the cache', () => {
    const list = dutchPublicHolidays(2026);
    list.push('2026-07-01');
    expect(dutchPublicHolidays(2026)).toHaveLength(10);
    expect(isDutchPublicHoliday('2026-07-01')).toBe(false);
    fc.assert(
      fc.property(fc.integer({ min: 1900, max: 9999 }), (year) => {
        const days = dutchPublicHolidays(year);
        expect([...days].sort()).toEqual(days);
        expect(days.every((d) => d.startsWith(`${year}-`) && isDutchPublicHoliday(d))).toBe(true);
      }),
    );
  });

  it('rejects a bad year', () => {
    expect(() => dutchPublicHolidays(20.26)).toThrow('20.26');
  });
});

describe('isWorkingDay', () => {
  it('excludes weekends and holidays', () => {
    expect(isWorkingDay('2026-11-20')).toBe(true); // Friday
    expect(isWorkingDay('2026-11-21')).toBe(false); // Saturday
    expect(isWorkingDay('2026-11-22')).toBe(false); // Sunday
    expect(isWorkingDay('2026-04-27')).toBe(false); // Koningsdag, a Monday
    expect(isWorkingDay('2026-05-14')).toBe(false); // Hemelvaartsdag
  });

  it.each(['2026-02-30', '2026-1-01', '', 'gisteren', '1899-12-31'])('rejects %p naming it', (bad) => {
    expect(() => isWorkingDay(bad)).toThrow(JSON.stringify(bad));
    expect(() => isDutchPublicHoliday(bad)).toThrow(JSON.stringify(bad));
  });
});

describe('addWorkingDays', () => {
  it.each([
    ['2026-11-20', 1, '2026-11-23', 'skips a weekend'],
    ['2026-12-24', 1, '2026-12-28', 'skips Christmas (Fri/Sat) and the Sunday'],
    ['2026-04-03', 1, '2026-04-07', 'skips Easter Monday'],
    ['2026-04-24', 1, '2026-04-28', 'skips Koningsdag'],
    ['2026-05-13', 1, '2026-05-15', 'skips Hemelvaartsdag'],
    ['2026-12-31', 1, '2027-01-04', 'skips Nieuwjaarsdag across the year'],
    ['2026-11-16', 5, '2026-11-23', 'counts a full week'],
    ['2026-11-20', 0, '2026-11-20', 'n = 0 on a working day'],
    ['2026-11-21', 0, '2026-11-23', 'n = 0 on a Saturday'],
    ['2026-12-25', 0, '2026-12-28', 'n = 0 on Christmas'],
  ])('%s + %i = %s (%s)', (start, n, expected) => {
    expect(addWorkingDays(start, n as number)).toBe(expected);
  });

  it.each([-1, 1.5, MAX_WORKING_DAYS + 1, NaN, Infinity])('rejects n = %p', (n) => {
    expect(() => addWorkingDays('2026-11-20', n)).toThrow(String(n));
  });

  it('rejects a malformed start naming it', () => {
    expect(() => addWorkingDays('2026-13-01', 1)).toThrow('"2026-13-01"');
  });

  it('always lands on a working day, after start for n >= 1', () => {
    fc.assert(
      fc.property(anyDate, steps, (start, n) => {
        const end = addWorkingDays(start, n);
        expect(isWorkingDay(end)).toBe(true);
        if (n >= 1) expect(end > start).toBe(true);
        else expect(end >= start).toBe(true);
      }),
    );
  });

  // n ≥ 1: with n = 0 a non-working start moves to the next working day, one working day on.
  it('is inverted by workingDaysBetween', () => {
    fc.assert(
      fc.property(anyDate, fc.integer({ min: 1, max: 366 }), (start, n) => {
        expect(workingDaysBetween(start, addWorkingDays(start, n))).toBe(n);
      }),
    );
  });

  // Strictly from n = 1 on; n = 0 and n = 1 meet when the start is not a working day.
  it('is monotone in n', () => {
    fc.assert(
      fc.property(anyDate, steps, steps, (start, m, n) => {
        const [lo, hi] = m <= n ? [m, n] : [n, m];
        const a = addWorkingDays(start, lo);
        const b = addWorkingDays(start, hi);
        if (lo === hi) expect(a).toBe(b);
        else if (lo >= 1 || isWorkingDay(start)) expect(a < b).toBe(true);
        else expect(a <= b).toBe(true);
      }),
    );
  });
});

describe('workingDaysBetween', () => {
  it('counts working days after from, up to and including to', () => {
    expect(workingDaysBetween('2026-11-20', '2026-11-23')).toBe(1);
    expect(workingDaysBetween('2026-12-24', '2027-01-04')).toBe(5);
    expect(workingDaysBetween('2026-01-01', '2027-01-01')).toBe(254);
    expect(workingDaysBetween('2026-11-20', '2026-11-20')).toBe(0);
    expect(workingDaysBetween('2026-11-23', '2026-11-20')).toBe(0);
  });

  it('matches a day-by-day count', () => {
    fc.assert(
      fc.property(anyDate, fc.integer({ min: -10, max: 800 }), (from, span) => {
        const to = isoOf(dayOf(from) + span);
        expect(workingDaysBetween(from, to)).toBe(countByWalking(from, to));
      }),
      { numRuns: 200 },
    );
  });

  it('handles long spans quickly', () => {
    expect(workingDaysBetween('1900-01-01', '9999-12-31')).toBeGreaterThan(2_000_000);
  });

  it('rejects malformed dates naming them', () => {
    expect(() => workingDaysBetween('2026-02-29', '2026-03-01')).toThrow('"2026-02-29"');
    expect(() => workingDaysBetween('2026-03-01', '01-03-2026')).toThrow('"01-03-2026"');
  });
});
