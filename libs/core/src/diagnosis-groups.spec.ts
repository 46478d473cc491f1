import { DIAGNOSIS_GROUP_CODES, DIAGNOSIS_GROUPS, isDiagnosisGroup } from './diagnosis-groups';

describe('diagnosis groups', () => {
  it('has the sixteen hoofddiagnosegroepen of GGZ waiting-time reporting', () => {
    expect(DIAGNOSIS_GROUP_CODES).toHaveLength(16);
    expect(Object.values(DIAGNOSIS_GROUPS)).toContain('Middelgerelateerd en verslaving');
  });
  it('recognises codes only, not labels or prototype keys', () => {
    expect(isDiagnosisGroup('depressie')).toBe(true);
    expect(isDiagnosisGroup('Depressie')).toBe(false);
    expect(isDiagnosisGroup('toString')).toBe(false);
    expect(isDiagnosisGroup(undefined)).toBe(false);
  });
});
