/** The four commands. Data go to stdout; progress, summaries and errors to stderr. */
import { createWriteStream, promises as fsp } from 'node:fs';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SingleBar } from 'cli-progress';
import { stage1Pseudonymiser } from '@app/core';
import { isRole, ROLES } from '@app/platform/auth/roles';
import { TokenService } from '@app/platform/auth/token.service';
import { loadConfig } from '@app/platform/config/config';
import { apiSettings, feedbackFormat, inputFormat, Parsed, showProgress, stage1Key } from './args';
import { call, expectOk, ServiceRefusal } from './api-client';
import { CliError, EXIT, InputError, InputProblem, UsageError } from './errors';
import { linesOfRows, pseudonymiseSnapshot, PseudonymiseStats } from './snapshot-file';

export interface Io {
  env: Record<string, string | undefined>;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

interface Input {
  chunks: AsyncIterable<Buffer>;
  /** Bytes in the file; undefined for stdin or a pipe. */
  size: number | undefined;
  /** Can be read again (for the line numbers of a refusal report). */
  regularFile: boolean;
}

/** Opens FILE (or stdin for "-"): a missing or unreadable file is an InputError (exit 6). */
async function openInput(file: string, io: Io): Promise<Input> {
  if (file === '-') return { chunks: readErrorsAsInput(io.stdin as AsyncIterable<Buffer>, 'stdin'), size: undefined, regularFile: false };
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file} (${code ?? (e as Error).message})`);
  }
  const stat = await handle.stat();
  if (stat.isDirectory()) {
    await handle.close();
    throw new InputError(`${file} is a directory, not a snapshot file`);
  }
  const stream = handle.createReadStream({ autoClose: true, highWaterMark: 256 * 1024 });
  return { chunks: readErrorsAsInput(stream, file), size: stat.isFile() ? stat.size : undefined, regularFile: stat.isFile() };
}

async function* readErrorsAsInput(source: AsyncIterable<Buffer>, name: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of source) yield chunk;
  } catch (e) {
    throw new InputError(`cannot read ${name} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

async function* counting(source: AsyncIterable<Buffer>, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    onBytes(chunk.length);
    yield chunk;
  }
}

function write(out: NodeJS.WritableStream, text: string): void {
  out.write(text);
}

/** "row 12 (line 14): registeredOn — must not be in the future", or "(header): …". */
export function problemLines(problems: readonly { row: number | null; line?: number; field: string; reason: string }[]): string[] {
  return problems.map((p) => {
    const where = p.row === null ? (p.line ? `line ${p.line}` : '') : `row ${p.row}${p.line ? ` (line ${p.line})` : ''}`;
    return `  ${where ? `${where}: ` : ''}${p.field} — ${p.reason}`;
  });
}

/** Turns the service's `rows[12].registeredOn` details into rows and fields. */
export function serviceProblems(details: readonly { field: string; reason: string }[]): InputProblem[] {
  return details.map((d) => {
    const m = /^rows\[(\d+)\]\.(.+)$/.exec(d.field);
    return m ? { row: Number(m[1]), field: m[2], reason: d.reason } : { row: null, field: d.field, reason: d.reason };
  });
}

