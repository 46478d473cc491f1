/**
 * Hoofddiagnosegroepen used in GGZ waiting-time reporting. The code is what messages carry;
 * the label is the Dutch name users know.
 */
export const DIAGNOSIS_GROUPS = {
  'andere-problemen': 'Andere problemen',
  angst: 'Angst',
  'basis-ggz': 'Basis GGZ',
  bipolair: 'Bipolair',
  depressie: 'Depressie',
  'diagnose-onbekend': 'Diagnose onbekend',
  eetstoornissen: 'Eetstoornissen',
  'middelgerelateerd-en-verslaving': 'Middelgerelateerd en verslaving',
  'neurobiologische-ontwikkelingsstoornissen': 'Neurobiologische ontwikkelingsstoornissen',
  'neurocognitieve-stoornissen': 'Neurocognitieve stoornissen',
  'obsessief-compulsief': 'Obsessief-compulsief',
  persoonlijkheid: 'Persoonlijkheid',
  restgroep: 'Restgroep',
  schizofrenie: 'Schizofrenie',
  'somatische-symptoomstoornissen': 'Somatische symptoomstoornissen',
  trauma: 'Trauma',
} as const;

export type DiagnosisGroup = keyof typeof DIAGNOSIS_GROUPS;

export const DIAGNOSIS_GROUP_CODES = Object.keys(DIAGNOSIS_GROUPS) as DiagnosisGroup[];

export function isDiagnosisGroup(raw: unknown): raw is DiagnosisGroup {
  return typeof raw === 'string' && Object.prototype.hasOwnProperty.call(DIAGNOSIS_GROUPS, raw);
}
