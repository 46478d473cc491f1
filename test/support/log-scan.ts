/**
 * The log scan of the end-to-end run: every log line an API or worker started by the harness
 * writes (and every error body the fuzzer receives) is also appended to a file in a directory of
 * this run's own (TEST_LOG_DIR, made by the global setup); the global teardown scans them all and
 * fails the run when any holds a number that passes the elfproef: a standalone run of 9 digits,
 * or of 8 digits that is valid with its leading zero (how 8-digit BSNs are written). Findings
 * name the file and line; the number itself is masked as the API masks BSNs.
 *
 * "Standalone" is `\b\d{8,9}\b` after UUIDs are blanked out (a UUID's first group can be 8
 * digits); digits inside longer runs, hex strings and words do not count.
 *
 * Every notation counts too, as the API refuses them in input (findBsnLike of libs/core, with
 * wordBoundary): digits grouped with spaces, NBSP, dots, dashes, underscores or slashes
 * ("123 456 782", "1234.56.782"), full-width (U+FF10–FF19) or other Unicode decimal digits. ISO
 * dates (YYYY-MM-DD) and hex strings of 16 or more characters (hashes) are not numbers here.
 * Percent-escapes are decoded first: a logged URL "?q=123%20456%20782" holds a BSN as much as
 * "123 456 782" does (positions are then those of the decoded line).
 *
 * One exemption, counted and printed with the result: the 8-digit value of a JSON "agb" field.
 * AGB codes name providers (no personal data) and are 8 digits, so about one in eleven passes
 * the elfproef with a leading zero; the TTP logs them ("snapshot in force"). A 9-digit value
 * there, or an AGB-like number anywhere else, still counts.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
// Relative, not @app/core: the global teardown runs without jest's path aliases.
import { findBsnLike as findInAnyNotation, isValidBsn } from '../../libs/core/src/identifiers';

export const LOG_DIR_ENV = 'TEST_LOG_DIR';

const AGB_FIELD = /"agb":"(\d{8})"/g;

export interface BsnLike {
  index: number;
  length: number;
  /** All but the last four digits starred, e.g. `*****2782`. */
  masked: string;
}

export function mask(digits: string): string {
  return '*'.repeat(Math.max(0, digits.length - 4)) + digits.slice(-4);
}

/**
 * Standalone 9-digit (or 8-digit, with the implied leading zero) numbers in text that pass the
 * elfproef, in any notation (see above); `length` is that of the notation as written.
 */
export function findBsnLike(text: string): BsnLike[] {
  return findInAnyNotation(text, { wordBoundary: true }).map((h) => ({ index: h.index, length: h.length, masked: mask(h.digits) }));
}

/** The text with every elfproef-valid number masked: safe to print. */
export function maskBsnLike(text: string): string {
  let out = text;
  // Padded with stars to the notation's length, so positions in the masked text are those of the original.
  for (const hit of findBsnLike(text).reverse()) out = out.slice(0, hit.index) + hit.masked.padStart(hit.length, '*') + out.slice(hit.index + hit.length);
  return out;
}

/** Percent-escapes decoded (as UTF-8, each run of them at once); runs that are no UTF-8 are left as they are. */
export function decodePercent(text: string): string {
  if (!text.includes('%')) return text;
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (m) => {
    try {
      return decodeURIComponent(m);
    } catch {
      return m;
    }
  });
}

export function makeLogDir(runId: string): string {
  const dir = join(tmpdir(), `ggz-e2e-logs-${runId}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

let seq = 0;
/**
 * A file of this run's log directory for one capture, named after the test file that made it,
 * e.g. `privacy.api-1.4711.log`; undefined outside a jest run with the e2e global setup.
 */
export function captureFile(kind: string): string | undefined {
  const dir = process.env[LOG_DIR_ENV];
  if (!dir) return undefined;
  const testPath = (globalThis as { expect?: { getState?: () => { testPath?: string } } }).expect?.getState?.().testPath;
  const test = testPath ? basename(testPath).replace(/\.e2e-spec\.ts$/, '') : 'unknown';
  return join(dir, `${test}.${kind}-${++seq}.${process.pid}.log`);
}

/**
 * Appends text (ending in a line break) to a capture file, when there is one. Never throws: an
 * app a failed test left running may still log after the teardown has scanned and removed the
 * directory, and a logger that throws would crash the run.
 */
export function appendCapture(file: string | undefined, text: string): void {
  if (!file) return;
  try {
    appendFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
  } catch {
    /* the scan is over */
  }
}

export interface Finding {
  file: string;
  line: number;
  column: number;
  masked: string;
  /** Up to 60 characters around the number, every elfproef-valid number in it masked. */
  context: string;
}

export function scanLogDir(dir: string): { files: number; lines: number; findings: Finding[]; exemptAgbs: number } {
  const result = { files: 0, lines: 0, findings: [] as Finding[], exemptAgbs: 0 };
  if (!existsSync(dir)) return result;
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.log')) continue;
    const file = join(dir, name);
    result.files++;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line === '') return;
      const text = decodePercent(line);
      result.lines++;
      const hits = findBsnLike(
        text.replace(AGB_FIELD, (_m, code: string) => {
          if (isValidBsn(code)) result.exemptAgbs++;
          return `"agb":"${'a'.repeat(code.length)}"`;
        }),
      );
      if (hits.length === 0) return;
      // Masking keeps the length, so positions in the masked line are those of the original.
      const masked = maskBsnLike(text);
      for (const hit of hits) {
        const context = masked.slice(Math.max(0, hit.index - 30), hit.index + hit.length + 30);
        result.findings.push({ file, line: i + 1, column: hit.index + 1, masked: hit.masked, context });
      }
    });
  }
  return result;
}

export function formatFindings(findings: Finding[], max = 20): string {
  const shown = findings.slice(0, max).map((f) => `  ${f.file}:${f.line}:${f.column}  ${f.masked}  …${f.context}…`);
  if (findings.length > max) shown.push(`  … and ${findings.length - max} more`);
  return shown.join('\n');
}

/** Run by the global teardown: throws (failing the run) when a log line holds a BSN. */
export function checkLogDir(dir: string | undefined, keep = false): string {
  if (!dir) return 'log scan: no log directory (TEST_LOG_DIR) was set';
  const { files, lines, findings, exemptAgbs } = scanLogDir(dir);
  if (findings.length > 0) {
    throw new Error(`Log scan FAILED: ${findings.length} elfproef-valid number(s) (BSN-like) in the logs of this run (kept in ${dir}):\n${formatFindings(findings)}`);
  }
  if (!keep) rmSync(dir, { recursive: true, force: true });
  const exempt = exemptAgbs ? ` (${exemptAgbs} AGB code(s) in "agb" fields that pass it with a leading zero are exempt)` : '';
  return `log scan: ${lines} line(s) in ${files} file(s), no elfproef-valid number${exempt}${keep ? `, kept in ${dir}` : ''}`;
}
