/** The whole tool as a function of its arguments and streams: returns the exit code, never exits. */
import { parseCommandLine } from './args';
import { RUN, Io, problemLines } from './commands';
import { CliError, EXIT, InputError } from './errors';

export async function runCli(argv: string[], io: Io): Promise<number> {
  try {
    const parsed = parseCommandLine(argv);
    if ('help' in parsed) {
      io.stdout.write(parsed.help + '\n');
      return EXIT.ok;
    }
    return await RUN[parsed.command](parsed, io);
  } catch (e) {
    if (e instanceof InputError) {
      const more = e.invalidRows > e.problems.length ? [`  … ${e.invalidRows - e.problems.length} more row(s) with problems`] : [];
      io.stderr.write(['ggz-provider: ' + e.message, ...problemLines(e.problems), ...more].join('\n') + '\n');
      return e.exitCode;
    }
    if (e instanceof CliError) {
      io.stderr.write(`ggz-provider: ${e.message}\n`);
      return e.exitCode;
    }
    // Not foreseen: say so, without a stack full of paths unless asked for.
    io.stderr.write(`ggz-provider: unexpected failure: ${(e as Error)?.message ?? String(e)}\n${io.env.GGZ_DEBUG ? `${(e as Error)?.stack}\n` : ''}`);
    return EXIT.unexpected;
  }
}
