/**
 * Replay of every decision stored in a test database with today's code (see
 * libs/mediation/src/replay.ts). Files with a database of their own drop it through
 * replayThenDrop, and the global teardown replays the run's shared database: the suite fails when
 * any decision it made comes out different.
 */
import { Client } from 'pg';
import { dropDatabase } from '@app/platform';
import { ReplayReport, replayStoredDecisions } from '@app/mediation';

export async function replayAll(url: string): Promise<ReplayReport> {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    return await replayStoredDecisions({ query: async (sql, params) => (await db.query(sql, params)).rows }, { uzovis: null, maxDifferences: 20 });
  } finally {
    await db.end();
  }
}

/** Replays, drops the database, then throws when a decision came out different. */
export async function replayThenDrop(url: string): Promise<ReplayReport> {
  let report: ReplayReport | undefined;
  try {
    report = await replayAll(url);
  } finally {
    await dropDatabase(url);
  }
  if (report.differing > 0) throw new Error(`replay: ${report.differing} of ${report.checked} stored decisions differ, e.g. ${JSON.stringify(report.differences.slice(0, 3))}`);
  return report;
}
