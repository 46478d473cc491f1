import { describeReencryptReport, ReencryptReport } from './bsn-reencrypt';

const report = (over: Partial<ReencryptReport> = {}): ReencryptReport => ({
  currentKeyId: 'k2',
  reencrypted: {},
  total: 0,
  batches: 0,
  missingKey: {},
  leftOver: 0,
  ms: 1234,
  ...over,
});

describe('describeReencryptReport', () => {
  it('says when there was nothing to do', () => {
    expect(describeReencryptReport(report())).toEqual(['nothing to re-encrypt: no readable referral is under a key other than "k2" (1.2 s)']);
  });

  it('gives counts per old key id and the time taken', () => {
    expect(describeReencryptReport(report({ reencrypted: { old: 3, dev1: 1200 }, total: 1203, batches: 2 }))).toEqual([
      're-encrypted 1203 referral(s) under key "k2" in 2 batch(es), 1.2 s: 1200 from "dev1", 3 from "old"',
    ]);
  });

  it('names referrals under keys that are not configured, and rows left for a next run', () => {
    const lines = describeReencryptReport(report({ missingKey: { gone: 4 }, leftOver: 2 }));
    expect(lines).toContain('4 referral(s) under key "gone" cannot be read: that key is not in BSN_ENCRYPTION_KEYS (left as they are)');
    expect(lines).toContain('2 referral(s) were held by other transactions and are still under an old key: run again');
  });
});