export async function pseudonymise(p: Parsed, io: Io): Promise<number> {
  const file = p.positionals[0];
  const format = inputFormat(p.values, file);
  const stage1 = stage1Pseudonymiser(stage1Key(p.values, io.env));
  const outPath = typeof p.values.out === 'string' && p.values.out !== '-' ? p.values.out : undefined;
  const input = await openInput(file, io);
  const stats: PseudonymiseStats = { rows: 0, pseudonymised: 0 };
  const chunks = pseudonymiseSnapshot(input.chunks, format, stage1, stats);

  if (!outPath) {
    for await (const text of chunks) if (!io.stdout.write(text)) await once(io.stdout, 'drain');
  } else {
    // Written beside OUT and renamed when complete: a half-done or refused file never sits at OUT.
    const partial = `${outPath}.partial-${process.pid}`;
    try {
      await pipeline(Readable.from(chunks), createWriteStream(partial, { flags: 'wx' }));
      await fsp.rename(partial, outPath);
    } catch (e) {
      await fsp.rm(partial, { force: true });
      if (e instanceof CliError) throw e;
      throw new InputError(`cannot write ${outPath} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  write(
    io.stderr,
    `pseudonymised ${stats.pseudonymised} of ${stats.rows} row(s)${stats.rows > stats.pseudonymised ? ` (${stats.rows - stats.pseudonymised} carried a prePseudonym already)` : ''}${outPath ? `; written to ${outPath}` : ''}\n`,
  );
  return EXIT.ok;
}

interface Receipt {
  snapshotId: string;
  agb: string;
  entries: number;
  keyVersion: number;
  asOf: string;
  replaced: string | null;
}

function megabytes(n: number): string {
  return `${(n / 1_048_576).toFixed(n < 10_485_760 ? 2 : 1)} MB`;
}

export async function upload(p: Parsed, io: Io): Promise<number> {
  const file = p.positionals[0];
  const format = inputFormat(p.values, file);
  const api = apiSettings(p.values, io.env);
  const stage1 = p.values.pseudonymise ? stage1Pseudonymiser(stage1Key(p.values, io.env)) : undefined;
  const input = await openInput(file, io);

  const bar = showProgress(p.values, Boolean(io.stderr.isTTY), input.size !== undefined)
    ? new SingleBar({
        stream: io.stderr,
        format: `upload |{bar}| {percentage}% | {done} of {size} read | {eta_formatted} left`,
        noTTYOutput: !io.stderr.isTTY,
        notTTYSchedule: 1000,
        hideCursor: true,
        barsize: 30,
      })
    : undefined;
  let read = 0;
  bar?.start(input.size ?? 0, 0, { done: megabytes(0), size: megabytes(input.size ?? 0) });
  const source = counting(input.chunks, (n) => {
    read += n;
    bar?.update(read, { done: megabytes(read) });
  });
  const stats: PseudonymiseStats = { rows: 0, pseudonymised: 0 };
  const body = stage1 ? pseudonymiseSnapshot(source, format, stage1, stats) : source;
  const onBodySent = () => {
    if (!bar) return;
    bar.update(read, { done: megabytes(read) });
    bar.stop();
    write(io.stderr, 'sent; the service is checking and storing it…\n');
  };

  let receipt: Receipt;
  try {
    const res = await call(api, 'POST', '/v1/ttp/snapshots', { body, contentType: format === 'csv' ? 'text/csv' : 'application/x-ndjson', onBodySent });
    receipt = expectOk<Receipt>(res);
  } catch (e) {
    bar?.stop();
    if (e instanceof ServiceRefusal && e.exitCode === EXIT.refused && e.body.details?.length) {
      const problems = serviceProblems(e.body.details);
      if (input.regularFile) {
        const lines = await linesOfRows((await openInput(file, io)).chunks, format, new Set(problems.flatMap((x) => (x.row === null ? [] : [x.row])))).catch(
          () => new Map<number, number>(),
        );
        for (const x of problems) if (x.row !== null) x.line = lines.get(x.row);
      }
      const more = e.body.details.length >= 100 ? ['  (the service names the first 100 problems)'] : [];
      throw new CliError(EXIT.refused, [e.message, ...problemLines(problems), ...more, ...(e.body.requestId ? [`request id: ${e.body.requestId}`] : [])].join('\n'));
    }
    throw e;
  }
  if (stage1) write(io.stderr, `pseudonymised ${stats.pseudonymised} of ${stats.rows} row(s) on the way: no BSN was sent\n`);
  if (p.values.json) write(io.stdout, JSON.stringify(receipt) + '\n');
  else
    write(
      io.stdout,
      `snapshot ${receipt.snapshotId} in force for AGB ${receipt.agb}: ${receipt.entries} entries as of ${receipt.asOf} (key version ${receipt.keyVersion}; ${receipt.replaced ? `replaced ${receipt.replaced}` : 'your first snapshot'})\n`,
    );
  return EXIT.ok;
}

interface Feedback {
  run: { runId: string; asOf: string | null; finishedAt: string; awaitingResend: { agb: string; asOf: string; keyVersion: number }[] };
  linked: boolean;
  entries: { clientRef: string; otherLists: number; otherStages: string[] }[];
}

/** A plain text table: a header row and columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

export async function feedback(p: Parsed, io: Io): Promise<number> {
  const format = feedbackFormat(p.values);
  const api = apiSettings(p.values, io.env);
  if (format === 'csv') {
    const res = await call(api, 'GET', '/v1/ttp/feedback?format=csv', { accept: 'text/csv' });
    expectOk(res); // throws for anything but 2xx
    write(io.stdout, res.text);
    return EXIT.ok;
  }
  const fb = expectOk<Feedback>(await call(api, 'GET', '/v1/ttp/feedback'));
  if (format === 'json') {
    write(io.stdout, JSON.stringify(fb, null, 2) + '\n');
    return EXIT.ok;
  }
  write(io.stderr, `linkage run ${fb.run.runId} of ${fb.run.asOf ?? '?'}: ${fb.entries.length} of your clients also wait elsewhere\n`);
  if (!fb.linked) write(io.stderr, 'note: your snapshot was not in this run (linked: false) — send it again if it was made under an older key\n');
  write(
    io.stdout,
    table(
      ['clientRef', 'otherLists', 'otherStages'],
      fb.entries.map((e) => [e.clientRef, String(e.otherLists), e.otherStages.join(' ')]),
    ),
  );
  return EXIT.ok;
}

/** A development token, minted by the service's own TokenService with the development settings. */
export async function token(p: Parsed, io: Io): Promise<number> {
  if ((io.env.NODE_ENV ?? '').trim() === 'production') throw new UsageError('token mints development tokens only: refused when NODE_ENV=production');
  const v = p.values;
  if (!isRole(v.role)) throw new UsageError(`--role must be one of: ${ROLES.join(', ')}`);
  const uzovi = typeof v.uzovi === 'string' ? v.uzovi.split(',').map((s) => s.trim()) : undefined;
  if (uzovi?.some((u) => !/^\d{4}$/.test(u))) throw new UsageError('--uzovi must be 4-digit UZOVI codes, comma-separated');
  const agb = typeof v.agb === 'string' ? v.agb : undefined;
  if (agb !== undefined && !/^\d{8}$/.test(agb)) throw new UsageError('--agb must be an 8-digit AGB code');
  const ttl = typeof v.ttl === 'string' ? Number(v.ttl) : undefined;
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0)) throw new UsageError('--ttl must be a positive number of seconds');
  // Only the token settings are read (no database, Redis or server keys); development defaults apply.
  let jwt;
  try {
    jwt = loadConfig({ NODE_ENV: 'development', JWT_SECRET: io.env.JWT_SECRET, JWT_ISSUER: io.env.JWT_ISSUER, JWT_AUDIENCE: io.env.JWT_AUDIENCE }).jwt;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  write(io.stdout, new TokenService(jwt).mint({ role: v.role, uzovi, agb, subject: typeof v.subject === 'string' ? v.subject : undefined, ttlSeconds: ttl }) + '\n');
  return EXIT.ok;
}

export const RUN: Record<string, (p: Parsed, io: Io) => Promise<number>> = { pseudonymise, upload, feedback, token };
