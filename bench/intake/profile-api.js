#!/usr/bin/env node
/**
 * Runs the built API under the V8 sampling profiler, for `BENCH_CPU_PROF=1 npm run bench:intake`.
 * Usage: node bench/intake/profile-api.js dist/apps/api/src/main.js
 *
 * `node --cpu-prof` only writes its profile on a normal exit, and Nest's shutdown hooks end the
 * process by re-raising SIGTERM, so this wrapper drives the profiler itself. It is started with
 * an IPC channel (no signal is free: Nest's enableShutdownHooks() closes the app on SIGUSR2 and
 * Node keeps SIGUSR1 for the inspector), and each { type: 'profile' } message writes
 * the profile gathered so far to $BENCH_PROFILE_DIR/$BENCH_PROFILE_PREFIX-<name>.cpuprofile.json,
 * <name> taken in turn from the comma-separated $BENCH_PROFILE_NAMES (run.js passes the scenario
 * names), and starts a new profile.
 * Open the files in Chrome DevTools (Performance tab) or summarise them with
 * `node bench/intake/profile-summary.js <file>`.
 */
'use strict';

const inspector = require('node:inspector');
const { writeFileSync, mkdirSync } = require('node:fs');
const path = require('node:path');

const entry = process.argv[2];
if (!entry) {
  console.error('usage: profile-api.js <entry.js>');
  process.exit(2);
}
const dir = process.env.BENCH_PROFILE_DIR ?? path.join(process.cwd(), 'bench/results');
const prefix = process.env.BENCH_PROFILE_PREFIX ?? `api-${process.pid}`;
const names = (process.env.BENCH_PROFILE_NAMES ?? '').split(',').filter(Boolean);
mkdirSync(dir, { recursive: true });

const session = new inspector.Session();
session.connect();
const post = (method, params) => new Promise((resolve, reject) => session.post(method, params ?? {}, (e, r) => (e ? reject(e) : resolve(r))));

let n = 0;
async function start() {
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 }); // µs
  await post('Profiler.start');
}

process.on('message', async (m) => {
  if (!m || m.type !== 'profile') return;
  try {
    const { profile } = await post('Profiler.stop');
    const label = names[n] ?? String(n);
    n++;
    const file = path.join(dir, `${prefix}-${label}.cpuprofile.json`);
    writeFileSync(file, JSON.stringify(profile));
    await start();
    process.send({ type: 'profile-written', file });
  } catch (e) {
    console.error(`profile-api: ${e.message}`);
    process.send({ type: 'profile-failed', error: e.message });
  }
});

if (!process.send) {
  console.error('profile-api.js must be started with an IPC channel (run.js does this)');
  process.exit(2);
}
// The channel must not keep the process alive once the API has closed.
process.channel?.unref();

start().then(() => {
  process.argv = [process.argv[0], path.resolve(entry), ...process.argv.slice(3)];
  require(path.resolve(entry));
});
