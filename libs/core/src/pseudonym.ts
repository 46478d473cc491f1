/**
 * Two-stage pseudonymisation of the BSN for the TTP, as Dutch TTPs do it.
 *
 * Stage 1 (at the provider, or at the TTP for entries sent with a BSN):
 *   prePseudonym = lowercase hex( HMAC-SHA256( key = K1, message = "ggz-ttp/stage1/v1:" + bsn9 ) )
 *   where bsn9 is the BSN as 9 ASCII digits (an 8-digit BSN gets a leading zero) that passes the
 *   elfproef, and K1 is the 32-byte key the providers share. Result: 64 hex characters.
 * Stage 2 (at the TTP only):
 *   pseudonym = lowercase hex( HMAC-SHA256( key = K2[v], message = "ggz-ttp/stage2:" + prePseudonym ) )
 *   with the TTP's secret key of version v; the version is stored beside the pseudonym.
 *
 * The domain-separation prefixes make a stage-1 value useless as anything else. Pure: no I/O.
 */
import { createHmac } from 'node:crypto';
import { isValidBsn, normaliseBsn } from './identifiers';

const STAGE1_PREFIX = 'ggz-ttp/stage1/v1:';
const STAGE2_PREFIX = 'ggz-ttp/stage2:';
const PRE_PSEUDONYM = /^[0-9a-f]{64}$/;

function assertKey(key: Buffer, what: string): void {
  if (!Buffer.isBuffer(key) || key.length < 32) throw new Error(`${what} must be a key of at least 32 bytes`);
}

/** Stage 1: BSN → pre-pseudonym. Throws on an invalid BSN (never echoing it). */
export function stage1PrePseudonym(bsn: string, key: Buffer): string {
  assertKey(key, 'the stage-1 key');
  const bsn9 = normaliseBsn(bsn);
  if (!isValidBsn(bsn9)) throw new Error('stage1PrePseudonym needs a valid BSN (9 digits, or 8 with the leading zero implied, passing the elfproef)');
  return createHmac('sha256', key).update(STAGE1_PREFIX + bsn9).digest('hex');
}

/** Whether a value has the form of a pre-pseudonym (64 lowercase hex characters). */
export function isPrePseudonym(value: unknown): value is string {
  return typeof value === 'string' && PRE_PSEUDONYM.test(value);
}

/** Stage 2: pre-pseudonym → pseudonym under one version of the TTP's key. */
export function stage2Pseudonym(prePseudonym: string, key: Buffer): string {
  assertKey(key, 'the stage-2 key');
  if (!isPrePseudonym(prePseudonym)) throw new Error('stage2Pseudonym needs a pre-pseudonym of 64 lowercase hex characters');
  return createHmac('sha256', key).update(STAGE2_PREFIX + prePseudonym).digest('hex');
}
