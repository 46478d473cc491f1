/**
 * Streaming readers for snapshot uploads: CSV (RFC 4180, header row) and NDJSON (one JSON object
 * per line). They hold one record at a time, so memory does not grow with the file.
 */
import { StringDecoder } from 'node:string_decoder';
import { countQuotes, splitRecord } from '@app/core';

export class StreamFormatError extends Error {}

/**
 * Lines of a UTF-8 byte stream, without their line ends, a chunk's worth at a time: one await per
 * chunk rather than per line keeps the per-row cost of a million rows down.
 */
async function* lineBatches(source: AsyncIterable<Buffer | string>): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of source) {
    rest += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    const batch: string[] = [];
    let start = 0;
    for (let nl = rest.indexOf('\n'); nl !== -1; nl = rest.indexOf('\n', start)) {
      batch.push(rest.charCodeAt(nl - 1) === 13 ? rest.slice(start, nl - 1) : rest.slice(start, nl));
      start = nl + 1;
    }
    rest = rest.slice(start);
    if (batch.length > 0) yield batch;
  }
  rest += decoder.end();
  if (rest.length > 0) yield [rest.endsWith('\r') ? rest.slice(0, -1) : rest];
}

/** CSV records as objects keyed by the header, in batches; `row` counts data rows from 0. Blank lines are skipped. */
export async function* csvObjects(
  source: AsyncIterable<Buffer | string>,
  {
    maxRecordChars = 64 * 1024,
    onHeader,
  }: { maxRecordChars?: number; /** Sees the header row as soon as it is read; may throw to refuse the file. */ onHeader?: (header: string[]) => void } = {},
): AsyncGenerator<{ row: number; value: Record<string, string> }[]> {
  let header: string[] | null = null;
  let row = 0;
  let pending = '';
  for await (const lines of lineBatches(source)) {
    const out: { row: number; value: Record<string, string> }[] = [];
    for (const line of lines) {
      // A record with an odd number of quotes continues on the next line (a quoted line break).
      pending = pending ? `${pending}\n${line}` : line;
      if (countQuotes(pending) % 2 === 1) {
        if (pending.length > maxRecordChars) throw new StreamFormatError(`a quoted field is not closed (row ${row})`);
        continue;
      }
      const record = pending;
      pending = '';
      if (record.trim() === '') continue;
      const fields = splitRecord(record);
      if (!header) {
        header = fields.map((f) => f.trim().replace(/^\uFEFF/, ''));
        onHeader?.(header);
        continue;
      }
      const value: Record<string, string> = {};
      for (let i = 0; i < header.length; i++) value[header[i]] = fields[i] ?? '';
      if (fields.length > header.length) value['(extra columns)'] = fields.slice(header.length).join(',');
      out.push({ row: row++, value });
    }
    if (out.length > 0) yield out;
  }
  if (pending) throw new StreamFormatError(`a quoted field is not closed (row ${row})`);
  if (!header) throw new StreamFormatError('the CSV has no header row');
}

/**
 * A header cell that reads as a column name (letters first, then letters, digits, space, _ . -,
 * at most 64 characters, no run of 5 digits) is named in errors; any other cell is referred to
 * by its position only. A file without a header row has data in its first line, a BSN perhaps,
 * and an error body must never echo it.
 */
const SHOWABLE_COLUMN = /^[\p{L}_][\p{L}\p{N} _.-]{0,63}$/u;
export function describeColumn(name: string, position: number): string {
  return SHOWABLE_COLUMN.test(name) && !/\d{5}/.test(name) ? `column "${name}"` : `column ${position} (not shown: it does not read as a column name; is the header row missing?)`;
}

/** What is wrong with a CSV's header row, given the columns it must have (in any order). */
export function csvHeaderProblems(header: readonly string[], columns: readonly string[]): string[] {
  const problems = columns.filter((c) => !header.includes(c)).map((c) => `column "${c}" is missing`);
  header.forEach((h, i) => {
    if (!columns.includes(h)) problems.push(`${describeColumn(h, i + 1)} is not known`);
    else if (header.indexOf(h) !== i) problems.push(`column "${h}" appears more than once (again as column ${i + 1})`);
  });
  return problems;
}

/** NDJSON objects, in batches; `row` counts non-blank lines from 0. A line that is not JSON yields `value: undefined`. */
export async function* ndjsonObjects(source: AsyncIterable<Buffer | string>): AsyncGenerator<{ row: number; value: unknown }[]> {
  let row = 0;
  for await (const lines of lineBatches(source)) {
    const out: { row: number; value: unknown }[] = [];
    for (const line of lines) {
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        value = undefined;
      }
      out.push({ row: row++, value });
    }
    if (out.length > 0) yield out;
  }
}
