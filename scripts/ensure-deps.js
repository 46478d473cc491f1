#!/usr/bin/env node
// Installs dependencies when node_modules is missing or older than package-lock.json, so that
// `npm start` and `npm test` are the only commands a fresh clone needs. Plain Node, no deps.
const { existsSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { execSync } = require('node:child_process');

const root = join(__dirname, '..');
const installed = join(root, 'node_modules/.package-lock.json');
const lock = join(root, 'package-lock.json');

if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  process.stderr.write('installing dependencies…\n');
  const run = (cmd) => execSync(cmd, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    run('npm ci --no-audit --no-fund');
  } catch {
    // npm 11.16+ may refuse its own lock file over other platforms' optional packages
    // (npm/cli#9846); an install that keeps the lock file does the same job.
    run('npm install --no-audit --no-fund --no-save');
  }
}
