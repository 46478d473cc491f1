/**
 * The worker's evaluation of pending referrals, a batch at a time. Around the pure core
 * (selectNormSet, evaluateReferral, phaseOn, mayOfferMediation, rankAlternatives) it does the
 * I/O in a fixed number of statements per batch, in one transaction:
 *   1. hold DECISION_INPUTS_LOCK shared (requests for new decisions wait for this batch) and lock
 *      the batch's referrals that are still pending (others are done or in another worker);
 *   2. read norm sets, the policy, current figures and the referred providers' regions (what
 *      comes from the registry is cached per registry version, see registry_version);
 *   3. evaluate; for referrals that may be offered mediation, rank alternatives;
 *   4. apply the phase rule to each referral's one task (planTask: create, refresh, reinstate,
 *      withdraw, flag; uq_mediation_task_referral), store the evaluations with everything they
 *      used and the generation they judged, and mark the referrals evaluated.
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
  noNormEvaluation,
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
import { PendingReason, ReferralHandoffService } from '@app/referrals';
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
  generation: number;
}

interface Decided {
  r: PendingRow;
  norm: NormSet | null;
  waits: LocationWait[];
  result: Evaluation;
  /** Whether the phase in force allows offering mediation on this verdict. */
  offer: boolean;
}

interface ExistingTask {
  id: string;
  referral_id: string;
  status: string;
  assignee: string | null;
  contacted: boolean;
  outcome: string | null;
  flagged: boolean;
}

/** What a decision does to the referral's task. */
type TaskAction = 'create' | 'refresh' | 'reinstate' | 'allow' | 'withdraw' | 'flag' | 'none';

/**
 * The phase rule applied to a task (phase 1: only people above the norm may be approached):
 * - allowed: a new task; an open, unclaimed one gets fresh alternatives; one the rule withdrew
 *   comes back (never a second task); a flagged one may be contacted again.
 * - not allowed: a task nobody has contacted yet leaves the queue (closed `phase-withdrawn`, even
 *   when claimed); one whose contact is under way stays with its assignee, flagged "start no new
 *   contact". A task a person closed is left alone either way.
 */
export function planTask(
  offer: boolean,
  t: ExistingTask | undefined,
): { action: TaskAction; refresh: boolean; taskId: string | null; mediation: EvaluationExplanation['mediation'] } {
  const waiting = t !== undefined && t.status === 'open' && t.assignee === null;
  const plan = (action: TaskAction, mediation: EvaluationExplanation['mediation'], refresh = false) => ({ action, refresh, taskId: t?.id ?? null, mediation });
  if (!t) return offer ? plan('create', 'task-created') : plan('none', 'not-offered');
  if (t.outcome === 'phase-withdrawn') return offer ? plan('reinstate', 'task-reinstated') : plan('none', 'task-kept');
  if (t.status === 'closed') return plan('none', 'task-kept');
  if (offer) {
    if (t.flagged) return plan('allow', waiting ? 'task-updated' : 'task-kept', waiting);
    return waiting ? plan('refresh', 'task-updated') : plan('none', 'task-kept');
  }
  if (!t.contacted) return plan('withdraw', 'task-withdrawn');
  return t.flagged ? plan('none', 'task-kept') : plan('flag', 'task-flagged');
}

function taskEvents(
  p: { d: Decided; action: TaskAction; refresh: boolean; taskId: string | null; evaluationId: string },
  c: { phase: string; dueDate: string; alternatives: number; priority: number },
): { task_id: string; uzovi: string; type: string; details: Record<string, unknown> }[] {
  if (p.taskId === null) return [];
  const e = (type: string, details: Record<string, unknown>) => ({ task_id: p.taskId!, uzovi: p.d.r.uzovi, type, details: { evaluationId: p.evaluationId, ...details } });
  const refreshed = e('alternatives-refreshed', { priority: c.priority, alternatives: c.alternatives });
  switch (p.action) {
    case 'create':
      return [e('created', { priority: c.priority, alternatives: c.alternatives, dueDate: c.dueDate })];
    case 'refresh':
      return [refreshed];
    case 'reinstate':
      return [e('reinstated', { priority: c.priority, alternatives: c.alternatives, verdict: p.d.result.verdict, phase: c.phase })];
    case 'allow':
      return [e('contact-allowed', { verdict: p.d.result.verdict, phase: c.phase }), ...(p.refresh ? [refreshed] : [])];
    case 'withdraw':
      return [e('withdrawn', { verdict: p.d.result.verdict, phase: c.phase, reason: 'the phase in force does not allow approaching this person on this decision' })];
    case 'flag':
      return [e('no-new-contact', { verdict: p.d.result.verdict, phase: c.phase, reason: 'now within the norm: start no new contact' })];
    case 'none':
      return [];
  }
}

