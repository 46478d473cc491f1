/** Query-parameter checks shared by the TTP routes. */
import { BadRequestException } from '@nestjs/common';
import { csvRecord, CsvValue, isDiagnosisGroup } from '@app/core';

/** `?format=json|csv`, else the Accept header; JSON by default. */
export function wantsCsv(format: string | undefined, accept: string | undefined): boolean {
  if (format !== undefined) {
    if (format !== 'json' && format !== 'csv') throw new BadRequestException({ message: 'The format is invalid', details: [{ field: 'format', reason: 'must be json or csv' }] });
    return format === 'csv';
  }
  return /\btext\/csv\b/.test(accept ?? '') && !/\bapplication\/json\b/.test(accept ?? '');
}

export function limitParam(raw: string | undefined): number {
  if (raw === undefined) return 50;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 200)
    throw new BadRequestException({ message: 'The limit is invalid', details: [{ field: 'limit', reason: 'must be a whole number from 1 to 200' }] });
  return n;
}

export function diagnosisGroupParam(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!isDiagnosisGroup(raw))
    throw new BadRequestException({ message: 'The diagnosis group is invalid', details: [{ field: 'diagnosisGroup', reason: 'must be a diagnosis group code (e.g. depressie)' }] });
  return raw;
}

/** One record of a CSV answer: the service's one CSV writer (csvRecord of @app/core), formula-leading text neutralised. */
export function csvLine(values: readonly CsvValue[]): string {
  return csvRecord(values);
}
