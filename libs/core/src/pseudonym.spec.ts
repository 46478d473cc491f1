import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { syntheticBsn } from './identifiers';
import { isPrePseudonym, stage1PrePseudonym, stage1Pseudonymiser, stage2Pseudonym, stage2Pseudonymiser } from './pseudonym';

// The test vectors of the README (synthetic BSNs; keys of 32 bytes 0x01 and 0x02).
const K1 = Buffer.alloc(32, 1);
const K2 = Buffer.alloc(32, 2);

describe('two-stage pseudonymisation', () => {
  it('matches the published test vectors', () => {
    expect(stage1PrePseudonym('123456782', K1)).toBe('c22f63b7c7594c01ef17c5376022d17a61cd6470945cebc29257335f9d45d03d');
    expect(stage2Pseudonym('c22f63b7c7594c01ef17c5376022d17a61cd6470945cebc29257335f9d45d03d', K2)).toBe('5abccc1ba5de19ea101a8b4366417623d59ebaf5b9d8d1dbea3a421114059217');
  });

  it('treats the 8-digit form as the 9-digit form with a leading zero', () => {
    expect(stage1PrePseudonym('11222335', K1)).toBe(stage1PrePseudonym('011222335', K1));
    expect(stage1PrePseudonym('011222335', K1)).toBe('2ee7f47795bb6ecbd95c35c3a6551a7632dd5f097f3d769fd4adae79ac39961b');
  });

  it('is the documented HMAC, so a provider can compute stage 1 itself', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999 }), (seed) => {
        const bsn = syntheticBsn(seed);
        const expected = createHmac('sha256', K1).update(`ggz-ttp/stage1/v1:${bsn}`).digest('hex');
        expect(stage1PrePseudonym(bsn, K1)).toBe(expected);
        expect(isPrePseudonym(expected)).toBe(true);
      }),
    );
  });

  it('gives the same results with keys prepared once (any key length)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999 }), fc.uint8Array({ minLength: 32, maxLength: 100 }), (seed, raw) => {
        const key = Buffer.from(raw);
        const bsn = syntheticBsn(seed);
        const pre = stage1Pseudonymiser(key)(bsn);
        expect(pre).toBe(stage1PrePseudonym(bsn, key));
        expect(stage2Pseudonymiser(key)(pre)).toBe(stage2Pseudonym(pre, key));
      }),
    );
    expect(() => stage1Pseudonymiser(K1)('123456789')).toThrow(/elfproef/);
    expect(() => stage2Pseudonymiser(K2)('x')).toThrow(/64 lowercase hex/);
  });

  it('gives different people different pre-pseudonyms and depends on the key', () => {
    const a = stage1PrePseudonym(syntheticBsn(20_000_000), K1);
    expect(stage1PrePseudonym(syntheticBsn(30_000_000), K1)).not.toBe(a);
    expect(stage1PrePseudonym(syntheticBsn(20_000_000), K2)).not.toBe(a);
    expect(stage2Pseudonym(a, K1)).not.toBe(stage2Pseudonym(a, K2));
  });

  it('refuses an invalid BSN without echoing it, a malformed pre-pseudonym and a short key', () => {
    expect(() => stage1PrePseudonym('123456789', K1)).toThrow(/elfproef/);
    try {
      stage1PrePseudonym('123456789', K1);
    } catch (e) {
      expect((e as Error).message).not.toContain('123456789');
    }
    expect(() => stage2Pseudonym('ABC', K2)).toThrow(/64 lowercase hex/);
    expect(() => stage2Pseudonym('C22F63B7C7594C01EF17C5376022D17A61CD6470945CEBC29257335F9D45D03D', K2)).toThrow();
    expect(() => stage1PrePseudonym('123456782', Buffer.alloc(16))).toThrow(/32 bytes/);
  });
});
