/** Calendar dates as ISO strings (YYYY-MM-DD). The clock is always passed in, never read. */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date in YYYY-MM-DD form (rejects 2026-02-30). */
export function isIsoDate(raw: unknown): raw is string {
  if (typeof raw !== 'string') return false;
  const m = ISO_DATE.exec(raw);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1900 || mo < 1 || mo > 12 || d < 1) return false;
  const dt = new Date(Date.UTC(y, mo - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d;
}

/**
 * An ISO 8601 timestamp with an explicit offset (Z or ±hh:mm) that denotes a real instant,
 * e.g. 2026-03-01T09:30:00+01:00. A zone is required: a consent time without one is ambiguous.
 */
const ISO_DATETIME = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

export function isIsoDateTime(raw: unknown): raw is string {
  if (typeof raw !== 'string') return false;
  const m = ISO_DATETIME.exec(raw);
  return !!m && isIsoDate(m[1]) && !Number.isNaN(Date.parse(raw));
}

/** The calendar date in Europe/Amsterdam at the given instant: the date Dutch users mean by "today". */
// en-CA formats as YYYY-MM-DD. Built once: constructing a DateTimeFormat is costly.
const AMSTERDAM_DAY = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/Amsterdam',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

export function amsterdamDate(instant: Date): string {
  return AMSTERDAM_DAY.format(instant);
}

const AMSTERDAM_HOUR = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Amsterdam', hour: '2-digit', hourCycle: 'h23' });

/** The hour of the day (0–23) in Europe/Amsterdam at an instant. */
export function amsterdamHour(instant: Date): number {
  return Number(AMSTERDAM_HOUR.format(instant));
}

/**
 * The instant a calendar day (YYYY-MM-DD) begins in Europe/Amsterdam, as ISO 8601. Amsterdam is
 * UTC+1 or UTC+2: the midnight is whichever of the two candidates reads 00:00 of that day there
 * (on the days the clocks change, the offset at midnight is the one before the change).
 */
export function amsterdamMidnight(day: string): string {
  const utcMidnight = Date.parse(`${day}T00:00:00Z`);
  for (const hours of [1, 2]) {
    const candidate = new Date(utcMidnight - hours * 3_600_000);
    if (amsterdamDate(candidate) === day && amsterdamHour(candidate) === 0) return candidate.toISOString();
  }
  throw new Error(`no Amsterdam midnight found for ${day}`);
}

/** The calendar day `days` days after `day` (YYYY-MM-DD); negative for before. */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** The calendar day after `day` (YYYY-MM-DD). */
export function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
