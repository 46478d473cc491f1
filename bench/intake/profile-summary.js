#!/usr/bin/env node
/**
 * Summarises a V8 CPU profile (from `BENCH_CPU_PROF=1 npm run bench:intake` or `node --cpu-prof`):
 * self time by package / project area, the top functions by self time, and the inclusive time
 * of a few project functions on the intake path.
 * Usage: node bench/intake/profile-summary.js <file.cpuprofile[.json]> [topN=25]
 */
'use strict';

const { readFileSync } = require('node:fs');

const file = process.argv[2];
if (!file) {
  console.error('usage: profile-summary.js <profile> [topN]');
  process.exit(2);
}
const topN = Number(process.argv[3] ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Self time per node from samples and time deltas.
const self = new Map();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  total += dt;
}

function area(url) {
  if (!url) return '(native / V8)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.startsWith('node:')) return 'node core';
  const d = /\/dist\/((?:apps|libs)\/[^/]+|migrations)/.exec(url);
  if (d) return `project: ${d[1]}`;
  return url;
}

const byArea = new Map();
const byFn = new Map();
for (const [id, t] of self) {
  const n = nodes.get(id);
  const cf = n.callFrame;
  const a =
    cf.functionName === '(garbage collector)' ? '(garbage collector)' : cf.functionName === '(idle)' ? '(idle)' : cf.functionName === '(program)' ? '(program)' : area(cf.url);
  byArea.set(a, (byArea.get(a) ?? 0) + t);
  const key = `${cf.functionName || '(anonymous)'}  ${cf.url ? `${cf.url.replace(/^.*?(node_modules|dist)\//, '$1/')}:${cf.lineNumber + 1}` : ''}`;
  byFn.set(key, (byFn.get(key) ?? 0) + t);
}

const idle = byArea.get('(idle)') ?? 0;
const busy = total - idle;
const pct = (t, of = busy) => `${((t / of) * 100).toFixed(1).padStart(5)}%`;
console.log(`${file}\n  sampled ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (${pct(busy, total)} of wall); shares below are of busy time\n`);
console.log('self time by area:');
for (const [a, t] of [...byArea]
  .filter(([a]) => a !== '(idle)')
  .sort((x, y) => y[1] - x[1])
  .slice(0, 20))
  console.log(`  ${pct(t)}  ${a}`);
console.log(`\ntop ${topN} functions by self time:`);
for (const [f, t] of [...byFn]
  .filter(([f]) => !f.startsWith('(idle)'))
  .sort((x, y) => y[1] - x[1])
  .slice(0, topN))
  console.log(`  ${pct(t)}  ${f}`);

// Inclusive time of selected functions (each sample counted once per function name on its stack).
const watch = [
  'validatePlain',
  'plainToInstance',
  'validateSync',
  'seal',
  'store',
  'enqueue',
  'addBulk',
  'query',
  'verify',
  'canActivate',
  'parse',
  'stringify',
  'serialize',
  'deliverBatch',
  'deliver',
  'transform',
  'whoami',
];
const inclusive = new Map(watch.map((w) => [w, 0]));
for (const [id, t] of self) {
  const seen = new Set();
  let cur = id;
  while (cur !== undefined) {
    const name = nodes.get(cur).callFrame.functionName;
    if (inclusive.has(name) && !seen.has(name)) {
      inclusive.set(name, inclusive.get(name) + t);
      seen.add(name);
    }
    cur = parent.get(cur);
  }
}
console.log('\ninclusive time of selected function names (any file):');
for (const [w, t] of [...inclusive].filter(([, t]) => t > 0).sort((x, y) => y[1] - x[1])) console.log(`  ${pct(t)}  ${w}`);
