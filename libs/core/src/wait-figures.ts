/**
 * When published waiting times still count. Providers report per month; figures for a month more
 * than two months before the current one are stale and are not used for a decision (on 23
 * November, September figures still count, August figures do not).
 */
import { isIsoDate } from './dates';

export const CURRENT_FIGURES_MONTHS = 2;

/** First day (YYYY-MM-DD) of the oldest month whose figures are still current on `today`. */
export function oldestCurrentMonth(today: string): string {
  if (!isIsoDate(today)) throw new Error(`oldestCurrentMonth needs a YYYY-MM-DD date, got ${JSON.stringify(today)}`);
  const y = Number(today.slice(0, 4));
  const m = Number(today.slice(5, 7)) - 1 - CURRENT_FIGURES_MONTHS; // 0-based, may go negative
  const d = new Date(Date.UTC(y, m, 1));
  return d.toISOString().slice(0, 10);
}

/** Whether figures for `month` (YYYY-MM) are stale on `today`. */
export function isStaleMonth(month: string, today: string): boolean {
  return `${month}-01` < oldestCurrentMonth(today);
}

/** Whether `month` (YYYY-MM) lies after the month of `today`. */
export function isFutureMonth(month: string, today: string): boolean {
  return month > today.slice(0, 7);
}
