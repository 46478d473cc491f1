/**
 * Dutch working days: calendar dates (YYYY-MM-DD) that are neither a Saturday or Sunday nor a
 * public holiday. All arithmetic is on UTC calendar days; no clock is read.
 */
import { isIsoDate } from './dates';

const MS_PER_DAY = 86_400_000;
/** Years for which the Gregorian computus applies and dates still have four digits. */
const MIN_YEAR = 1583;
const MAX_YEAR = 9999;
/** Largest n accepted by addWorkingDays: a year of working days is far more than any deadline needs. */
export const MAX_WORKING_DAYS = 366;

/**
 * The days the Algemene termijnenwet (art. 3, BWBR0002448) puts on a par with Sunday:
 * Nieuwjaarsdag, de christelijke tweede Paas- en Pinksterdag, de beide Kerstdagen, Hemelvaartsdag,
 * de dag waarop de verjaardag van de Koning wordt gevierd, en 5 mei. Eerste Paas- en Pinksterdag
 * are listed too for completeness (they are Sundays anyway). Goede Vrijdag is NOT in the act, so it
 * is a working day here, even though some collective agreements give it off.
 */
export const DUTCH_HOLIDAY_NAMES = [
  'Nieuwjaarsdag',
  'Eerste Paasdag',
  'Tweede Paasdag',
  'Koningsdag',
  'Bevrijdingsdag',
  'Hemelvaartsdag',
  'Eerste Pinksterdag',
  'Tweede Pinksterdag',
  'Eerste Kerstdag',
  'Tweede Kerstdag',
] as const;
export type DutchHolidayName = (typeof DUTCH_HOLIDAY_NAMES)[number];

export interface DutchHoliday {
  date: string;
  name: DutchHolidayName;
}

function show(raw: unknown): string {
  // Strings are quoted so an empty or padded input stays visible; numbers keep NaN/Infinity.
  return typeof raw === 'string' ? JSON.stringify(raw) : String(raw);
}

function checkYear(year: number): void {
  if (!Number.isInteger(year) || year < MIN_YEAR || year > MAX_YEAR) {
    throw new Error(`Invalid year ${show(year)}: expected an integer from ${MIN_YEAR} to ${MAX_YEAR}`);
  }
}

/** Days since 1970-01-01 (UTC) of a date already checked with isIsoDate. */
function toDayNumber(date: string, label: string): number {
  if (!isIsoDate(date)) throw new Error(`Invalid ${label} ${show(date)}: expected a real date as YYYY-MM-DD`);
  return Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / MS_PER_DAY;
}

function fromDayNumber(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

function ymd(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) / MS_PER_DAY;
}

/** 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

function isWeekend(day: number): boolean {
  const w = weekday(day);
  return w === 0 || w === 6;
}

function easterDayNumber(year: number): number {
  // Anonymous Gregorian algorithm (Meeus/Jones/Butcher).
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return ymd(year, month, day);
}

/** Easter Sunday of a Gregorian year (1583–9999) as YYYY-MM-DD. */
export function easterSunday(year: number): string {
  checkYear(year);
  return fromDayNumber(easterDayNumber(year));
}

interface YearHolidays {
  named: readonly DutchHoliday[];
  dates: readonly string[];
  days: ReadonlySet<number>;
}

const holidayCache = new Map<number, YearHolidays>();

