/**
 * BSN protection at rest: AES-256-GCM (authenticated) with a random 96-bit IV per value, and a
 * keyed blind index (HMAC-SHA256) for exact lookups without decrypting. The key id is stored
 * beside each ciphertext so keys can be rotated; old keys stay readable while listed.
 *
 * Ciphertext layout: iv (12 bytes) | auth tag (16 bytes) | ciphertext (9 bytes for a BSN).
 * The key id is bound as additional authenticated data, so a ciphertext cannot be replayed
 * under another key id.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { BsnKeyConfig } from '../config/config';

export interface SealedBsn {
  keyId: string;
  ciphertext: Buffer;
}

export class BsnVault {
  constructor(private readonly keys: BsnKeyConfig) {}

  get currentKeyId(): string {
    return this.keys.currentKeyId;
  }

  seal(bsn: string): SealedBsn {
    const keyId = this.keys.currentKeyId;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key(keyId), iv);
    cipher.setAAD(Buffer.from(keyId, 'utf8'));
    const body = Buffer.concat([cipher.update(bsn, 'utf8'), cipher.final()]);
    return { keyId, ciphertext: Buffer.concat([iv, cipher.getAuthTag(), body]) };
  }

  open(sealed: SealedBsn): string {
    const { keyId, ciphertext } = sealed;
    const decipher = createDecipheriv('aes-256-gcm', this.key(keyId), ciphertext.subarray(0, 12));
    decipher.setAAD(Buffer.from(keyId, 'utf8'));
    decipher.setAuthTag(ciphertext.subarray(12, 28));
    return Buffer.concat([decipher.update(ciphertext.subarray(28)), decipher.final()]).toString('utf8');
  }

  /** Deterministic keyed index: equal BSNs give equal values; without the key it reveals nothing. */
  blindIndex(bsn: string): string {
    return createHmac('sha256', this.keys.indexKey).update(bsn).digest('hex');
  }

  /**
   * The person as the access log knows them: a keyed index under a key derived from the index
   * key for this one use, so it differs from the referral's blind index. Erasing a referral's
   * data (withdrawal, retention) removes its blind index; the access log keeps who looked at
   * whom, as it must, without holding the referral's lookup key.
   */
  auditIndex(bsn: string): string {
    this.auditKey ??= createHmac('sha256', this.keys.indexKey).update('ggz/audit-index/v1').digest();
    return createHmac('sha256', this.auditKey).update(bsn).digest('hex');
  }
  private auditKey?: Buffer;

  /**
   * Keyed fingerprint of a message's canonical content. Keyed because the content includes the
   * BSN: a plain hash of nine digits could be reversed by trying them all.
   */
  fingerprint(canonical: string): string {
    return createHmac('sha256', this.keys.fingerprintKey).update(canonical).digest('hex');
  }

  private key(keyId: string): Buffer {
    const key = this.keys.keys.get(keyId);
    if (!key) throw new Error(`BSN encryption key "${keyId}" is not configured`);
    return key;
  }
}
