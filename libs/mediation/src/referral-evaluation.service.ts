/**
 * The worker's evaluation of pending referrals, a batch at a time. Around the pure core
 * (selectNormSet, evaluateReferral, phaseOn, mayOfferMediation, rankAlternatives) it does the
 * I/O in a fixed number of statements per batch, in one transaction:
 *   1. lock the batch's referrals that are still pending (others are done or in another worker);
 *   2. read norm sets, the policy, current figures and the referred providers' regions (what
 *      comes from the registry is cached per registry version, see registry_version);
 *   3. evaluate; for referrals that may be offered mediation, rank alternatives;
 *   4. upsert tasks (one per referral, ever: uq_mediation_task_referral; an open, unclaimed task
 *      gets fresh alternatives), store the evaluations with everything they used, and mark the
 *      referrals evaluated.
 *
 * Which norm set: the one valid on the REFERRAL date. The patient's wait is measured against the
 * norm in force when they were referred, so a decision does not depend on when the worker happened
 * to run (backlog, retries, an outage), and replaying it gives the same answer. A new norm set
 * applies to people referred from its start date on; they are re-evaluated when it is added.
 * Which phase: the one in force on the EVALUATION date, because the policy governs what the
 * insurer may do now (approaching within-norm people becomes allowed from the phase-2 date).
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/platform';
import { MeasuredWait, TtpOutputsService } from '@app/ttp';
import { DataSource, EntityManager } from 'typeorm';
import {
  addWorkingDays,
  amsterdamDate,
  CandidateLocation,
  Evaluation,
  evaluateReferral,
  LocationWait,
  mayOfferMediation,
  NormSet,
  oldestCurrentMonth,
  phaseOn,
  RankedAlternative,
  rankAlternatives,
  roundWeeks,
  selectNormSet,
  taskPriority,
  Verdict,
} from '@app/core';
import type { PendingReason } from '@app/referrals';
import { WaitTimesService } from '@app/waitlists';
import { MediationPolicyService } from './mediation-policy.service';
import { NormSetsService } from './norm-sets.service';

type Db = Pick<EntityManager, 'query'>;

interface PendingRow {
  id: string;
  uzovi: string;
  agb: string;
  klachtenprofiel: string;
  verwijsdatum: string;
  pending_reason: PendingReason;
}

/** What an evaluation used and concluded; stored as `explanation` so it can be shown and replayed. */
export interface EvaluationExplanation {
  referralDate: string;
  evaluationDate: string;
  diagnosisGroup: string;
  agb: string;
  normSet: Pick<NormSet, 'id' | 'name' | 'sector' | 'validFrom' | 'validUntil' | 'maxWeeks'> | null;
  policy: { phase1From: string; phase2From: string | null; version: number };
  /** Oldest month whose figures still counted on the evaluation date. */
  figuresFrom: string;
  waits: LocationWait[];
  /**
   * The TTP's cleaned figures for the same provider and diagnosis group (newest linkage run),
   * next to the declared ones: people waiting once each, median wait so far, and a flag when the
   * declared wait is more than `flagWeeks` off. Shown, not decided on: the verdict rests on the
   * declared expected wait. Null before the first run.
   */
  measured?: { runId: string; asOf: string | null; flagWeeks: number; locations: Omit<MeasuredWait, 'runId' | 'asOf'>[] } | null;
  result: Evaluation;
  mediation: 'task-created' | 'task-updated' | 'task-kept' | 'not-offered';
  alternatives: number;
}

export interface BatchOutcome {
  evaluated: number;
  skipped: number;
  verdicts: Record<Verdict, number>;
  tasksCreated: number;
  tasksUpdated: number;
}

/**
 * What the worker read from the registry and the figures, valid for one registry version on one
 * day (the day decides which months are stale). Missing keys are read on demand.
 */
interface RegistryCache {
  key: string;
  /** `${agb}|${group}` → current figures of the provider's locations (possibly none). */
  figures: Map<string, LocationWait[]>;
  /** `${uzovi}|${group}` → contracted locations treating the group, with current figures. */
  candidates: Map<string, CandidateLocation[]>;
  /** agb → regions of its locations. */
  regions: Map<string, string[]>;
}