/** What an evaluation used and concluded; stored as `explanation` so it can be shown and replayed. */
export interface EvaluationExplanation {
  referralDate: string;
  evaluationDate: string;
  diagnosisGroup: string;
  agb: string;
  /** The referral's generation this decision judged (absent before 2026-12). */
  generation?: number;
  normSet: (Pick<NormSet, 'id' | 'name' | 'sector' | 'validFrom' | 'validUntil' | 'maxWeeks'> & Partial<Pick<NormSet, 'urgency' | 'category'>>) | null;
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
  /** Whether the phase in force allowed offering mediation on this verdict (absent before 2026-12). */
  offered?: boolean;
  mediation: 'task-created' | 'task-updated' | 'task-reinstated' | 'task-withdrawn' | 'task-flagged' | 'task-kept' | 'not-offered';
  alternatives: number;
}

export interface BatchOutcome {
  evaluated: number;
  skipped: number;
  verdicts: Record<Verdict, number>;
  tasksCreated: number;
  tasksUpdated: number;
  tasksWithdrawn: number;
  tasksFlagged: number;
  tasksReinstated: number;
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
  /**
   * Test seam, unset in production: awaited after a batch's inputs are read and before its
   * decisions are stored, so race tests can hold that window open while inputs change.
   */
  beforeStore?: (referralIds: string[]) => Promise<void>;
  constructor(
    private readonly db: DataSource,
    private readonly normSets: NormSetsService,
    private readonly policy: MediationPolicyService,
    private readonly waits: WaitTimesService,
    private readonly ttpOutputs: TtpOutputsService,
    private readonly handoff: ReferralHandoffService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Evaluates those of `referralIds` that are still pending. Idempotent; safe with many workers.
   *
   * The batch holds DECISION_INPUTS_LOCK shared from reading the inputs to storing the decisions,
   * and each decision records the `generation` it judged: a request for new decisions waits for
   * this commit, then bumps the generation, so the referral is judged again on the new inputs
   * (see ReferralHandoffService.markForReevaluation).
   */
  async evaluatePending(referralIds: string[], now = new Date()): Promise<BatchOutcome> {
    const today = amsterdamDate(now);
    const outcome: BatchOutcome = {
      evaluated: 0,
      skipped: 0,
      verdicts: { 'above-norm': 0, 'within-norm': 0, 'no-data': 0, 'no-norm': 0 },
      tasksCreated: 0,
      tasksUpdated: 0,
      tasksWithdrawn: 0,
      tasksFlagged: 0,
      tasksReinstated: 0,
    };
    if (referralIds.length === 0) return outcome;

    await this.db.transaction(async (tx) => {
      await this.handoff.holdDecisionInputs(tx);
      const referrals: PendingRow[] = await tx.query(
        `SELECT id, uzovi, agb, klachtenprofiel, to_char(verwijsdatum, 'YYYY-MM-DD') AS verwijsdatum, pending_reason, generation
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

      const decided: Decided[] = referrals.map((r) => {
        const norm = selectNormSet(sets, { sector: 'ggz', date: r.verwijsdatum });
        const waits = figures.get(`${r.agb}|${r.klachtenprofiel}`) ?? [];
        const result: Evaluation = norm ? evaluateReferral({ referralDate: r.verwijsdatum, today, waits, norm }) : noNormEvaluation(r.verwijsdatum, today);
        return { r, norm, waits, result, offer: norm !== null && mayOfferMediation(phase, result.verdict) };
      });

      const alternatives = await this.alternativesFor(
        tx,
        cache,
        decided.filter((d) => d.offer),
        today,
      );
      if (this.beforeStore) await this.beforeStore(referrals.map((r) => r.id));
      if (this.config.evaluation.testHoldMs > 0) await new Promise((r) => setTimeout(r, this.config.evaluation.testHoldMs));

      // The tasks of these referrals, locked: a worklist command on one finishes first.
      const existing: ExistingTask[] = await tx.query(
        `SELECT id, referral_id, status, assignee, first_contact_at IS NOT NULL AS contacted, outcome, no_new_contact_since IS NOT NULL AS flagged
           FROM mediation_task WHERE referral_id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
        [referrals.map((r) => r.id)],
      );
      const taskOf = new Map(existing.map((t) => [t.referral_id, t]));
      const plans = decided.map((d) => ({ d, evaluationId: randomUUID(), ...planTask(d.offer, taskOf.get(d.r.id)) }));

      // First contact is due a number of working days after the task is made (a refresh or a
      // reinstatement keeps the original due date).
      const dueDate = addWorkingDays(today, this.config.worklist.firstContactWorkingDays);
      const content = (p: (typeof plans)[number]) => ({
        priority: Math.max(1, taskPriority(p.d.result)),
        alternatives: alternatives.get(p.d.r.id) ?? [],
        // The referred provider's expected wait the alternatives were ranked against (shortest
        // location, aanmeld + behandel): the mediation report's weeks saved start from it.
        referred_weeks: p.d.waits.length > 0 ? roundWeeks(Math.min(...p.d.waits.map((w) => w.aanmeldWeeks + w.behandelWeeks))) : null,
      });
      const created = plans.filter((p) => p.action === 'create');
      if (created.length > 0) {
        const rows: { id: string; referral_id: string }[] = await tx.query(
          `INSERT INTO mediation_task (referral_id, uzovi, priority, alternatives, created_by_evaluation_id, due_date, referred_weeks)
           SELECT x.referral_id, x.uzovi, x.priority, x.alternatives, x.evaluation_id, x.due_date, x.referred_weeks
             FROM jsonb_to_recordset($1::jsonb) AS x(referral_id uuid, uzovi text, priority smallint, alternatives jsonb, evaluation_id uuid, due_date date, referred_weeks numeric)
           RETURNING id, referral_id`,
          [JSON.stringify(created.map((p) => ({ referral_id: p.d.r.id, uzovi: p.d.r.uzovi, evaluation_id: p.evaluationId, due_date: dueDate, ...content(p) })))],
        );
        const ids = new Map(rows.map((t) => [t.referral_id, t.id]));
        for (const p of created) p.taskId = ids.get(p.d.r.id)!;
      }
      const changed = plans.filter((p) => p.action !== 'create' && p.action !== 'none');
      if (changed.length > 0) {
        // One statement for every change of an existing task; what each does is its action.
        await tx.query(
          `UPDATE mediation_task t SET
              alternatives = CASE WHEN x.action IN ('refresh', 'reinstate') THEN x.alternatives ELSE t.alternatives END,
              priority = CASE WHEN x.action IN ('refresh', 'reinstate') THEN x.priority ELSE t.priority END,
              referred_weeks = CASE WHEN x.action IN ('refresh', 'reinstate') THEN x.referred_weeks ELSE t.referred_weeks END,
              alternatives_updated_at = CASE WHEN x.action IN ('refresh', 'reinstate') THEN now() ELSE t.alternatives_updated_at END,
              status = CASE x.action WHEN 'reinstate' THEN 'open' WHEN 'withdraw' THEN 'closed' ELSE t.status END,
              outcome = CASE x.action WHEN 'reinstate' THEN NULL WHEN 'withdraw' THEN 'phase-withdrawn' ELSE t.outcome END,
              outcome_details = CASE x.action WHEN 'reinstate' THEN NULL WHEN 'withdraw' THEN x.details ELSE t.outcome_details END,
              closed_at = CASE x.action WHEN 'reinstate' THEN NULL WHEN 'withdraw' THEN now() ELSE t.closed_at END,
              assignee = CASE WHEN x.action = 'withdraw' THEN NULL ELSE t.assignee END,
              claimed_at = CASE WHEN x.action = 'withdraw' THEN NULL ELSE t.claimed_at END,
              no_new_contact_since = CASE WHEN x.action = 'flag' THEN now() WHEN x.action = 'keep' THEN t.no_new_contact_since ELSE NULL END,
              last_activity_at = CASE WHEN x.action IN ('reinstate', 'withdraw') THEN now() ELSE t.last_activity_at END,
              version = t.version + 1
             FROM jsonb_to_recordset($1::jsonb) AS x(task_id uuid, action text, priority smallint, alternatives jsonb, referred_weeks numeric, details jsonb)
            WHERE t.id = x.task_id`,
          [
            JSON.stringify(
              changed.map((p) => ({
                task_id: p.taskId,
                // A flagged task that may be contacted again loses its flag (allow), and is refreshed too when it waits in the queue.
                action: p.action === 'allow' ? (p.refresh ? 'refresh' : 'allow') : p.action,
                ...content(p),
                details: p.action === 'withdraw' ? { verdict: p.d.result.verdict, phase, evaluationId: p.evaluationId } : null,
              })),
            ),
          ],
        );
      }
      // Each task's history: its creation, and every change the evaluation made to it.
      const events = plans.flatMap((p) => taskEvents(p, { phase, dueDate, alternatives: (alternatives.get(p.d.r.id) ?? []).length, priority: content(p).priority }));
      if (events.length > 0) {
        await tx.query(
          `INSERT INTO task_event (task_id, uzovi, type, actor, actor_role, details)
           SELECT x.task_id, x.uzovi, x.type, 'system', 'system', x.details
             FROM jsonb_to_recordset($1::jsonb) AS x(task_id uuid, uzovi text, type text, details jsonb)`,
          [JSON.stringify(events)],
        );
      }

      const evaluations = plans.map((p) => {
        const { d } = p;
        outcome.verdicts[d.result.verdict]++;
        if (p.mediation === 'task-created') outcome.tasksCreated++;
        if (p.mediation === 'task-updated') outcome.tasksUpdated++;
        if (p.mediation === 'task-withdrawn') outcome.tasksWithdrawn++;
        if (p.mediation === 'task-flagged') outcome.tasksFlagged++;
        if (p.mediation === 'task-reinstated') outcome.tasksReinstated++;
        const refreshed = p.action === 'create' || p.action === 'reinstate' || p.action === 'refresh' || (p.action === 'allow' && p.refresh);
        const explanation: EvaluationExplanation = {
          referralDate: d.r.verwijsdatum,
          evaluationDate: today,
          diagnosisGroup: d.r.klachtenprofiel,
          agb: d.r.agb,
          generation: d.r.generation,
          normSet: d.norm && {
            id: d.norm.id,
            name: d.norm.name,
            sector: d.norm.sector,
            validFrom: d.norm.validFrom,
            validUntil: d.norm.validUntil,
            urgency: d.norm.urgency,
            category: d.norm.category,
            maxWeeks: d.norm.maxWeeks,
          },
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
          offered: d.offer,
          mediation: p.mediation,
          alternatives: refreshed ? (alternatives.get(d.r.id)?.length ?? 0) : 0,
        };
        return {
          id: p.evaluationId,
          referral_id: d.r.id,
          evaluation_date: today,
          trigger: d.r.pending_reason,
          verdict: d.result.verdict,
          phase,
          norm_set_id: d.norm?.id ?? null,
          explanation,
          task_id: p.taskId,
          generation: d.r.generation,
        };
      });
      await tx.query(
        `INSERT INTO referral_evaluation (id, referral_id, evaluated_at, evaluation_date, trigger, verdict, phase, norm_set_id, explanation, task_id, generation)
         SELECT x.id, x.referral_id, $2, x.evaluation_date, x.trigger, x.verdict, x.phase, x.norm_set_id, x.explanation, x.task_id, x.generation
           FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, referral_id uuid, evaluation_date date, trigger text, verdict text, phase text,
                norm_set_id uuid, explanation jsonb, task_id uuid, generation integer)`,
        [JSON.stringify(evaluations), now],
      );
      const verdicts = JSON.stringify(evaluations.map((e) => ({ referral_id: e.referral_id, verdict: e.verdict, generation: e.generation })));
      // Evaluated only if no newer decision is wanted (the row is locked, so it is the one read;
      // ck_referral_generation holds every writer to this).
      await tx.query(
        `UPDATE referral r SET status = CASE WHEN r.generation = x.generation THEN 'evaluated' ELSE 'pending' END, judged_generation = x.generation,
                verdict = x.verdict, evaluated_at = $2, status_changed_at = $2
           FROM jsonb_to_recordset($1::jsonb) AS x(referral_id uuid, verdict text, generation integer)
          WHERE r.id = x.referral_id`,
        [verdicts, now],
      );
      // The access log: the system read each person's referral to decide.
      await tx.query(
        `SELECT access_log_append(jsonb_agg(jsonb_build_object('actor', 'evaluation', 'actorRole', 'system', 'organisation', r.uzovi, 'personIndex', r.audit_index,
                  'action', 'evaluate', 'resource', 'referral/' || r.id, 'purpose', 'zorgbemiddeling', 'outcome', 'allowed', 'details', jsonb_build_object('verdict', x.verdict))))
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
