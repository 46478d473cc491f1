#!/usr/bin/env node
// Builds the project once when dist/ is missing or older than the sources, so that
// `npm run token`, `npm run migration:run` and friends work straight after cloning.
const { existsSync, statSync, readdirSync } = require('node:fs');
const { join } = require('node:path');
const { execSync } = require('node:child_process');

const root = join(__dirname, '..');
const marker = join(root, 'dist/apps/cli/src/main.js');

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
if (!existsSync(marker) || statSync(marker).mtimeMs < sources) {
  process.stderr.write('building (dist/ is missing or out of date)…\n');
  execSync('npx nest build', { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}
