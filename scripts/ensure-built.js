#!/usr/bin/env node
// Builds the project once when dist/ is missing or older than the sources, so that
// `npm run token`, `npm run migration:run` and friends work straight after cloning.
const { existsSync, statSync, readdirSync } = require('node:fs');
const { join } = require('node:path');
const { execSync } = require('node:child_process');

const root = join(__dirname, '..');
// Both command-line entry points: `npm run token` and friends, and the provider tool (`npm run cli`).
const markers = ['dist/apps/cli/src/main.js', 'dist/apps/provider-cli/src/main.js'].map((m) => join(root, m));

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

const sources = Math.max(...['apps', 'libs', 'migrations'].map((d) => newestSource(join(root, d))));
if (markers.some((marker) => !existsSync(marker) || statSync(marker).mtimeMs < sources)) {
  process.stderr.write('building (dist/ is missing or out of date)…\n');
  execSync('npx nest build', { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}
