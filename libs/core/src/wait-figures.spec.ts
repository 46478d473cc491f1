import { isFutureMonth, isStaleMonth, oldestCurrentMonth } from './wait-figures';

describe('current waiting-time figures', () => {
  it('count for the current month and the two before it', () => {
    expect(oldestCurrentMonth('2026-11-23')).toBe('2026-09-01');
    expect(isStaleMonth('2026-11', '2026-11-23')).toBe(false);
    expect(isStaleMonth('2026-09', '2026-11-23')).toBe(false);
    expect(isStaleMonth('2026-08', '2026-11-23')).toBe(true);
  });

  it('cross a year boundary', () => {
    expect(oldestCurrentMonth('2027-01-01')).toBe('2026-11-01');
    expect(oldestCurrentMonth('2027-02-28')).toBe('2026-12-01');
    expect(isStaleMonth('2026-10', '2027-01-15')).toBe(true);
  });

  it('knows a future month', () => {
    expect(isFutureMonth('2026-12', '2026-11-30')).toBe(true);
    expect(isFutureMonth('2026-11', '2026-11-30')).toBe(false);
  });

  it('refuses a malformed date instead of guessing', () => {
    expect(() => oldestCurrentMonth('2026-13-01')).toThrow();
  });
});
