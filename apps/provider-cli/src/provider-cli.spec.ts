/** The provider tool's parts that need no service: arguments, stage 1 on files, exit codes, tokens. */
import { PassThrough, Readable } from 'node:stream';
import { stage1Pseudonymiser, syntheticBsn } from '@app/core';
import { loadConfig, TokenService } from '@app/platform';
import { SNAPSHOT_COLUMNS as SERVICE_COLUMNS } from '@app/ttp';
import { apiSettings, COMMANDS, feedbackFormat, inputFormat, parseCommandLine, showProgress, stage1Key } from './args';
import { exitCodeFor, parseBaseUrl } from './api-client';
import { runCli } from './cli';
import { serviceProblems, table } from './commands';
import { EXIT, InputError, UsageError } from './errors';
import { headerProblems, linesOfRows, pseudonymiseSnapshot, SNAPSHOT_COLUMNS } from './snapshot-file';

const K1 = Buffer.alloc(32, 1);
const K1_B64 = K1.toString('base64');
const HEADER = SNAPSHOT_COLUMNS.join(',');
const stage1 = stage1Pseudonymiser(K1);

async function collect(source: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const s of source) out += s;
  return out;
}
/** Feeds text in small chunks, so records and characters are split across chunks. */
const chunked = (text: string, size = 7) => Readable.from(Array.from({ length: Math.ceil(text.length / size) }, (_, i) => Buffer.from(text.slice(i * size, (i + 1) * size))));

describe('the snapshot header', () => {
  it('is the service’s', () => {
    expect(SNAPSHOT_COLUMNS).toEqual(SERVICE_COLUMNS);
  });

  it('problems name known columns but never echo a cell that may be data', () => {
    expect(headerProblems([...SNAPSHOT_COLUMNS].reverse())).toEqual([]);
    const problems = headerProblems(['123456782', 'clientRef', 'clientRef']);
    expect(problems).toContain('column "bsn" is missing');
    expect(problems).toContain('column "clientRef" appears more than once (again as column 3)');
    expect(problems.join(' ')).not.toContain('123456782');
  });
});

describe('stage 1 on a CSV', () => {
  it('replaces each BSN by the README’s test vectors and leaves everything else as it was', async () => {
    const input =
      '\uFEFF' +
      [
        HEADER,
        'K1,123456782,,centrum,depressie,2026-09-01,,waiting-intake,false',
        '',
        '"K,2",11222335,,"loc ""x""\r\nnext",angst,2026-08-14,2026-10-02,waiting-treatment,true',
      ].join('\r\n') +
      '\r\n';
    const stats = { rows: 0, pseudonymised: 0 };
    const out = await collect(pseudonymiseSnapshot(chunked(input), 'csv', stage1, stats));
    expect(out).toBe(
      [
        HEADER,
        'K1,,c22f63b7c7594c01ef17c5376022d17a61cd6470945cebc29257335f9d45d03d,centrum,depressie,2026-09-01,,waiting-intake,false',
        '"K,2",,2ee7f47795bb6ecbd95c35c3a6551a7632dd5f097f3d769fd4adae79ac39961b,"loc ""x""\nnext",angst,2026-08-14,2026-10-02,waiting-treatment,true',
      ].join('\n') + '\n',
    );
    expect(stats).toEqual({ rows: 2, pseudonymised: 2 });
  });

  it('passes a row with a prePseudonym unchanged, columns in any order', async () => {
    const pre = stage1(syntheticBsn(1234));
    const header = [...SNAPSHOT_COLUMNS].reverse().join(',');
    const row = `false,waiting-intake,,2026-09-01,depressie,a,${pre},,K9`;
    expect(await collect(pseudonymiseSnapshot(chunked(`${header}\n${row}\n`), 'csv', stage1))).toBe(`${header}\n${row}\n`);
  });

  it('reports invalid BSNs by row, line and field without the value, stops writing at the first, and counts them all', async () => {
    const good = syntheticBsn(777);
    const bad = '123456789';
    const rows = [HEADER, `A,${good},,a,d,x,,s,w`, `B,${bad},,a,d,x,,s,w`, `C,${good},,a,d,x,,s,w`, `D,${good},${stage1(good)},a,d,x,,s,w`];
    for (let i = 0; i < 150; i++) rows.push(`E${i},1234,,a,d,x,,s,w`);
    let out = '';
    let error: InputError | undefined;
    try {
      for await (const s of pseudonymiseSnapshot(chunked(rows.join('\n') + '\n', 64), 'csv', stage1)) out += s;
    } catch (e) {
      error = e as InputError;
    }
    expect(error).toBeInstanceOf(InputError);
    expect(error!.exitCode).toBe(EXIT.input);
    expect(error!.invalidRows).toBe(152);
    expect(error!.problems).toHaveLength(100);
    expect(error!.problems.slice(0, 3)).toEqual([
      { row: 1, line: 3, field: 'bsn', reason: 'fails the elfproef (not a valid BSN)' },
      { row: 3, line: 5, field: 'bsn', reason: 'give either bsn or prePseudonym, not both' },
      { row: 4, line: 6, field: 'bsn', reason: 'must be 8 or 9 digits' },
    ]);
    expect(JSON.stringify(error!.problems) + error!.message).not.toContain(bad);
    // Only what came before the first bad row was written.
    expect(out).toBe(`${HEADER}\nA,,${stage1(good)},a,d,x,,s,w\n`);
  });

  it('refuses a wrong header, an unclosed quote and an empty file as input errors', async () => {
    await expect(collect(pseudonymiseSnapshot(chunked('clientRef,bsn\nK,1\n'), 'csv', stage1))).rejects.toThrow('the CSV header is not the snapshot header');
    await expect(collect(pseudonymiseSnapshot(chunked(`${HEADER}\n"K1,1,,a\n`), 'csv', stage1))).rejects.toMatchObject({
      problems: [{ row: 0, line: 2, reason: 'a quoted field is not closed' }],
    });
    await expect(collect(pseudonymiseSnapshot(chunked(''), 'csv', stage1))).rejects.toThrow('the CSV has no header row');
  });
});

