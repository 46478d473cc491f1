/** Replays every decision stored in a test database with today's code (see libs/mediation/src/replay.ts). */
import { Client } from 'pg';
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
