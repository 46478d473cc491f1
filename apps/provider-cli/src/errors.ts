/**
 * Exit codes scripts can rely on (documented in the README, "Provider command-line tool"), and the
 * errors that carry them. Every failure the tool foresees is one of these; anything else is a bug
 * and exits 1.
 */
export const EXIT = {
  ok: 0,
  /** Not foreseen: a bug in the tool. */
  unexpected: 1,
  /** Unknown command or option, a missing or malformed value (including GGZ_* settings). */
  usage: 2,
  /** The service refused the request (4xx other than 401/403); its report was printed. */
  refused: 3,
  /** The token was refused (401) or does not allow this (403). */
  auth: 4,
  /** The service could not be reached or failed: connection refused, timeout, 5xx, 429. */
  unavailable: 5,
  /** The local input: file missing or unreadable, a CSV or NDJSON that cannot be read, an invalid BSN. */
  input: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure with its exit code; `message` goes to stderr as is. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(EXIT.usage, message);
  }
}

/** One problem of the input, by data row (counted from 0, as the service counts) and field. */
export interface InputProblem {
  row: number | null;
  /** 1-based line of the file where the row starts, when known. */
  line?: number;
  field: string;
  reason: string;
}

/** The local input cannot be used; `problems` name rows and fields, never values. */
export class InputError extends CliError {
  constructor(
    message: string,
    readonly problems: InputProblem[] = [],
    /** How many rows had problems in all (problems lists at most the first 100). */
    readonly invalidRows = 0,
  ) {
    super(EXIT.input, message);
  }
}