describe('stage 1 on NDJSON', () => {
  it('swaps bsn for prePseudonym, keeps the rest, skips blank lines and names lines that are not objects', async () => {
    const bsn = syntheticBsn(4321);
    const input = `${JSON.stringify({ clientRef: 'A', bsn, prePseudonym: null, stage: 'waiting-intake' })}\n\n${JSON.stringify({ clientRef: 'B', prePseudonym: 'p' })}\n`;
    expect(await collect(pseudonymiseSnapshot(chunked(input), 'ndjson', stage1))).toBe(
      `${JSON.stringify({ clientRef: 'A', prePseudonym: stage1(bsn), stage: 'waiting-intake' })}\n${JSON.stringify({ clientRef: 'B', prePseudonym: 'p' })}\n`,
    );
    await expect(collect(pseudonymiseSnapshot(chunked('{"bsn":"1"}\n[1]\nnot json\n'), 'ndjson', stage1))).rejects.toMatchObject({
      invalidRows: 3,
      problems: [
        { row: 0, line: 1, field: 'bsn', reason: 'must be 8 or 9 digits' },
        { row: 1, line: 2, field: '(row)', reason: 'must be a JSON object' },
        { row: 2, line: 3, field: '(row)', reason: 'must be a JSON object' },
      ],
    });
  });

  it('finds the lines of the rows a refusal names (blank lines and quoted line breaks counted)', async () => {
    const csv = `${HEADER}\nA\n\n"B\nstill B"\nC\n`;
    expect(await linesOfRows(chunked(csv), 'csv', new Set([0, 1, 2]))).toEqual(
      new Map([
        [0, 2],
        [1, 4],
        [2, 6],
      ]),
    );
    expect(await linesOfRows(chunked('{}\n\n{}\n'), 'ndjson', new Set([1]))).toEqual(new Map([[1, 3]]));
  });
});

