/**
 * One owner per table (issue 16, first step): every table the migrations create has an owning
 * lib, and no other lib or app names it in SQL. The crossings that exist today are listed in
 * KNOWN_CROSSINGS; the list may only shrink — a new crossing fails this test, and so does an
 * entry that no longer occurs (remove it when you move the query to its owner). Schema `ttp` has
 * its own wall (libs/ttp/src/wall.spec.ts). Reads the sources, like that wall.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '../../../..');

const OWNERS: Record<string, string> = {
  access_log: 'libs/platform',
  access_log_anchor: 'libs/platform',
  access_log_checkpoint: 'libs/platform',
  access_log_purging: 'libs/platform',
  referral: 'libs/referrals',
  provider: 'libs/waitlists',
  provider_location: 'libs/waitlists',
  insurer_contract: 'libs/waitlists',
  wait_time: 'libs/waitlists',
  wait_time_current: 'libs/waitlists',
  registry_version: 'libs/waitlists',
  waiting_list_region: 'libs/waitlists',
  norm_set: 'libs/mediation',
  mediation_policy: 'libs/mediation',
  mediation_task: 'libs/mediation',
  task_event: 'libs/mediation',
  task_access: 'libs/mediation',
  referral_evaluation: 'libs/mediation',
  referral_judgement: 'libs/mediation',
  evaluation_catch_up: 'libs/mediation',
  daily_run: 'libs/mediation',
};

/** Today's crossings ("file: table"), to be moved behind their owners' services. */
const KNOWN_CROSSINGS = [
  'libs/mediation/src/evaluation-replay.service.ts: referral',
  'libs/mediation/src/referral-evaluation.service.ts: insurer_contract',
  'libs/mediation/src/referral-evaluation.service.ts: provider',
  'libs/mediation/src/referral-evaluation.service.ts: provider_location',
  'libs/mediation/src/referral-evaluation.service.ts: referral',
  'libs/mediation/src/referral-evaluation.service.ts: registry_version',
  'libs/mediation/src/referral-evaluation.service.ts: wait_time_current',
  'libs/mediation/src/reports/mediation-report.service.ts: provider',
  'libs/mediation/src/reports/mediation-report.service.ts: provider_location',
  'libs/mediation/src/reports/mediation-report.service.ts: referral',
  'libs/mediation/src/reports/mediation-report.service.ts: wait_time',
  'libs/mediation/src/worklist.service.ts: provider_location',
  'libs/mediation/src/worklist.service.ts: referral',
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sources(p);
    return p.endsWith('.ts') && !p.endsWith('.spec.ts') ? [p] : [];
  });
}

/** Tables named in SQL of a source text: after FROM, JOIN, INTO, UPDATE, TABLE or ONLY. */
export function tablesNamed(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/\b(?:FROM|JOIN|INTO|UPDATE|TABLE|ONLY)\s+"?([a-z_]+)"?(?![a-z_.])/gi)) if (m[1] in OWNERS) out.add(m[1]);
  return [...out];
}

/** `apps/api` or `libs/mediation`: the app or lib a file belongs to. */
const ownerOf = (file: string) => relative(ROOT, file).split('/').slice(0, 2).join('/');

function crossings(): string[] {
  const files = [...sources(join(ROOT, 'apps')), ...sources(join(ROOT, 'libs'))];
  return files
    .flatMap((f) =>
      tablesNamed(readFileSync(f, 'utf8'))
        .filter((t) => OWNERS[t] !== ownerOf(f))
        .map((t) => `${relative(ROOT, f)}: ${t}`),
    )
    .sort();
}

describe('one owner per table', () => {
  it('gives every table the migrations create an owning lib', () => {
    const created = new Set<string>();
    for (const f of readdirSync(join(ROOT, 'migrations')).filter((n) => /^\d+-.*\.ts$/.test(n))) {
      for (const m of readFileSync(join(ROOT, 'migrations', f), 'utf8').matchAll(/CREATE TABLE "([a-z_]+)"(?!\.)/g)) created.add(m[1]);
    }
    expect([...created].filter((t) => !(t in OWNERS)).sort()).toEqual([]);
  });

  it('lets no other lib or app name a table in SQL beyond the crossings known today (a list that may only shrink)', () => {
    const now = crossings();
    expect({ new: now.filter((c) => !KNOWN_CROSSINGS.includes(c)), gone: KNOWN_CROSSINGS.filter((c) => !now.includes(c)) }).toEqual({ new: [], gone: [] });
  });

  it('reads table names the way SQL writes them', () => {
    expect(tablesNamed('SELECT 1 FROM referral r JOIN "mediation_task" t ON … INSERT INTO access_log (…) UPDATE wait_time_current SET')).toEqual([
      'referral',
      'mediation_task',
      'access_log',
      'wait_time_current',
    ]);
    // Not a table: a column, a table of another schema, a word in prose.
    expect(tablesNamed('SELECT referral_id FROM archive.referral; -- the referral from the provider')).toEqual([]);
  });
});
