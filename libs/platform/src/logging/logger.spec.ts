import { syntheticBsn } from '@app/core';
import { maskDigits } from './logger';

const bsn = syntheticBsn(4242);
const [a, b, c] = [bsn.slice(0, 3), bsn.slice(3, 6), bsn.slice(6)];
const fullWidth = [...bsn].map((d) => String.fromCodePoint(0xff10 + Number(d))).join('');

describe('maskDigits: paths as logged carry no BSN in any notation', () => {
  it.each([
    ['plain', `/v1/referrals?bsn=${bsn}`],
    ['with dots', `/v1/x/${a}.${b}.${c}`],
    ['with dashes', `/v1/x?q=${a}-${b}-${c}`],
    ['percent-encoded spaces', `/v1/x?q=${a}%20${b}%20${c}`],
    ['plus for spaces', `/v1/x?q=${a}+${b}+${c}`],
    ['percent-encoded full-width digits', `/v1/x?q=${encodeURIComponent(fullWidth)}`],
  ])('%s', (_name, url) => {
    const masked = maskDigits(url);
    expect(masked.replace(/\D/g, '')).not.toContain(bsn);
    expect(masked).toContain('/v1/');
    expect(masked).toMatch(/\*{8,}/);
  });

  it('leaves UUIDs, dates and short numbers alone; a bad escape is masked as sent', () => {
    const path = '/v1/worklist/tasks/7c9e6679-7425-40de-944b-e07fc1f90ae7?due=2026-12-02&limit=50';
    expect(maskDigits(path)).toBe(path);
    expect(maskDigits(`/v1/x/%E0%A4%A/${bsn}`)).toBe('/v1/x/%E0%A4%A/*********');
  });
});