describe('the command line', () => {
  it('gives help for the tool and each command, and usage errors for the rest', () => {
    expect(parseCommandLine(['--help'])).toHaveProperty('help');
    for (const c of Object.keys(COMMANDS)) {
      expect(parseCommandLine([c, '--help'])).toEqual({ help: COMMANDS[c].help });
      expect(parseCommandLine(['help', c])).toEqual({ help: COMMANDS[c].help });
    }
    expect(() => parseCommandLine([])).toThrow(UsageError);
    expect(() => parseCommandLine(['toString'])).toThrow('unknown command "toString"');
    expect(() => parseCommandLine(['upload', 'a.csv', '--nope'])).toThrow("Unknown option '--nope'");
    expect(() => parseCommandLine(['upload', 'a.csv', 'b.csv'])).toThrow('unexpected argument "b.csv"');
    expect(() => parseCommandLine(['upload', 'a.csv', '--api-url'])).toThrow(UsageError);
    expect(parseCommandLine(['upload', 'a.csv', '--pseudonymise', '--api-url=http://x'])).toEqual({
      command: 'upload',
      positionals: ['a.csv'],
      values: { pseudonymise: true, 'api-url': 'http://x' },
    });
  });

  it('takes settings from flags before the environment, and checks them', () => {
    expect(apiSettings({}, { GGZ_TOKEN: 't' })).toEqual({ baseUrl: 'http://127.0.0.1:3000', token: 't', timeoutMs: 60000 });
    expect(apiSettings({ 'api-url': 'https://a', token: 'u', timeout: '2.5' }, { GGZ_API_URL: 'https://b', GGZ_TOKEN: 't' })).toEqual({
      baseUrl: 'https://a',
      token: 'u',
      timeoutMs: 2500,
    });
    expect(() => apiSettings({}, {})).toThrow('no token');
    expect(() => apiSettings({ token: 'a b' }, {})).toThrow(UsageError);
    expect(() => apiSettings({ timeout: '0' }, { GGZ_TOKEN: 't' })).toThrow('--timeout');
    expect(() => parseBaseUrl('https://user:pw@host')).toThrow('must not carry credentials');
    expect(inputFormat({}, 'a.CSV')).toBe('csv');
    expect(inputFormat({}, 'a.jsonl')).toBe('ndjson');
    expect(inputFormat({ 'input-format': 'ndjson' }, '-')).toBe('ndjson');
    expect(() => inputFormat({}, '-')).toThrow('--input-format');
    expect(feedbackFormat({})).toBe('table');
    expect(() => feedbackFormat({ format: 'xml' })).toThrow(UsageError);
    expect(showProgress({}, true, true)).toBe(true);
    expect(showProgress({}, false, true)).toBe(false);
    expect(showProgress({ progress: true }, false, true)).toBe(true);
    expect(showProgress({ 'no-progress': true }, true, true)).toBe(false);
    expect(showProgress({ progress: true }, true, false)).toBe(false);
  });

  it('reads the stage-1 key as base64 of at least 32 bytes, never showing it', () => {
    expect(stage1Key({}, { GGZ_STAGE1_KEY: K1_B64 })).toEqual(K1);
    expect(() => stage1Key({}, {})).toThrow(UsageError);
    const short = Buffer.alloc(16, 9).toString('base64');
    expect(() => stage1Key({}, { GGZ_STAGE1_KEY: short })).toThrow(/^GGZ_STAGE1_KEY must hold the stage-1 key as base64 of at least 32 bytes$/);
    expect(() => stage1Key({ 'stage1-key-file': '/nonexistent/key' }, {})).toThrow(InputError);
  });

  it('maps answers to exit codes and the service’s details to rows and fields', () => {
    expect([400, 404, 409, 413, 415, 401, 403, 429, 500, 503, 302].map(exitCodeFor)).toEqual([3, 3, 3, 3, 3, 4, 4, 5, 5, 5, 5]);
    expect(
      serviceProblems([
        { field: 'rows[12].registeredOn', reason: 'r' },
        { field: '(header)', reason: 'h' },
      ]),
    ).toEqual([
      { row: 12, field: 'registeredOn', reason: 'r' },
      { row: null, field: '(header)', reason: 'h' },
    ]);
    expect(table(['a', 'bb'], [['xyz', '1']])).toBe('a    bb\n---  --\nxyz  1\n');
  });
});

describe('token', () => {
  const io = (env: Record<string, string | undefined>) => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c) => (out += c));
    stderr.on('data', (c) => (err += c));
    return { io: { env, stdin: new PassThrough(), stdout, stderr }, out: () => out, err: () => err };
  };

  it('mints a development token the development service accepts', async () => {
    const t = io({});
    expect(await runCli(['token', '--role', 'provider', '--agb', '73910001', '--subject', 'me'], t.io)).toBe(0);
    expect(new TokenService(loadConfig({}).jwt).verify(t.out().trim())).toEqual({ subject: 'me', role: 'provider', uzovis: [], agb: '73910001' });
  });

  it('is refused in production and for unknown roles (exit 2)', async () => {
    const prod = io({ NODE_ENV: 'production' });
    expect(await runCli(['token', '--role', 'provider', '--agb', '73910001'], prod.io)).toBe(2);
    expect(prod.err()).toContain('refused when NODE_ENV=production');
    expect(prod.out()).toBe('');
    const role = io({});
    expect(await runCli(['token', '--role', 'root'], role.io)).toBe(2);
  });
});
