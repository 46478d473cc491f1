/**
 * `npm run generate:snapshots -- --entries N --providers P --dup-rate R [--pre-share S]
 * [--repeat-rate Q] [--seed X] [--out DIR]`: synthetic waiting-list snapshots for the TTP, with the
 * answer a correct linkage must find.
 *
 * The providers are the first P of the demo registry (generateDemoRegistry with its default seed
 * and max(P, 400) providers): for P ≤ 400 exactly the providers and locations `npm start` loads,
 * so each file can be uploaded as that provider (POST /v1/ttp/snapshots). Above 400 the registry
 * is a different one (the generator's stream shifts with the count), which must be loaded first.
 *
 * Writes into DIR (default ./snapshots): one `<agb>.csv` per provider, and `ground-truth.json` —
 * the generator's parameters, national figures, per provider (entries, distinct people, also
 * elsewhere and, up to 100,000 in all, the feedback per clientRef), per region and diagnosis
 * group, the 50 largest provider overlaps with the number of pairs, and the cleaned waiting times.
 * When the per-clientRef feedback is larger it goes to `ground-truth-feedback.ndjson` instead
 * (one line per provider). Pre-pseudonyms use the configured stage-1 key (TTP_STAGE1_KEY), so
 * the API pseudonymises both kinds of row alike. The clock is read once, for today's date.
 */
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { amsterdamDate } from '@app/core';
import { groundTruth, planSnapshots, snapshotCsv } from '@app/ttp';
import { generateDemoRegistry } from '@app/waitlists';

export interface GenerateSnapshotsOptions {
  entries: number;
  providers: number;
  dupRate: number;
  preShare: number;
  repeatRate: number;
  seed: number;
  out: string;
}

/** The demo registry `npm start` loads has this many providers. */
const DEMO_PROVIDERS = 400;
const MAX_ENTRIES = 5_000_000;
const MAX_PROVIDERS = 10_000;
const INLINE_REFS = 100_000;
const TOP_PAIRS = 50;
const FLAGS = ['entries', 'providers', 'dup-rate', 'pre-share', 'repeat-rate', 'seed', 'out'];

export const GENERATE_SNAPSHOTS_USAGE =
  'generate:snapshots --entries N --providers P --dup-rate R [--pre-share S (0.3)] [--repeat-rate Q (0)] [--seed X (1)] [--out DIR (./snapshots)]';

/** The command's options from its flags, or the usage problem in words. */
export function readGenerateFlags(f: Record<string, string>): GenerateSnapshotsOptions | string {
  const unknown = Object.keys(f).filter((k) => !FLAGS.includes(k));
  if (unknown.length > 0) return `unknown flag --${unknown[0]}; usage: ${GENERATE_SNAPSHOTS_USAGE}`;
  for (const k of ['entries', 'providers', 'dup-rate']) if (f[k] === undefined) return `--${k} is required; usage: ${GENERATE_SNAPSHOTS_USAGE}`;
  const num = (k: string, fallback: number) => (f[k] === undefined ? fallback : f[k].trim() === '' ? NaN : Number(f[k]));
  const entries = num('entries', 0);
  const providers = num('providers', 0);
  const dupRate = num('dup-rate', 0.2);
  const preShare = num('pre-share', 0.3);
  const repeatRate = num('repeat-rate', 0);
  const seed = num('seed', 1);
  if (!(Number.isInteger(entries) && entries >= 1 && entries <= MAX_ENTRIES)) return `--entries must be a whole number 1–${MAX_ENTRIES.toLocaleString('en')}`;
  if (!(Number.isInteger(providers) && providers >= 1 && providers <= MAX_PROVIDERS)) return `--providers must be a whole number 1–${MAX_PROVIDERS}`;
  if (!(dupRate >= 0 && dupRate <= 1)) return '--dup-rate must be a fraction 0–1 (of the distinct people, e.g. 0.2)';
  if (dupRate > 0 && providers < 2) return '--dup-rate above 0 needs --providers 2 or more';
  if (!(preShare >= 0 && preShare <= 1)) return '--pre-share must be a fraction 0–1 (of the providers)';
  if (!(repeatRate >= 0 && repeatRate <= 0.5)) return '--repeat-rate must be a fraction 0–0.5 (of the entries)';
  if (!Number.isSafeInteger(seed)) return '--seed must be a whole number';
  if (f.out !== undefined && f.out.trim() === '') return '--out must be a directory';
  return { entries, providers, dupRate, preShare, repeatRate, seed, out: resolve(f.out ?? 'snapshots') };
}

const n = (x: number) => String(x).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const pct = (x: number, of: number) => `${of === 0 ? '0.0' : ((100 * x) / of).toFixed(1)} %`;

