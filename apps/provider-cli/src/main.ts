#!/usr/bin/env node
/**
 * ggz-provider: the command-line tool for GGZ providers (README, "Provider command-line tool").
 * Runs on the provider's machine with only the API URL, a bearer token and, for stage 1, the
 * providers' shared key: no database, Redis or server secrets.
 */
import { runCli } from './cli';

void runCli(process.argv.slice(2), { env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then((code) => {
  // Set rather than exit: whatever is still buffered for stdout is written first.
  process.exitCode = code;
});
