/**
 * Command line and environment → settings, checked before anything is read or sent. Every
 * mistake here is a UsageError (exit 2), except a key file that cannot be read (exit 6).
 */
import { readFileSync } from 'node:fs';
import { parseArgs, ParseArgsConfig } from 'node:util';
import { parseBaseUrl } from './api-client';
import { InputError, UsageError } from './errors';
import type { InputFormat } from './snapshot-file';

type Options = NonNullable<ParseArgsConfig['options']>;
type Env = Record<string, string | undefined>;

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';
export const DEFAULT_TIMEOUT_SECONDS = 60;

const help = { help: { type: 'boolean', short: 'h' } } as const;
const api = {
  'api-url': { type: 'string' },
  token: { type: 'string' },
  timeout: { type: 'string' },
} as const;
const snapshotInput = {
  'input-format': { type: 'string' },
  'stage1-key-file': { type: 'string' },
} as const;

const API_HELP = `  --api-url URL            the service (default: GGZ_API_URL, else ${DEFAULT_API_URL})
  --token TOKEN            bearer token (default: GGZ_TOKEN; prefer the variable: arguments show in ps)
  --timeout SECONDS        give up when the service is silent this long (default ${DEFAULT_TIMEOUT_SECONDS})`;
const INPUT_HELP = `  --input-format csv|ndjson  the file's format (default: from its extension, .csv or .ndjson/.jsonl)
  --stage1-key-file FILE   file holding the providers' shared stage-1 key (base64); default: GGZ_STAGE1_KEY`;

export interface CommandSpec {
  summary: string;
  options: Options;
  positionals: [min: number, max: number];
  help: string;
}

export const COMMANDS: Record<string, CommandSpec> = {
  pseudonymise: {
    summary: 'stage 1: replace every BSN of a snapshot file by its prePseudonym (locally)',
    options: { ...help, ...snapshotInput, out: { type: 'string', short: 'o' } },
    positionals: [1, 1],
    help: `ggz-provider pseudonymise FILE [--out OUT] [options]

Reads a waiting-list snapshot (CSV with the snapshot header, or NDJSON; FILE "-" is stdin) and writes
it with every bsn replaced by its prePseudonym: HMAC-SHA256 under the providers' shared stage-1 key,
exactly as the service computes stage 1. Nothing is sent anywhere. Rows with a prePseudonym already
pass unchanged. A row whose BSN fails the check (9 digits, elfproef) is reported by row and field,
never by value; then nothing is written to OUT (on stdout the output stops before that row) and the
exit code is 6.

  -o, --out OUT            write here (default: stdout); written to a temporary file, renamed when complete
${INPUT_HELP}`,
  },
  upload: {
    summary: 'send a snapshot to the service, which replaces your list in force (POST /v1/ttp/snapshots)',
    options: { ...help, ...api, ...snapshotInput, pseudonymise: { type: 'boolean' }, progress: { type: 'boolean' }, 'no-progress': { type: 'boolean' }, json: { type: 'boolean' } },
    positionals: [1, 1],
    help: `ggz-provider upload FILE [--pseudonymise] [options]

Streams a snapshot file (CSV or NDJSON; FILE "-" is stdin) to POST /v1/ttp/snapshots. The AGB comes
from the token. On success the new snapshot is in force and its receipt is printed. When the service
refuses it, its report is printed by row (and line of the file) and field, nothing is stored, the
previous snapshot stays in force, and the exit code is 3.

  --pseudonymise           do stage 1 on the way, so no BSN is sent (needs the stage-1 key)
  --progress / --no-progress  show or hide the progress bar (default: shown when stderr is a terminal
                           and the size of FILE is known)
  --json                   print the receipt as JSON
${INPUT_HELP}
${API_HELP}`,
  },
  feedback: {
    summary: 'your own clients who also wait at another provider (GET /v1/ttp/feedback)',
    options: { ...help, ...api, format: { type: 'string' } },
    positionals: [0, 0],
    help: `ggz-provider feedback [--format table|csv|json] [options]

Prints the newest linkage run's feedback for your AGB (from the token): your client references whose
person is also on another provider's list, on how many and at which stages — never where.

  --format table|csv|json  default table (the run and a count go to stderr)
${API_HELP}`,
  },
  token: {
    summary: 'mint a DEVELOPMENT token (HS256, development secret); refused when NODE_ENV=production',
    options: { ...help, role: { type: 'string' }, agb: { type: 'string' }, uzovi: { type: 'string' }, subject: { type: 'string' }, ttl: { type: 'string' } },
    positionals: [0, 0],
    help: `ggz-provider token --role ROLE [--agb AGB] [--uzovi N[,N]] [--subject S] [--ttl SECONDS]

Prints a development token, as "npm run token" does: HS256 with JWT_SECRET (default: the public
development secret), JWT_ISSUER and JWT_AUDIENCE. Only a development service accepts it. Refused
when NODE_ENV=production. Example: GGZ_TOKEN=$(ggz-provider token --role provider --agb 73910001)`,
  },
};

export const GENERAL_HELP = `ggz-provider — the GGZ waiting-list tool for providers

Usage: ggz-provider COMMAND [options]     (from the project: npm run -s cli -- COMMAND [options])

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(14)}${c.summary}`)
  .join('\n')}
  help COMMAND  the options of a command (or: COMMAND --help)

