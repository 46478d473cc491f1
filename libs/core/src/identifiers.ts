/**
 * Dutch identifiers used in referral messages: BSN (burgerservicenummer), AGB (zorgaanbieder)
 * and UZOVI (zorgverzekeraar). Pure functions, no I/O.
 */

const BSN_WEIGHTS = [9, 8, 7, 6, 5, 4, 3, 2, -1] as const;

/** 8-digit BSNs are written with a leading zero; anything else is returned unchanged. */
export function normaliseBsn(raw: string): string {
  return /^\d{8}$/.test(raw) ? `0${raw}` : raw;
}

/**
 * The elfproef: weights 9..2 and -1 over nine digits; the sum must be positive and divisible
 * by 11. Accepts the 8-digit form (leading zero implied).
 */
export function isValidBsn(raw: string): boolean {
  const bsn = normaliseBsn(raw);
  if (!/^\d{9}$/.test(bsn)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += BSN_WEIGHTS[i] * (bsn.charCodeAt(i) - 48);
  return sum > 0 && sum % 11 === 0;
}

/** Why a BSN is refused, in words safe for an error message (never echoes the number). */
export function bsnProblem(raw: unknown): string | null {
  if (typeof raw !== 'string') return 'must be a string of 8 or 9 digits';
  if (!/^\d{8,9}$/.test(raw)) return 'must be 8 or 9 digits';
  if (!isValidBsn(raw)) return 'fails the elfproef (not a valid BSN)';
  return null;
}

/** Masks all but the last four digits, e.g. `*****2782`. */
export function maskBsn(bsn: string): string {
  const n = normaliseBsn(bsn);
  return '*'.repeat(n.length - 4) + n.slice(-4);
}

/** AGB code: 8 digits, the first two name the kind of care. No check digit. */
export function isValidAgb(raw: unknown): raw is string {
  return typeof raw === 'string' && /^\d{8}$/.test(raw);
}

/** UZOVI code: 4 digits identifying an insurer. */
export function isValidUzovi(raw: unknown): raw is string {
  return typeof raw === 'string' && /^\d{4}$/.test(raw);
}

/**
 * Makes a valid synthetic BSN from an 8-digit seed: finds the check digit that satisfies the
 * elfproef, stepping the seed when no digit does. For tests, fixtures and demo data only.
 */
export function syntheticBsn(seed: number): string {
  let s = Math.abs(Math.trunc(seed)) % 100_000_000;
  for (;;) {
    const head = s.toString().padStart(8, '0');
    let sum = 0;
    for (let i = 0; i < 8; i++) sum += BSN_WEIGHTS[i] * (head.charCodeAt(i) - 48);
    // sum - last ≡ 0 (mod 11) → last ≡ sum (mod 11); only 0..9 are digits.
    const last = sum % 11;
    if (last <= 9 && sum - last > 0) return head + String(last);
    s = (s + 1) % 100_000_000;
  }
}

/**
 * A number that reads as a BSN although it is written in some other notation: "123 456 782",
 * "1234.56.782", "123-456-782", "123_456_782", "123/456/782", with NBSP or thin spaces, in
 * full-width (U+FF10–FF19) or any other Unicode decimal digits (\p{Nd}). Found where a BSN may not
 * be: free text, request ids, error texts that echo input, log lines.
 *
 * A run is digits separated by at most three separator characters (space, NBSP and other
 * spaces, `.`, `-` and other dashes, `_`, `/`, and their full-width forms); a run is never part
 * of a longer digit run. Within a run every stretch of whole digit groups with 8 or 9 digits is
 * checked by the elfproef (8 with the leading zero implied). Not counted: UUIDs, hex strings of 16
 * or more characters (hashes), and ISO dates (YYYY-MM-DD) — their digits would otherwise form
 * runs that pass the elfproef one time in eleven.
 */
export interface BsnLikeHit {
  /** Position in the text (UTF-16 units) and length of the matched notation. */
  index: number;
  length: number;
  /** The digits, normalised to ASCII. */
  digits: string;
}

export interface BsnLikeOptions {
  /**
   * Only runs not touching a letter count (as `\b` in `\b\d{9}\b`): for log lines, where hashes
   * and ids mix letters and digits. Off for input fields, where "bsn123456782" must count.
   */
  wordBoundary?: boolean;
}

/** Separators a person may write between the digits of a BSN (the full-width ones included). */
const BSN_SEPARATORS = new Set([
  ' ',
  '.',
  '-',
  '_',
  '/',
  '\u00a0',
  '\u2007',
  '\u2009',
  '\u202f',
  '\u3000',
  '\u2010',
  '\u2011',
  '\u2012',
  '\u2013',
  '\u2014',
  '\u2212',
  '\uff0d',
  '\uff0e',
  '\uff0f',
  '\uff3f',
  '\u30fb',
]);
const DECIMAL_DIGIT = /^\p{Nd}$/u;
const LETTER = /^\p{L}$/u;
const digitValues = new Map<number, number>();

/** The value of a Unicode decimal digit: they come in contiguous runs of ten, 0 to 9. */
function digitValue(cp: number): number {
  if (cp >= 0x30 && cp <= 0x39) return cp - 0x30;
  const known = digitValues.get(cp);
  if (known !== undefined) return known;
  let start = cp;
  while (start > 0 && DECIMAL_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  const value = (cp - start) % 10;
  digitValues.set(cp, value);
  return value;
}

const BLANK_UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const BLANK_HEX = /[0-9a-f]{16,}/gi;
const BLANK_ISO_DATE = /(?<!\d)(?:1[89]|2\d)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?!\d)/g;
const RUN = /\d+(?:[ ._/-]{1,3}\d+)*/g;

/** Every BSN-like number in the text (see above), in order. Linear in the text's length. */
export function findBsnLike(text: string, options: BsnLikeOptions = {}): BsnLikeHit[] {
  if (typeof text !== 'string' || text.length < 8) return [];
  // One ASCII character per code point: digits as 0-9, separators as ' ', letters as letters
  // (a-f kept for the hex and UUID patterns, others as 'x'), anything else as '#'.
  const offsets: number[] = [];
  let ascii = '';
  let anyDigit = false;
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    offsets.push(i);
    if (cp < 0x80) {
      if (cp >= 0x30 && cp <= 0x39) anyDigit = true;
      // The ASCII separators are space . - _ / : kept as they are.
      ascii += BSN_SEPARATORS.has(ch) || /[0-9A-Za-z]/.test(ch) ? ch : '#';
    } else if (DECIMAL_DIGIT.test(ch)) {
      anyDigit = true;
      ascii += String(digitValue(cp));
    } else if (BSN_SEPARATORS.has(ch)) ascii += ' ';
    else ascii += LETTER.test(ch) ? 'x' : '#';
    i += ch.length;
  }
  if (!anyDigit) return [];
  offsets.push(text.length);
  const blank = (m: string) => 'u'.repeat(m.length);
  ascii = ascii
    .replace(BLANK_UUID, blank)
    .replace(BLANK_HEX, blank)
    .replace(BLANK_ISO_DATE, (m) => '#'.repeat(m.length));

  const hits: BsnLikeHit[] = [];
  for (const m of ascii.matchAll(RUN)) {
    const start = m.index!;
    const end = start + m[0].length;
    if (options.wordBoundary && (/[A-Za-z]/.test(ascii[start - 1] ?? '') || /[A-Za-z]/.test(ascii[end] ?? ''))) continue;
    // The run's digit groups, with their positions.
    const groups: { digits: string; from: number; to: number }[] = [];
    for (const g of m[0].matchAll(/\d+/g)) groups.push({ digits: g[0], from: start + g.index!, to: start + g.index! + g[0].length });
    for (let i = 0; i < groups.length; i++) {
      let digits = '';
      for (let j = i; j < groups.length; j++) {
        digits += groups[j].digits;
        if (digits.length > 9) break;
        if (digits.length >= 8 && isValidBsn(digits)) {
          hits.push({ index: offsets[groups[i].from], length: offsets[groups[j].to] - offsets[groups[i].from], digits });
          i = j;
          break;
        }
      }
    }
  }
  return hits;
}

/** Whether the text holds a BSN-like number in any notation (see findBsnLike). */
export function containsBsnLike(text: unknown, options: BsnLikeOptions = {}): boolean {
  return typeof text === 'string' && findBsnLike(text, options).length > 0;
}

/** The text with every BSN-like number (any notation) starred but its last four digits: safe to echo. */
export function maskBsnLike(text: string, options: BsnLikeOptions = {}): string {
  const hits = findBsnLike(text, options);
  if (hits.length === 0) return text;
  let out = '';
  let at = 0;
  for (const h of hits) {
    out += text.slice(at, h.index) + maskBsn(h.digits);
    at = h.index + h.length;
  }
  return out + text.slice(at);
}

/** Whether the text holds a run of `min` or more digits (any Unicode decimal digits) in a row. */
export function hasDigitRun(text: unknown, min: number): boolean {
  if (typeof text !== 'string') return false;
  let run = 0;
  for (const ch of text) {
    run = DECIMAL_DIGIT.test(ch) ? run + 1 : 0;
    if (run >= min) return true;
  }
  return false;
}
