/**
 * The worker SIGKILLed between reading a batch's inputs and storing its decisions, right after a
 * provider corrected its figures: after a restart every referral ends with a decision on the
 * corrected figures (its current generation judged), the phase rule applied to its task, and a
 * replay of every stored decision finds no difference. The held window comes from
 * EVALUATION_TEST_HOLD_MS (refused in production).
 */
import { amsterdamDate } from '@app/core';
import { replayStoredDecisions } from '@app/mediation';
import { DECISION_INPUTS_LOCK } from '@app/referrals';
import { dropFaultDb, Db, FaultEnv, faultEnv, http, referralMessage, Service, token, waitUntil } from './support/faults';

jest.setTimeout(180_000);

const AGB = '73300001';
let f: FaultEnv;
let api: Service;
let db: Db;
const month = amsterdamDate(new Date()).slice(0, 7);
const rs = () => token('referral-service', { uzovi: ['3311'], subject: 'zorgdomein' });
const provider = () => token('provider', { agb: AGB, subject: `provider-${AGB}` });

async function publish(aanmeldWeeks: number): Promise<number> {
  const res = await http(api.url, 'POST', `/v1/providers/${AGB}/wait-times`, {
    token: provider(),
    body: { month, figures: [{ location: 'a', diagnosisGroup: 'angst', aanmeldWeeks, behandelWeeks: 3 }] },
  });
  expect(res.status).toBe(201);
  return res.body.reevaluating;
}

const pending = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM referral WHERE status = 'pending'`))[0].n;

beforeAll(async () => {
  f = await faultEnv('decision');
  db = new Db(f.dbUrl);
  api = await Service.api(f.env);
  await db.query(`INSERT INTO provider (agb, name) VALUES ($1, 'Crash GGZ')`, [AGB]);
  await db.query(
    `INSERT INTO provider_location (agb, code, name, postcode, municipality, region, diagnosis_groups) VALUES ($1, 'a', 'Crash GGZ a', '3511AB', 'Utrecht', 'utrecht', '{angst}')`,
    [AGB],
  );
  await db.query(`INSERT INTO insurer_contract (uzovi, agb, valid_from) VALUES ('3311', $1, '2025-01-01')`, [AGB]);
});
afterAll(async () => {
  await Service.stopAll();
  await db?.close();
  if (f) await dropFaultDb(f);
});

it('SIGKILL between reading the corrected figures and storing the decisions: after a restart every referral is decided on them', async () => {
  await publish(9);
  const messages = Array.from({ length: 40 }, () => referralMessage({ agb: AGB, klachtenprofiel: 'angst', verwijsdatum: amsterdamDate(new Date(Date.now() - 2 * 86_400_000)) }));
  expect((await http(api.url, 'POST', '/v1/referrals/batch', { token: rs(), body: { messages } })).status).toBe(200);
  const first = await Service.worker({ ...f.env, EVALUATION_BATCH_SIZE: '5' });
  await waitUntil(async () => (await pending()) === 0, 60_000, 50);
  await first.stop();
  expect((await db.query(`SELECT count(*)::int AS n FROM mediation_task WHERE status = 'open'`))[0].n).toBe(40);

  // A worker that holds every batch for 5 s between reading and storing; the correction arrives.
  const held = await Service.worker({ ...f.env, EVALUATION_BATCH_SIZE: '5', WORKER_CONCURRENCY: '2', EVALUATION_TEST_HOLD_MS: '5000' });
  expect(await publish(1)).toBe(40);
  // Killed while a batch holds the decision lock, i.e. between its reads and its writes.
  await waitUntil(
    async () =>
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.objid = $1 AND l.mode = 'ShareLock' AND l.granted AND a.application_name = 'ggz-worker' AND a.datname = $2`,
          [DECISION_INPUTS_LOCK, f.dbName],
        )
      )[0].n > 0,
    30_000,
    20,
  );
  held.kill('SIGKILL');
  await held.exited;
  await waitUntil(
    async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'ggz-worker'`, [f.dbName]))[0].n === 0,
    10_000,
    20,
  );
  // Nothing of the killed batches was stored: all forty still want a decision on the correction.
  expect(await pending()).toBe(40);

  const startedAt = performance.now();
  const worker = await Service.worker(f.env);
  await waitUntil(async () => (await pending()) === 0, 60_000, 100);
  const tookMs = Math.round(performance.now() - startedAt);
  const end = await db.query(
    `SELECT r.generation, r.judged_generation, r.verdict, t.status, t.outcome,
            (SELECT e.explanation -> 'waits' -> 0 ->> 'aanmeldWeeks' FROM referral_evaluation e WHERE e.referral_id = r.id ORDER BY e.evaluated_at DESC, e.id DESC LIMIT 1) AS aanmeld
       FROM referral r JOIN mediation_task t ON t.referral_id = r.id`,
  );
  expect(end).toHaveLength(40);
  for (const r of end) {
    expect(r).toMatchObject({ verdict: 'within-norm', aanmeld: '1', status: 'closed', outcome: 'phase-withdrawn' });
    expect(r.judged_generation).toBe(r.generation);
  }
  const replay = await replayStoredDecisions(db, { uzovis: null });
  expect(replay).toMatchObject({ differing: 0 });
  await worker.stop();
  console.log(
    `fault worker-sigkill-decision: 40 referrals, correction received, worker killed inside a held batch; after the restart all 40 decided on the correction in ${tookMs} ms ` +
      `(tasks withdrawn: 40); replay of ${replay.checked} decisions: 0 differ`,
  );
});