Environment: GGZ_API_URL, GGZ_TOKEN, GGZ_STAGE1_KEY (base64; or --stage1-key-file).
Exit codes: 0 success; 2 usage error; 3 refused by the service (its report printed); 4 token refused
(401) or not allowed (403); 5 service unavailable (connection refused, timeout, 5xx, 429); 6 local
input error (file missing or unreadable, bad CSV or NDJSON, invalid BSN); 1 a bug in the tool.`;

export interface Parsed {
  command: string;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** argv (after the node and script paths) → the command and its options; `help` when help was asked for. */
export function parseCommandLine(argv: string[]): Parsed | { help: string } {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError(`no command given\n\n${GENERAL_HELP}`);
  if (command === '--help' || command === '-h') return { help: GENERAL_HELP };
  if (command === 'help') {
    if (rest.length === 0) return { help: GENERAL_HELP };
    const spec = COMMANDS[rest[0]];
    if (!spec || rest.length > 1) throw new UsageError(`help: no such command "${rest.join(' ')}"; commands: ${Object.keys(COMMANDS).join(', ')}`);
    return { help: spec.help };
  }
  const spec = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!spec) throw new UsageError(`unknown command "${command}"; commands: ${Object.keys(COMMANDS).join(', ')} (see --help)`);
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options: spec.options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message.split('\n')[0].replace(/\. To specify a positional.*$/, '')} (see ggz-provider ${command} --help)`);
  }
  if (parsed.values.help) return { help: spec.help };
  const [min, max] = spec.positionals;
  if (parsed.positionals.length < min) throw new UsageError(`${command}: which file? (see ggz-provider ${command} --help)`);
  if (parsed.positionals.length > max) throw new UsageError(`${command}: unexpected argument "${parsed.positionals[max]}" (see ggz-provider ${command} --help)`);
  return { command, values: parsed.values, positionals: parsed.positionals };
}

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const fromEnv = (env: Env, name: string) => {
  const v = env[name]?.trim();
  return v === '' ? undefined : v;
};

export function apiSettings(values: Parsed['values'], env: Env): { baseUrl: string; token: string; timeoutMs: number } {
  const baseUrl = str(values['api-url']) ?? fromEnv(env, 'GGZ_API_URL') ?? DEFAULT_API_URL;
  parseBaseUrl(baseUrl);
  const token = (str(values.token) ?? fromEnv(env, 'GGZ_TOKEN'))?.trim();
  if (!token) throw new UsageError('no token: set GGZ_TOKEN (or --token)');
  if (!/^[\x21-\x7e]+$/.test(token)) throw new UsageError('the token (GGZ_TOKEN or --token) holds spaces or characters a token cannot have');
  const rawTimeout = str(values.timeout);
  const seconds = rawTimeout === undefined ? DEFAULT_TIMEOUT_SECONDS : Number(rawTimeout);
  if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= 3600)) throw new UsageError('--timeout must be a number of seconds from 0 to 3600 (above 0)');
  return { baseUrl, token, timeoutMs: Math.round(seconds * 1000) };
}

/** The format of a snapshot file: --input-format, else its extension. */
export function inputFormat(values: Parsed['values'], file: string): InputFormat {
  const given = str(values['input-format']);
  if (given !== undefined) {
    if (given !== 'csv' && given !== 'ndjson') throw new UsageError('--input-format must be csv or ndjson');
    return given;
  }
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.(ndjson|jsonl)$/i.test(file)) return 'ndjson';
  throw new UsageError(`cannot tell the format of ${file === '-' ? 'stdin' : `"${file}"`} from its name: say --input-format csv or --input-format ndjson`);
}

/**
 * The providers' shared stage-1 key: base64 of at least 32 bytes, the same form as the service's
 * TTP_STAGE1_KEY. From --stage1-key-file, else GGZ_STAGE1_KEY. Messages never show the key.
 */
export function stage1Key(values: Parsed['values'], env: Env): Buffer {
  const file = str(values['stage1-key-file']);
  let text: string | undefined;
  let source: string;
  if (file !== undefined) {
    source = `the key file "${file}"`;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new InputError(`the stage-1 key file "${file}" cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else {
    source = 'GGZ_STAGE1_KEY';
    text = fromEnv(env, 'GGZ_STAGE1_KEY');
    if (text === undefined) throw new UsageError("stage 1 needs the providers' shared key: set GGZ_STAGE1_KEY (base64) or give --stage1-key-file FILE");
  }
  const key = Buffer.from(text, 'base64');
  if (key.length < 32 || key.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, '')) {
    throw new UsageError(`${source} must hold the stage-1 key as base64 of at least 32 bytes`);
  }
  return key;
}

/** --format of feedback. */
export function feedbackFormat(values: Parsed['values']): 'table' | 'csv' | 'json' {
  const f = str(values.format) ?? 'table';
  if (f !== 'table' && f !== 'csv' && f !== 'json') throw new UsageError('--format must be table, csv or json');
  return f;
}

/** Whether to draw the upload's progress bar. */
export function showProgress(values: Parsed['values'], stderrIsTty: boolean, sizeKnown: boolean): boolean {
  if (values.progress && values['no-progress']) throw new UsageError('--progress and --no-progress contradict each other');
  if (!sizeKnown) return false;
  if (values.progress) return true;
  if (values['no-progress']) return false;
  return stderrIsTty;
}
