/**
 * Deduplication against a known answer: a generated national set (the synthetic snapshot
 * generator, with its ground truth computed from its own person model, not from SQL) uploaded
 * through the API by every provider, linked by the worker, and every output compared with the
 * ground truth — counts exactly, suppressed cells by what they stand for, each provider's
 * feedback reference by reference, cleaned waiting times cell by cell.
 *
 * A run links every snapshot in force, so this file works in a database of its own.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { amsterdamDate, splitRecord } from '@app/core';
import { ensureDatabase } from '@app/platform';
import { groundTruth, planSnapshots, snapshotCsv, SnapshotPlan } from '@app/ttp';
import { generateDemoRegistry, loadDemoRegistry } from '@app/waitlists';
import { http, RunningApi, RunningWorker, startApi, startWorker, token, waitFor } from './support/harness';
import { replayThenDrop } from './support/replay';

const url = (() => {
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.pathname = `${u.pathname}_dd${randomBytes(3).toString('hex')}`;
  return u.toString();
})();
const env = { DATABASE_URL: url, QUEUE_PREFIX: `${process.env.TEST_QUEUE_PREFIX}_dd`, TTP_LINKAGE_CRON: 'off' };

let api: RunningApi;
let worker: RunningWorker;
let db: Client;
const today = amsterdamDate(new Date());
let plan: SnapshotPlan;
let truth: ReturnType<typeof groundTruth>;
let run: Record<string, any>;
/**
 * One provider's client references all begin with "=" (a formula to a spreadsheet): its snapshot
 * file is data and must keep them as they are (the feedback in JSON names "=K…"), and the CSV
 * feedback, an export, must neutralise them.
 */
let formulaAgb: string;
const formulaRef = (ref: string) => `=${ref}`;
const uploadBody = (i: number) => {
  const csv = snapshotCsv(plan, i);
  if (plan.providers[i].agb !== formulaAgb) return csv;
  const [header, ...rows] = csv.split('\n');
  return [header, ...rows.map((r) => (r === '' ? r : formulaRef(r)))].join('\n');
};

/** A published count against the true one: exact, "<5" for 1–4, "x" (hidden to protect a "<5") for 5 or more, null in a withheld row. */
function shows(published: number | string | null, actual: number): boolean {
  if (published === null) return true; // a withheld row: nothing shown
  if (published === '<5') return actual >= 1 && actual <= 4;
  if (published === 'x') return actual >= 5;
  return published === actual && !(actual >= 1 && actual <= 4);
}