@Injectable()
export class ReferralEvaluationService {
  private cache: RegistryCache = { key: '', figures: new Map(), candidates: new Map(), regions: new Map() };
  private measuredCache: { runId: string | null; asOf: string | null; cells: Map<string, MeasuredWait[]> } = { runId: null, asOf: null, cells: new Map() };
  constructor(
    private readonly db: DataSource,
    private readonly normSets: NormSetsService,
    private readonly policy: MediationPolicyService,
    private readonly waits: WaitTimesService,
    private readonly ttpOutputs: TtpOutputsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Evaluates those of `referralIds` that are still pending. Idempotent; safe with many workers. */
  async evaluatePending(referralIds: string[], now = new Date()): Promise<BatchOutcome> {
    const today = amsterdamDate(now);
    const outcome: BatchOutcome = { evaluated: 0, skipped: 0, verdicts: { 'above-norm': 0, 'within-norm': 0, 'no-data': 0 }, tasksCreated: 0, tasksUpdated: 0 };
    if (referralIds.length === 0) return outcome;

    await this.db.transaction(async (tx) => {
      const referrals: PendingRow[] = await tx.query(
        `SELECT id, uzovi, agb, klachtenprofiel, to_char(verwijsdatum, 'YYYY-MM-DD') AS verwijsdatum, pending_reason
           FROM referral WHERE id = ANY($1::uuid[]) AND status = 'pending'
          ORDER BY id FOR UPDATE SKIP LOCKED`,
        [referralIds],
      );
      outcome.skipped = referralIds.length - referrals.length;
      if (referrals.length === 0) return;

      // One connection (the transaction's): its queries go one after another.
      const sets = await this.normSets.all(tx);
      const policy = await this.policy.current(tx);
      const cache = await this.registryCache(tx, today);
      const figures = await this.figuresFor(tx, cache, referrals, today);
      const measured = await this.measuredFor(tx, referrals);
      const phase = phaseOn(policy, today);
      const figuresFrom = oldestCurrentMonth(today);

      const decided = referrals.map((r) => {
        const norm = selectNormSet(sets, { sector: 'ggz', date: r.verwijsdatum });
        const waits = figures.get(`${r.agb}|${r.klachtenprofiel}`) ?? [];
        // Without a norm set for the date there is nothing to compare with: recorded as no-data.
        const result: Evaluation = norm
          ? evaluateReferral({ referralDate: r.verwijsdatum, today, waits, norm })
          : { verdict: 'no-data', accruedWeeks: 0, stages: [], aboveNormStages: [], maxExceedanceWeeks: 0 };
        return { r, norm, waits, result, offer: norm !== null && mayOfferMediation(phase, result.verdict) };
      });

      const alternatives = await this.alternativesFor(
        tx,
        cache,
        decided.filter((d) => d.offer),
        today,
      );

      // Tasks first, so the evaluations can name them. First contact is due a number of working
      // days after the task is made (a refresh keeps the original due date).
      const dueDate = addWorkingDays(today, this.config.worklist.firstContactWorkingDays);
      const taskRows = decided
        .filter((d) => d.offer)
        .map((d) => ({
          referral_id: d.r.id,
          uzovi: d.r.uzovi,
          priority: Math.max(1, taskPriority(d.result)),
          alternatives: alternatives.get(d.r.id) ?? [],
          evaluation_id: randomUUID(),
          due_date: dueDate,
          // The referred provider's expected wait the alternatives were ranked against (shortest
          // location, aanmeld + behandel): the mediation report's weeks saved start from it.
          referred_weeks: d.waits.length > 0 ? roundWeeks(Math.min(...d.waits.map((w) => w.aanmeldWeeks + w.behandelWeeks))) : null,
        }));
      const touched = new Map<string, { id: string; inserted: boolean }>();
      if (taskRows.length > 0) {
        const upserted: { id: string; referral_id: string; inserted: boolean }[] = await tx.query(
          `INSERT INTO mediation_task (referral_id, uzovi, priority, alternatives, created_by_evaluation_id, due_date, referred_weeks)
           SELECT x.referral_id, x.uzovi, x.priority, x.alternatives, x.evaluation_id, x.due_date, x.referred_weeks
             FROM jsonb_to_recordset($1::jsonb) AS x(referral_id uuid, uzovi text, priority smallint, alternatives jsonb, evaluation_id uuid, due_date date, referred_weeks numeric)
           ON CONFLICT ON CONSTRAINT uq_mediation_task_referral DO UPDATE
              SET alternatives = EXCLUDED.alternatives, priority = EXCLUDED.priority, referred_weeks = EXCLUDED.referred_weeks,
                  alternatives_updated_at = now(), version = mediation_task.version + 1
            WHERE mediation_task.status = 'open' AND mediation_task.assignee IS NULL
           RETURNING id, referral_id, (xmax = 0) AS inserted`,
          [JSON.stringify(taskRows)],
        );
        for (const t of upserted) touched.set(t.referral_id, { id: t.id, inserted: t.inserted });
        // Each task's history starts with its creation; a refresh is an event too.
        const byReferral = new Map(taskRows.map((t) => [t.referral_id, t]));
        await tx.query(
          `INSERT INTO task_event (task_id, uzovi, type, actor, actor_role, details)
           SELECT x.task_id, x.uzovi, x.type, 'system', 'system', x.details
             FROM jsonb_to_recordset($1::jsonb) AS x(task_id uuid, uzovi text, type text, details jsonb)`,
          [
            JSON.stringify(
              upserted.map((t) => {
                const row = byReferral.get(t.referral_id)!;
                return {
                  task_id: t.id,
                  uzovi: row.uzovi,
                  type: t.inserted ? 'created' : 'alternatives-refreshed',
                  details: { priority: row.priority, alternatives: row.alternatives.length, evaluationId: row.evaluation_id, ...(t.inserted ? { dueDate } : {}) },
                };
              }),
            ),
          ],
        );
      }
      // Tasks that exist but were not touched (claimed, closed, or not offered this time).
      const existing: { id: string; referral_id: string }[] = await tx.query(`SELECT id, referral_id FROM mediation_task WHERE referral_id = ANY($1::uuid[])`, [
        referrals.map((r) => r.id),
      ]);
      const taskOf = new Map(existing.map((t) => [t.referral_id, t.id]));

      const evaluationIds = new Map(taskRows.map((t) => [t.referral_id, t.evaluation_id]));
      const evaluations = decided.map((d) => {
        const t = touched.get(d.r.id);
        const mediation: EvaluationExplanation['mediation'] = t ? (t.inserted ? 'task-created' : 'task-updated') : taskOf.has(d.r.id) ? 'task-kept' : 'not-offered';
        if (mediation === 'task-created') outcome.tasksCreated++;
        if (mediation === 'task-updated') outcome.tasksUpdated++;
        outcome.verdicts[d.result.verdict]++;
        const explanation: EvaluationExplanation = {
          referralDate: d.r.verwijsdatum,
          evaluationDate: today,
          diagnosisGroup: d.r.klachtenprofiel,
          agb: d.r.agb,
          normSet: d.norm && { id: d.norm.id, name: d.norm.name, sector: d.norm.sector, validFrom: d.norm.validFrom, validUntil: d.norm.validUntil, maxWeeks: d.norm.maxWeeks },
          policy: { phase1From: policy.phase1From, phase2From: policy.phase2From, version: policy.id },
          figuresFrom,
          waits: d.waits,
          measured: measured.runId
            ? {
                runId: measured.runId,
                asOf: measured.asOf,
                flagWeeks: this.ttpOutputs.flagWeeks,
                locations: (measured.cells.get(`${d.r.agb}|${d.r.klachtenprofiel}`) ?? []).map(({ runId: _r, asOf: _a, ...cell }) => cell),
              }
            : null,
          result: d.result,
          mediation,
          alternatives: t ? (alternatives.get(d.r.id)?.length ?? 0) : 0,
        };
        return {
          id: evaluationIds.get(d.r.id) ?? randomUUID(),
          referral_id: d.r.id,
          evaluation_date: today,
          trigger: d.r.pending_reason,
          verdict: d.result.verdict,
          phase,
          norm_set_id: d.norm?.id ?? null,
          explanation,
          task_id: taskOf.get(d.r.id) ?? null,
        };
      });
      await tx.query(
        `INSERT INTO referral_evaluation (id, referral_id, evaluated_at, evaluation_date, trigger, verdict, phase, norm_set_id, explanation, task_id)
         SELECT x.id, x.referral_id, $2, x.evaluation_date, x.trigger, x.verdict, x.phase, x.norm_set_id, x.explanation, x.task_id
           FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, referral_id uuid, evaluation_date date, trigger text, verdict text, phase text,
                norm_set_id uuid, explanation jsonb, task_id uuid)`,
        [JSON.stringify(evaluations), now],
      );
      const verdicts = JSON.stringify(evaluations.map((e) => ({ referral_id: e.referral_id, verdict: e.verdict })));
      await tx.query(
        `UPDATE referral r SET status = 'evaluated', verdict = x.verdict, evaluated_at = $2, status_changed_at = $2
           FROM jsonb_to_recordset($1::jsonb) AS x(referral_id uuid, verdict text)
          WHERE r.id = x.referral_id`,
        [verdicts, now],
      );
      // The access log: the system read each person's referral to decide.
      await tx.query(
        `INSERT INTO access_log (actor, actor_role, organisation, person_index, action, resource, purpose, outcome, details)
         SELECT 'evaluation', 'system', r.uzovi, r.audit_index, 'evaluate', 'referral/' || r.id, 'zorgbemiddeling', 'allowed', jsonb_build_object('verdict', x.verdict)
           FROM jsonb_to_recordset($1::jsonb) AS x(referral_id uuid, verdict text) JOIN referral r ON r.id = x.referral_id`,
        [verdicts],
      );
      outcome.evaluated = referrals.length;
    });
    return outcome;
  }

  /** The cache for the current registry version and day, emptied when either has moved on. */
  private async registryCache(tx: Db, today: string): Promise<RegistryCache> {
    const [{ version }] = await tx.query(`SELECT version FROM registry_version WHERE id = 1`);
    const key = `${version}|${today}`;
    if (this.cache.key !== key) this.cache = { key, figures: new Map(), candidates: new Map(), regions: new Map() };
    return this.cache;
  }

  /** The TTP's measured figures for the referrals' providers and groups, cached per linkage run. */
  private async measuredFor(tx: Db, referrals: PendingRow[]): Promise<{ runId: string | null; asOf: string | null; cells: Map<string, MeasuredWait[]> }> {
    const latest = await this.ttpOutputs.latestRunId(tx);
    const runId = latest?.runId ?? null;
    if (this.measuredCache.runId !== runId) this.measuredCache = { runId, asOf: latest?.asOf ?? null, cells: new Map() };
    const cache = this.measuredCache;
    if (!runId) return cache;
    const missing = uniqueBy(
      referrals.filter((r) => !cache.cells.has(`${r.agb}|${r.klachtenprofiel}`)).map((r) => ({ agb: r.agb, diagnosisGroup: r.klachtenprofiel })),
      (p) => `${p.agb}|${p.diagnosisGroup}`,
    );
    if (missing.length > 0) {
      const found = await this.ttpOutputs.measuredFor(runId, missing, tx);
      for (const p of missing) {
        const key = `${p.agb}|${p.diagnosisGroup}`;
        cache.cells.set(key, found.get(key) ?? []);
      }
    }
    return cache;
  }

  /** Current figures of the referred providers for the referrals' diagnosis groups. */
  private async figuresFor(tx: Db, cache: RegistryCache, referrals: PendingRow[], today: string): Promise<Map<string, LocationWait[]>> {
    const missing = uniqueBy(
      referrals.filter((r) => !cache.figures.has(`${r.agb}|${r.klachtenprofiel}`)).map((r) => ({ agb: r.agb, diagnosisGroup: r.klachtenprofiel })),
      (p) => `${p.agb}|${p.diagnosisGroup}`,
    );
    if (missing.length > 0) {
      const found = await this.waits.currentFor(missing, today, tx);
      for (const p of missing) {
        const key = `${p.agb}|${p.diagnosisGroup}`;
        cache.figures.set(
          key,
          (found.get(key) ?? []).map((w) => ({ locationId: w.locationId, month: w.month, aanmeldWeeks: w.aanmeldWeeks, behandelWeeks: w.behandelWeeks })),
        );
      }
    }
    return cache.figures;
  }

  /**
   * Ranked alternatives per referral. Candidates are read once per (insurer, diagnosis group) and
   * registry version: locations contracted by the insurer on the evaluation date, treating the
   * group, with current figures.
   */
  private async alternativesFor(
    tx: Db,
    cache: RegistryCache,
    decided: { r: PendingRow; norm: NormSet | null; result: Evaluation; waits: LocationWait[] }[],
    today: string,
  ): Promise<Map<string, RankedAlternative[]>> {
    const out = new Map<string, RankedAlternative[]>();
    if (decided.length === 0) return out;
    const keys = uniqueBy(
      decided.map((d) => ({ uzovi: d.r.uzovi, group: d.r.klachtenprofiel })),
      (k) => `${k.uzovi}|${k.group}`,
    ).filter((k) => !cache.candidates.has(`${k.uzovi}|${k.group}`));
    if (keys.length > 0) {
      const rows: any[] = await tx.query(
        `SELECT k.uzovi, k.grp, l.id AS location_id, l.agb, p.name AS provider_name, l.name AS location_name, l.region, l.municipality,
                to_char(cw.month, 'YYYY-MM') AS month, cw.aanmeld_weeks::float8 AS aanmeld, cw.behandel_weeks::float8 AS behandel
           FROM unnest($1::text[], $2::text[]) AS k(uzovi, grp)
           JOIN insurer_contract c ON c.uzovi = k.uzovi AND c.valid_from <= $3::date AND (c.valid_until IS NULL OR c.valid_until > $3::date)
           JOIN provider_location l ON l.agb = c.agb AND k.grp = ANY(l.diagnosis_groups)
           JOIN provider p ON p.agb = l.agb
           JOIN wait_time_current cw ON cw.location_id = l.id AND cw.diagnosis_group = k.grp AND cw.month >= $4::date`,
        [keys.map((k) => k.uzovi), keys.map((k) => k.group), today, oldestCurrentMonth(today)],
      );
      for (const k of keys) cache.candidates.set(`${k.uzovi}|${k.group}`, []);
      for (const r of rows) {
        cache.candidates.get(`${r.uzovi}|${r.grp}`)!.push({
          locationId: r.location_id,
          agb: r.agb,
          providerName: r.provider_name,
          locationName: r.location_name,
          region: r.region,
          municipality: r.municipality,
          contracted: true,
          treats: true,
          wait: { locationId: r.location_id, month: r.month, aanmeldWeeks: r.aanmeld, behandelWeeks: r.behandel },
        });
      }
    }
    const agbs = [...new Set(decided.map((d) => d.r.agb))].filter((a) => !cache.regions.has(a));
    if (agbs.length > 0) {
      const regionRows: { agb: string; regions: string[] }[] = await tx.query(
        `SELECT agb, array_agg(DISTINCT region) AS regions FROM provider_location WHERE agb = ANY($1::text[]) GROUP BY agb`,
        [agbs],
      );
      for (const a of agbs) cache.regions.set(a, []);
      for (const r of regionRows) cache.regions.set(r.agb, r.regions);
    }

    for (const d of decided) {
      const totals = d.waits.map((w) => w.aanmeldWeeks + w.behandelWeeks);
      out.set(
        d.r.id,
        rankAlternatives({
          referredAgb: d.r.agb,
          referralRegions: cache.regions.get(d.r.agb) ?? [],
          referredTotalWeeks: totals.length > 0 ? Math.min(...totals) : null,
          norm: d.norm!,
          candidates: cache.candidates.get(`${d.r.uzovi}|${d.r.klachtenprofiel}`) ?? [],
          diagnosisGroup: d.r.klachtenprofiel as never,
        }),
      );
    }
    return out;
  }
}

function uniqueBy<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const i of items) if (!seen.has(key(i))) seen.set(key(i), i);
  return [...seen.values()];
}
