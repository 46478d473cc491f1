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