beforeAll(async () => {
  await ensureDatabase(url);
  api = await startApi(env);
  worker = await startWorker(env);
  db = new Client({ connectionString: url });
  await db.connect();

  const registry = generateDemoRegistry({ today, providers: 60, seed: 7 });
  // Only the providers and locations: declared waiting times are left out so that nothing is flagged by chance.
  await loadDemoRegistry({ query: async (sql, params) => (await db.query(sql, params)).rows }, { ...registry, waits: [] });
  plan = planSnapshots({
    today,
    locations: registry.locations,
    entries: 12_000,
    providers: 60,
    dupRate: 0.2,
    repeatRate: 0.02,
    preShare: 0.3,
    seed: 11,
    stage1Key: api.config.ttp.stage1Key,
  });
  truth = groundTruth(plan);
  formulaAgb = truth.perProvider.find((p) => p.alsoElsewhereRefs.length > 0)!.agb;

  let providers = [...plan.providers.keys()];
  const uploadNext = async () => {
    for (let i = providers.shift(); i !== undefined; i = providers.shift()) {
      const agb = plan.providers[i].agb;
      const res = await http(api.url, 'POST', '/v1/ttp/snapshots', {
        token: token('provider', { agb, subject: `provider-${agb}` }),
        rawBody: uploadBody(i),
        headers: { 'content-type': 'text/csv' },
      });
      if (res.status !== 201) throw new Error(`upload for ${agb}: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
    }
  };
  await Promise.all([uploadNext(), uploadNext(), uploadNext(), uploadNext()]);
  // Feedback names a person only once on the provider's list in two snapshots a week apart: the
  // snapshots in force are made eight days older (as if sent then), and every provider sends the
  // same list again.
  await db.query(`UPDATE ttp.snapshot SET uploaded_at = uploaded_at - interval '8 days'`);
  await db.query(`UPDATE ttp.list_presence SET first_seen_at = first_seen_at - interval '8 days', last_seen_at = last_seen_at - interval '8 days'`);
  await db.query(`UPDATE ttp.snapshot_accepted SET at = at - interval '8 days'`);
  providers = [...plan.providers.keys()];
  await Promise.all([uploadNext(), uploadNext(), uploadNext(), uploadNext()]);

  const operator = token('ttp-operator', { subject: 'ttp-op' });
  const start = await http(api.url, 'POST', '/v1/ttp/runs', { token: operator });
  expect(start.status).toBe(202);
  run = await waitFor(async () => {
    const res = await http(api.url, 'GET', `/v1/ttp/runs/${start.body.id}`, { token: operator });
    return ['done', 'failed'].includes(res.body.status) ? res.body : undefined;
  }, 60_000);
}, 120_000);
afterAll(async () => {
  await worker?.close();
  await api?.close();
  await db?.end();
  await replayThenDrop(url);
});

it('links the generated national set: duplicate counts equal the ground truth exactly', () => {
  expect(run.status).toBe('done');
  expect(truth.national.entries).toBe(12_000);
  // The set is what it claims to be: about a fifth of the people on several lists, people sent both ways.
  const several = truth.national.distinctPeople - truth.national.peopleOn['1'];
  expect(several / truth.national.distinctPeople).toBeGreaterThan(0.15);
  expect(plan.providers.some((p) => p.sendsPrePseudonym) && plan.providers.some((p) => !p.sendsPrePseudonym)).toBe(true);
  expect(run.counts).toMatchObject({
    providers: 60,
    entries: truth.national.entries,
    distinctPeople: truth.national.distinctPeople,
    peopleOnSeveralLists: several,
    feedbackEntries: truth.perProvider.reduce((n, p) => n + p.alsoElsewhereRefs.length, 0),
  });
});

it('reports to insurers what the ground truth says, with every count of 1–4 hidden', async () => {
  const res = await http(api.url, 'GET', '/v1/ttp/report', { token: token('mediation-lead', { uzovi: ['7095'] }) });
  expect(res.status).toBe(200);
  const report = res.body;
  const wrong: string[] = [];
  const check = (what: string, published: number | string, actual: number) => {
    if (!shows(published, actual)) wrong.push(`${what}: published ${published}, actually ${actual}`);
  };
  const checkRow = (what: string, r: any, t: { entries: number; distinctPeople: number; peopleOn: { '1': number; '2': number; '3': number; '4+': number } }) => {
    check(`${what} entries`, r.entries, t.entries);
    check(`${what} distinct`, r.distinctPeople, t.distinctPeople);
    for (const k of ['1', '2', '3', '4+'] as const) check(`${what} on ${k}`, r.peopleOn[k], t.peopleOn[k]);
  };
  checkRow('national', report.national, truth.national);
  expect(report.national.peopleOn['2']).toBe(truth.national.peopleOn['2']);

  expect(report.providers.map((p: { agb: string }) => p.agb)).toEqual(truth.perProvider.map((p) => p.agb));
  for (const [i, p] of truth.perProvider.entries()) {
    const r = report.providers[i];
    check(`${p.agb} entries`, r.entries, p.entries);
    check(`${p.agb} distinct`, r.distinctPeople, p.distinctPeople);
    check(`${p.agb} also elsewhere`, r.alsoElsewhere, p.alsoElsewhere);
  }
  expect(report.regions.map((r: { region: string }) => r.region)).toEqual(truth.byRegion.map((r) => r.key));
  for (const [i, t] of truth.byRegion.entries()) checkRow(`region ${t.key}`, report.regions[i], t);
  expect(report.diagnosisGroups.map((g: { diagnosisGroup: string }) => g.diagnosisGroup)).toEqual(truth.byDiagnosisGroup.map((g) => g.key));
  for (const [i, t] of truth.byDiagnosisGroup.entries()) checkRow(`group ${t.key}`, report.diagnosisGroups[i], t);
  expect(wrong).toEqual([]);
  // Small providers and rare groups make small cells, so suppression has work to do here.
  const cells = JSON.stringify([report.providers, report.regions, report.diagnosisGroups]);
  expect(cells).toContain('"<5"');
  expect(cells).toContain('"x"');

  expect(report.largestOverlaps).toEqual(
    truth.pairs
      .filter((p) => p.people >= 5)
      .slice(0, 20)
      .map((p) => ({ agbA: p.a, agbB: p.b, people: p.people })),
  );
  // Nothing person-level: no pseudonym, no client reference.
  const text = JSON.stringify(report);
  expect(text).not.toMatch(/[0-9a-f]{64}/);
  expect(text).not.toContain(truth.perProvider.find((p) => p.alsoElsewhereRefs.length)!.alsoElsewhereRefs[0].clientRef);
});

it("gives every provider exactly its own entries whose person waits elsewhere, and nobody else's", async () => {
  for (const p of truth.perProvider) {
    const res = await http(api.url, 'GET', '/v1/ttp/feedback', { token: token('provider', { agb: p.agb }) });
    expect(res.status).toBe(200);
    expect(res.body.linked).toBe(true);
    expect(res.body.entries).toEqual(p.agb === formulaAgb ? p.alsoElsewhereRefs.map((e) => ({ ...e, clientRef: formulaRef(e.clientRef) })) : p.alsoElsewhereRefs);
  }
});

it('writes the feedback as CSV with every formula-leading client reference neutralised (the data kept as sent)', async () => {
  const p = truth.perProvider.find((x) => x.agb === formulaAgb)!;
  const res = await http(api.url, 'GET', '/v1/ttp/feedback?format=csv', { token: token('provider', { agb: formulaAgb }) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
  const [header, ...lines] = (res.body as string).trim().split('\n');
  expect(header).toBe('clientRef,otherLists,otherStages');
  expect(lines).toHaveLength(p.alsoElsewhereRefs.length);
  for (const line of lines) expect(line.startsWith(`"'=`)).toBe(true);
  expect(lines.map((l) => splitRecord(l)[0])).toEqual(p.alsoElsewhereRefs.map((e) => `'${formulaRef(e.clientRef)}`));
});

it('measures cleaned waiting times per location and diagnosis group as the ground truth does', async () => {
  for (const p of plan.providers) {
    const res = await http(api.url, 'GET', '/v1/ttp/cleaned-waits', { token: token('provider', { agb: p.agb }) });
    expect(res.status).toBe(200);
    const expected = truth.cleanedWaits
      .filter((c) => c.agb === p.agb)
      .map((c) => ({
        agb: c.agb,
        location: c.location,
        diagnosisGroup: c.diagnosisGroup,
        waitingIntake: c.waitingIntake,
        waitingTreatment: c.waitingTreatment,
        intake: { medianWeeks: c.intake.median, p80Weeks: c.intake.p80 },
        treatment: { medianWeeks: c.treatment.median, p80Weeks: c.treatment.p80 },
        declared: null,
        flagged: false,
      }));
    expect(res.body.cells).toEqual(expected);
  }
  const { rows } = await db.query(`SELECT sum(left_out)::int AS left_out, sum(entries)::int AS entries FROM ttp.run_cleaned_wait WHERE run_id = $1`, [run.id]);
  expect(rows[0]).toEqual({ left_out: truth.cleanedWaits.reduce((n, c) => n + c.leftOut, 0), entries: truth.national.entries });
  expect(rows[0].left_out).toBeGreaterThan(0);
});