function holidaysOf(year: number): YearHolidays {
  const cached = holidayCache.get(year);
  if (cached) return cached;
  const easter = easterDayNumber(year);
  const april27 = ymd(year, 4, 27);
  // Koningsdag: 27 April, or Saturday 26 April when the 27th is a Sunday. This is the rule since
  // 2014; earlier years (Koninginnedag on 30 April) are not modelled.
  const koningsdag = weekday(april27) === 0 ? april27 - 1 : april27;
  const raw: Array<[number, DutchHolidayName]> = [
    [ymd(year, 1, 1), 'Nieuwjaarsdag'],
    [easter, 'Eerste Paasdag'],
    [easter + 1, 'Tweede Paasdag'],
    [koningsdag, 'Koningsdag'],
    [ymd(year, 5, 5), 'Bevrijdingsdag'],
    [easter + 39, 'Hemelvaartsdag'],
    [easter + 49, 'Eerste Pinksterdag'],
    [easter + 50, 'Tweede Pinksterdag'],
    [ymd(year, 12, 25), 'Eerste Kerstdag'],
    [ymd(year, 12, 26), 'Tweede Kerstdag'],
  ];
  // Stable sort keeps act order for days that coincide (Bevrijdingsdag and Hemelvaartsdag, e.g. 2016).
  raw.sort((x, y) => x[0] - y[0]);
  const named = Object.freeze(raw.map(([day, name]) => Object.freeze({ date: fromDayNumber(day), name })));
  const days = new Set(raw.map(([day]) => day));
  const dates = Object.freeze([...days].map(fromDayNumber));
  const entry: YearHolidays = { named, dates, days };
  holidayCache.set(year, entry);
  return entry;
}

function isHolidayDay(day: number): boolean {
  return holidaysOf(new Date(day * MS_PER_DAY).getUTCFullYear()).days.has(day);
}

function isWorkingDayNumber(day: number): boolean {
  return !isWeekend(day) && !isHolidayDay(day);
}

/** The distinct public-holiday dates of a year under the Algemene termijnenwet, sorted. */
export function dutchPublicHolidays(year: number): string[] {
  checkYear(year);
  return [...holidaysOf(year).dates];
}

/** The public holidays of a year with their names, sorted by date (one entry per holiday). */
export function namedDutchPublicHolidays(year: number): DutchHoliday[] {
  checkYear(year);
  return holidaysOf(year).named.map((h) => ({ ...h }));
}

export function isDutchPublicHoliday(date: string): boolean {
  return isHolidayDay(toDayNumber(date, 'date'));
}

/** Not a Saturday or Sunday and not a public holiday. */
export function isWorkingDay(date: string): boolean {
  return isWorkingDayNumber(toDayNumber(date, 'date'));
}

const LAST_DAY = ymd(MAX_YEAR, 12, 31);

/**
 * The date n working days after start; start itself never counts. n = 0 gives start when it is a
 * working day, else the next working day.
 */
export function addWorkingDays(start: string, n: number): string {
  let day = toDayNumber(start, 'start date');
  if (!Number.isInteger(n) || n < 0 || n > MAX_WORKING_DAYS) {
    throw new Error(`Invalid number of working days ${show(n)}: expected an integer from 0 to ${MAX_WORKING_DAYS}`);
  }
  let remaining = n;
  if (remaining === 0) {
    while (!isWorkingDayNumber(day)) day = step(day);
    return fromDayNumber(day);
  }
  while (remaining > 0) {
    day = step(day);
    if (isWorkingDayNumber(day)) remaining--;
  }
  return fromDayNumber(day);
}

function step(day: number): number {
  if (day >= LAST_DAY) throw new Error(`Working-day calculation runs past ${fromDayNumber(LAST_DAY)}`);
  return day + 1;
}

/** 1900-01-01, a Monday, on or before every date isIsoDate accepts. */
const MONDAY_ORIGIN = ymd(1900, 1, 1);

/** Monday–Friday days from MONDAY_ORIGIN up to and including day. */
function weekdaysThrough(day: number): number {
  const count = day - MONDAY_ORIGIN + 1;
  return Math.floor(count / 7) * 5 + Math.min(count % 7, 5);
}

/** The number of working days d with from < d <= to (0 when to <= from). */
export function workingDaysBetween(from: string, to: string): number {
  const a = toDayNumber(from, 'from date');
  const b = toDayNumber(to, 'to date');
  if (b <= a) return 0;
  let result = weekdaysThrough(b) - weekdaysThrough(a);
  const lastYear = new Date(b * MS_PER_DAY).getUTCFullYear();
  for (let year = new Date(a * MS_PER_DAY).getUTCFullYear(); year <= lastYear; year++) {
    for (const day of holidaysOf(year).days) {
      if (day > a && day <= b && !isWeekend(day)) result--;
    }
  }
  return result;
}
