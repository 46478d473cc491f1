/**
 * Reading a snapshot file on the provider's machine and doing stage 1 on it: every `bsn` becomes
 * its `prePseudonym` (stage1Pseudonymiser of @app/core, the very function the service runs for
 * entries sent with a BSN), so the file can leave the provider without a BSN in it.
 *
 * Records are read the way the service reads them (RFC 4180 CSV with a header row, quoted fields
 * may hold commas, doubled quotes and line breaks; NDJSON one object per non-blank line; blank
 * lines skipped), so `row` here is the `rows[n]` of the service's validation report. One record
 * at a time: memory does not grow with the file. Problems name rows and fields, never a value.
 */
import { StringDecoder } from 'node:string_decoder';
import { bsnProblem, countQuotes, CsvOptions, csvRecord, splitRecord } from '@app/core';
import { InputError, InputProblem } from './errors';

/** The documented snapshot header (README "Waiting-list snapshots at the TTP"); a unit test keeps it equal to the service's. */
export const SNAPSHOT_COLUMNS = ['clientRef', 'bsn', 'prePseudonym', 'location', 'diagnosisGroup', 'registeredOn', 'intakeOn', 'stage', 'waitsForThisProvider'] as const;

export type InputFormat = 'csv' | 'ndjson';

/** The service reports the first 100 problems; so does the tool. */
export const MAX_REPORTED = 100;
const MAX_RECORD_CHARS = 64 * 1024;

/** A line of the input with the 1-based line number it has in the file. */
interface Line {
  text: string;
  line: number;
}

/** Lines of a UTF-8 stream without their line ends, a chunk's worth at a time. */
async function* lineBatches(source: AsyncIterable<Buffer | string>): AsyncGenerator<Line[]> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let line = 0;
  for await (const chunk of source) {
    rest += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    const batch: Line[] = [];
    let start = 0;
    for (let nl = rest.indexOf('\n'); nl !== -1; nl = rest.indexOf('\n', start)) {
      batch.push({ text: rest.charCodeAt(nl - 1) === 13 ? rest.slice(start, nl - 1) : rest.slice(start, nl), line: ++line });
      start = nl + 1;
    }
    rest = rest.slice(start);
    if (batch.length > 0) yield batch;
  }
  rest += decoder.end();
  if (rest.length > 0) yield [{ text: rest.endsWith('\r') ? rest.slice(0, -1) : rest, line: line + 1 }];
}

/**
 * The pseudonymised file is what the TTP reads back field for field, not an export: written by
 * the service's one CSV writer (@app/core) with RFC 4180 quoting only, so every field is the
 * provider's own value again (a clientRef "-K1" stays "-K1"; neutralising would change it).
 */
const DATA_FILE: CsvOptions = { neutralise: false };

export interface CsvRecord {
  row: number;
  line: number;
  fields: string[];
}

/**
 * CSV records in batches: first the header (row -1), then data rows counted from 0. Throws an
 * InputError for a quoted field that is never closed or a file without a header.
 */
export async function* csvRecords(source: AsyncIterable<Buffer | string>): AsyncGenerator<CsvRecord[]> {
  let row = -1;
  let pending = '';
  let pendingLine = 0;
  for await (const lines of lineBatches(source)) {
    const out: CsvRecord[] = [];
    for (const { text, line } of lines) {
      if (!pending) pendingLine = line;
      // A record with an odd number of quotes continues on the next line (a quoted line break).
      pending = pending ? `${pending}\n${text}` : text;
      if (countQuotes(pending) % 2 === 1) {
        if (pending.length > MAX_RECORD_CHARS) throw unclosedQuote(row, pendingLine);
        continue;
      }
      const record = pending;
      pending = '';
      if (record.trim() === '') continue;
      const fields = splitRecord(record);
      if (row === -1) for (let i = 0; i < fields.length; i++) fields[i] = fields[i].trim().replace(/^\uFEFF/, '');
      out.push({ row: row++, line: pendingLine, fields });
    }
    if (out.length > 0) yield out;
  }
  if (pending) throw unclosedQuote(row, pendingLine);
  if (row === -1) throw new InputError('the CSV has no header row', [{ row: null, field: '(header)', reason: 'is missing: the file is empty' }]);
}

function unclosedQuote(row: number, line: number): InputError {
  return new InputError('the CSV cannot be read', [{ row: row < 0 ? null : row, line, field: '(row)', reason: 'a quoted field is not closed' }]);
}

/**
 * A header cell that reads as a column name is named in messages; any other by position only: a
 * file without a header row has data in its first line, a BSN perhaps.
 */
function describeColumn(name: string, position: number): string {
  return /^[\p{L}_][\p{L}\p{N} _.-]{0,63}$/u.test(name) && !/\d{5}/.test(name)
    ? `column "${name}"`
    : `column ${position} (not shown: it does not read as a column name; is the header row missing?)`;
}

/** What is wrong with a header row, given the snapshot columns (any order, each once). */
export function headerProblems(header: readonly string[]): string[] {
  const columns: readonly string[] = SNAPSHOT_COLUMNS;
  const problems = columns.filter((c) => !header.includes(c)).map((c) => `column "${c}" is missing`);
  header.forEach((h, i) => {
    if (!columns.includes(h)) problems.push(`${describeColumn(h, i + 1)} is not known`);
    else if (header.indexOf(h) !== i) problems.push(`column "${h}" appears more than once (again as column ${i + 1})`);
  });
  return problems;
}

