/**
 * TTP test helpers shared by the suites that upload snapshots and run the linkage.
 *
 * Feedback names a person only once they were on the provider's list in two snapshots at least
 * TTP_FEEDBACK_MIN_DAYS (7) apart. Time is moved, not faked: `ageSnapshots` makes the snapshots
 * in force (and the sightings of their people) `days` older, as if uploaded then; the caller then
 * uploads the same lists again — the second snapshot.
 */
import { Client } from 'pg';
import { http, token, waitFor } from './harness';

export async function ageSnapshots(db: Client, days: number): Promise<void> {
  await db.query(`UPDATE ttp.snapshot SET uploaded_at = uploaded_at - make_interval(days => $1)`, [days]);
  await db.query(`UPDATE ttp.list_presence SET first_seen_at = first_seen_at - make_interval(days => $1), last_seen_at = last_seen_at - make_interval(days => $1)`, [days]);
  await db.query(`UPDATE ttp.snapshot_accepted SET at = at - make_interval(days => $1)`, [days]);
}

/** Starts a linkage run as the TTP operator and waits until the worker has finished it (done or failed). */
export async function runLinkage(apiUrl: string, subject = 'ttp-op-test'): Promise<Record<string, any> & { httpStatus: number }> {
  const operator = token('ttp-operator', { subject });
  const start = await http(apiUrl, 'POST', '/v1/ttp/runs', { token: operator });
  if (![200, 202].includes(start.status)) throw new Error(`POST /v1/ttp/runs answered ${start.status}: ${JSON.stringify(start.body)}`);
  return waitFor(async () => {
    const res = await http(apiUrl, 'GET', `/v1/ttp/runs/${start.body.id}`, { token: operator });
    return res.body.status === 'done' || res.body.status === 'failed' ? { ...res.body, httpStatus: start.status } : undefined;
  }, 60_000);
}
