/**
 * The TTP is a wall, not a folder: outside libs/ttp, code may use only what libs/ttp/src/index.ts
 * exports, and nothing reads or writes schema `ttp` (migrations excepted). This test reads the
 * sources, so a new import or query that breaks the rule fails the suite.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '../../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

const outside = [...sources(join(ROOT, 'apps')), ...sources(join(ROOT, 'libs'))].filter((f) => !f.startsWith(join(ROOT, 'libs/ttp/')));

describe('the TTP wall', () => {
  it('is entered only through @app/ttp (its index), never through its internals', () => {
    const deep = /(?:from|import|require\()\s*\(?\s*['"](@app\/ttp\/|[./]*libs\/ttp\/|(\.\.\/)+ttp\/src)/;
    const offenders = outside.filter((f) => deep.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => relative(ROOT, f))).toEqual([]);
  });

  it('keeps schema ttp to itself: no code outside libs/ttp names its tables', () => {
    const offenders = outside.filter((f) =>
      /\bttp\s*\.\s*"?[a-z_]+/i.test(readFileSync(f, 'utf8').replace(/config\.ttp\.|this\.config\.ttp|\.ttp\.(stage1Key|keys|currentKeyVersion|maxUploadBytes)/g, '')),
    );
    expect(offenders.map((f) => relative(ROOT, f))).toEqual([]);
  });

  it('exports nothing person-level: its entry point offers the module, its services, its queue, the report formatter, constants and the synthetic generator', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const api = require('./index');
    expect(Object.keys(api).sort()).toEqual(
      [
        'ENTRY_STAGES',
        'LinkageService',
        'REPORT_LEGEND',
        'SNAPSHOT_COLUMNS',
        'SnapshotUploadService',
        'TTP_LINKAGE_QUEUE',
        'TtpModule',
        'TtpOutputsService',
        'insurerReportCsv',
        'scheduleNightlyLinkage',
        'SNAPSHOT_CSV_HEADER',
        'groundTruth',
        'planSnapshots',
        'snapshotCsv',
        'snapshotRows',
      ].sort(),
    );
  });
});