/** Plans, writes the files and returns the summary paragraph. */
export function generateSnapshots(o: GenerateSnapshotsOptions, stage1Key: Buffer, now = new Date()): string {
  const t0 = performance.now();
  const today = amsterdamDate(now);
  const registryProviders = Math.max(o.providers, DEMO_PROVIDERS);
  const registry = generateDemoRegistry({ today, providers: registryProviders });
  const plan = planSnapshots({
    today,
    locations: registry.locations,
    entries: o.entries,
    providers: o.providers,
    dupRate: o.dupRate,
    preShare: o.preShare,
    repeatRate: o.repeatRate,
    seed: o.seed,
    stage1Key,
  });

  mkdirSync(o.out, { recursive: true });
  const ours = new Set(plan.providers.map((p) => `${p.agb}.csv`));
  const stale = readdirSync(o.out).filter((f) => /^\d{8}\.csv$/.test(f) && !ours.has(f));
  plan.providers.forEach((p, i) => writeFileSync(join(o.out, `${p.agb}.csv`), snapshotCsv(plan, i)));

  const truth = groundTruth(plan);
  const refs = truth.perProvider.reduce((s, p) => s + p.alsoElsewhereRefs.length, 0);
  const inline = refs <= INLINE_REFS;
  const feedbackFile = join(o.out, 'ground-truth-feedback.ndjson');
  // The feedback file of an earlier, bigger run would mislead: it goes.
  if (inline) rmSync(feedbackFile, { force: true });
  else {
    const fd = openSync(feedbackFile, 'w');
    try {
      for (const p of truth.perProvider) writeSync(fd, JSON.stringify({ agb: p.agb, alsoElsewhereRefs: p.alsoElsewhereRefs }) + '\n');
    } finally {
      closeSync(fd);
    }
  }
  const file = {
    generator: {
      today,
      entries: o.entries,
      providers: o.providers,
      dupRate: o.dupRate,
      preShare: o.preShare,
      repeatRate: o.repeatRate,
      seed: o.seed,
      registry: { generator: 'generateDemoRegistry', providers: registryProviders, seed: 1, sameAsDemo: registryProviders === DEMO_PROVIDERS },
      people: plan.people,
      repeatEntries: plan.repeatEntries,
      prePseudonymProviders: plan.providers.filter((p) => p.sendsPrePseudonym).map((p) => p.agb),
    },
    national: truth.national,
    perProvider: truth.perProvider.map(({ alsoElsewhereRefs, ...p }) =>
      inline ? { ...p, alsoElsewhereEntries: alsoElsewhereRefs.length, alsoElsewhereRefs } : { ...p, alsoElsewhereEntries: alsoElsewhereRefs.length },
    ),
    feedback: inline ? 'inline: perProvider[].alsoElsewhereRefs' : `${refs} entries, in ground-truth-feedback.ndjson (one line per provider)`,
    byRegion: truth.byRegion,
    byDiagnosisGroup: truth.byDiagnosisGroup,
    pairs: { count: truth.pairs.length, top: truth.pairs.slice(0, TOP_PAIRS) },
    cleanedWaits: truth.cleanedWaits,
  };
  writeFileSync(join(o.out, 'ground-truth.json'), JSON.stringify(file, null, 1) + '\n');

  const on = truth.national.peopleOn;
  const several = on['2'] + on['3'] + on['4+'];
  const pre = file.generator.prePseudonymProviders.length;
  const notes = [
    o.providers > DEMO_PROVIDERS
      ? `note: with more than ${DEMO_PROVIDERS} providers the registry is generateDemoRegistry({ providers: ${registryProviders} }), ` +
        'not the demo registry npm start loads (other providers and locations): load it before uploading.'
      : '',
    stale.length > 0 ? `note: ${o.out} also holds ${stale.length} other <agb>.csv file(s) from an earlier run, not part of this ground truth.` : '',
  ].filter(Boolean);
  return (
    `Wrote ${n(o.providers)} snapshots with ${n(o.entries)} entries to ${o.out} (as of ${today}; ${pre} provider(s) send pre-pseudonyms, ` +
    `the others BSNs): ${n(truth.national.distinctPeople)} distinct people, of whom ${n(several)} (${pct(several, truth.national.distinctPeople)}) ` +
    `wait on several providers' lists — ${n(on['2'])} on 2, ${n(on['3'])} on 3 and ${n(on['4+'])} on 4 or more; ${n(plan.repeatEntries)} repeated ` +
    `entries; ${n(truth.pairs.length)} provider pairs share people. Ground truth in ground-truth.json` +
    `${inline ? '' : ` (feedback per clientRef in ground-truth-feedback.ndjson)`}; took ${((performance.now() - t0) / 1000).toFixed(1)} s.` +
    notes.map((x) => `\n${x}`).join('')
  );
}