/** NDJSON records in batches: one per non-blank line, rows counted from 0; `value` undefined when the line is not JSON. */
export async function* ndjsonRecords(source: AsyncIterable<Buffer | string>): AsyncGenerator<{ row: number; line: number; value: unknown }[]> {
  let row = 0;
  for await (const lines of lineBatches(source)) {
    const out: { row: number; line: number; value: unknown }[] = [];
    for (const { text, line } of lines) {
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        value = undefined;
      }
      out.push({ row: row++, line, value });
    }
    if (out.length > 0) yield out;
  }
}

/** Empty CSV cells and JSON null both mean "not given", as at the service. */
const given = (v: unknown) => v !== undefined && v !== null && v !== '';

/** Collects problems (the first 100) and counts the rows that have any. */
class Problems {
  readonly list: InputProblem[] = [];
  rows = 0;
  add(row: number, line: number, field: string, reason: string): void {
    this.rows++;
    if (this.list.length < MAX_REPORTED) this.list.push({ row, line, field, reason });
  }
  fail(): never {
    throw new InputError(`${this.rows} row(s) cannot be pseudonymised; fix them and run again`, this.list, this.rows);
  }
}

/** Stage 1 of one entry's BSN; the reason when it cannot be done (never echoing the value). */
function stage1Of(bsn: unknown, pre: unknown, stage1: (bsn: string) => string): { pre: string } | { field: string; reason: string } {
  if (given(pre)) return { field: 'bsn', reason: 'give either bsn or prePseudonym, not both' };
  const problem = bsnProblem(bsn);
  if (problem) return { field: 'bsn', reason: problem };
  return { pre: stage1(bsn as string) };
}

export interface PseudonymiseStats {
  rows: number;
  pseudonymised: number;
}

/**
 * A snapshot with stage 1 done, as text chunks. Rows that carry a prePseudonym already pass
 * unchanged. At the first row that cannot be pseudonymised the output stops (nothing after it is
 * written or sent), the rest is still read for the report, and an InputError ends the stream.
 */
export async function* pseudonymiseSnapshot(
  source: AsyncIterable<Buffer | string>,
  format: InputFormat,
  stage1: (bsn: string) => string,
  stats: PseudonymiseStats = { rows: 0, pseudonymised: 0 },
): AsyncGenerator<string> {
  const problems = new Problems();
  if (format === 'ndjson') {
    for await (const batch of ndjsonRecords(source)) {
      let out = '';
      for (const { row, line, value } of batch) {
        stats.rows++;
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          problems.add(row, line, '(row)', 'must be a JSON object');
          continue;
        }
        const entry = value as Record<string, unknown>;
        if (given(entry.bsn)) {
          const r = stage1Of(entry.bsn, entry.prePseudonym, stage1);
          if ('reason' in r) {
            problems.add(row, line, r.field, r.reason);
            continue;
          }
          delete entry.bsn;
          entry.prePseudonym = r.pre;
          stats.pseudonymised++;
        }
        if (problems.rows === 0) out += JSON.stringify(entry) + '\n';
      }
      if (out) yield out;
    }
    if (problems.rows > 0) problems.fail();
    return;
  }

  let bsnAt = -1;
  let preAt = -1;
  for await (const batch of csvRecords(source)) {
    let out = '';
    for (const { row, line, fields } of batch) {
      if (row === -1) {
        const wrong = headerProblems(fields);
        if (wrong.length > 0)
          throw new InputError(
            'the CSV header is not the snapshot header',
            wrong.map((reason) => ({ row: null, line, field: '(header)', reason })),
          );
        bsnAt = fields.indexOf('bsn');
        preAt = fields.indexOf('prePseudonym');
        out += csvRecord(fields, DATA_FILE) + '\n';
        continue;
      }
      stats.rows++;
      const bsn = fields[bsnAt] ?? '';
      if (given(bsn)) {
        const r = stage1Of(bsn, fields[preAt], stage1);
        if ('reason' in r) {
          problems.add(row, line, r.field, r.reason);
          continue;
        }
        fields[bsnAt] = '';
        while (fields.length <= preAt) fields.push('');
        fields[preAt] = r.pre;
        stats.pseudonymised++;
      }
      if (problems.rows === 0) out += csvRecord(fields, DATA_FILE) + '\n';
    }
    if (out) yield out;
  }
  if (problems.rows > 0) problems.fail();
}

/** The line each of the given rows starts on, read again from the file (for the refusal report). */
export async function linesOfRows(source: AsyncIterable<Buffer | string>, format: InputFormat, rows: ReadonlySet<number>): Promise<Map<number, number>> {
  const found = new Map<number, number>();
  if (rows.size === 0) return found;
  const records = format === 'csv' ? csvRecords(source) : ndjsonRecords(source);
  for await (const batch of records) {
    for (const r of batch) if (rows.has(r.row)) found.set(r.row, r.line);
    if (found.size === rows.size) break;
  }
  return found;
}
