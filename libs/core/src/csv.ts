/**
 * CSV records (RFC 4180) as the TTP reads snapshots and as a provider's own tool reads them
 * before sending: one implementation, so the tool's row numbers and fields are the service's.
 * And the one CSV writer of the service (csvCell, csvRecord, csvDocument): every CSV it answers
 * or writes goes through it, so every export is safe to open in a spreadsheet (csv.spec.ts
 * checks that no other file under apps/ or libs/ builds CSV by hand).
 */

/** How many double quotes a text holds: a record with an odd number continues on the next line. */
export function countQuotes(s: string): number {
  let n = 0;
  for (let i = s.indexOf('"'); i !== -1; i = s.indexOf('"', i + 1)) n++;
  return n;
}

/** Splits one CSV record; quoted fields may hold commas, doubled quotes and line breaks. */
export function splitRecord(record: string): string[] {
  if (!record.includes('"')) return record.split(',');
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < record.length; i++) {
    const c = record[i];
    if (quoted) {
      if (c === '"' && record[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

// --- writing ---------------------------------------------------------------------------------

/**
 * A CSV cell's value: text, or a number or boolean written as such. `null`/`undefined` is an
 * empty cell. Only a JS number is written as a number (so `-3` stays `-3`); the text "-3" is text.
 */
export type CsvValue = string | number | boolean | null | undefined;

export interface CsvOptions {
  /**
   * `true` (the default) for every file a person may open in a spreadsheet: text beginning with
   * `=`, `+`, `-`, `@`, a tab or a carriage return is neutralised (OWASP "CSV injection": a `'` in
   * front, and the cell quoted), so no spreadsheet runs it as a formula. `false` only for data
   * files that a program reads back field for field (snapshot files for the TTP): those must keep
   * the value as it is, and are not an export.
   */
  neutralise?: boolean;
}

/** A spreadsheet would take text beginning with one of these as a formula (or strip it, then do so). */
const FORMULA_LEAD = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One CSV cell: RFC 4180 quoting when the text holds a quote, comma or line break, and (unless
 * neutralise is false) formula-leading text prefixed with `'` and quoted. A JS number (finite)
 * and a boolean are written as they are, never prefixed: a negative number is a number to a
 * spreadsheet, not a formula.
 */
export function csvCell(value: CsvValue, options: CsvOptions = {}): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return String(value);
  const text = String(value);
  if (options.neutralise !== false && FORMULA_LEAD.test(text)) return `"'${text.replace(/"/g, '""')}"`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record (no line end): the cells joined by commas. */
export function csvRecord(values: readonly CsvValue[], options?: CsvOptions): string {
  let out = '';
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : ',') + csvCell(values[i], options);
  return out;
}

/**
 * A whole CSV document: the header record, then one record per row, each ended by `\n` (which
 * the service's readers and spreadsheets take as they take RFC 4180's CRLF). The header is cells
 * too, so it gets the same treatment.
 */
export function csvDocument(header: readonly string[], rows: Iterable<readonly CsvValue[]>, options?: CsvOptions): string {
  const lines = [csvRecord(header, options)];
  for (const row of rows) lines.push(csvRecord(row, options));
  return lines.join('\n') + '\n';
}
