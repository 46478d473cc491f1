/**
 * Decides which referrals need a new decision and hands them to the worker. The invariant it
 * serves (docs/ARCHITECTURE.md, "Decisions"): once the inputs of a decision stop changing, every
 * open referral ends with a stored decision made on the inputs now current.
 *
 * - Changes made through the API (figures, norm sets, the policy) ask for the new decisions in
 *   the same transaction as the change (`change`), so no crash or interleaving separates them.
 * - Changes with other writers — the registry (routes, imports, fixtures) and the TTP's linkage
 *   runs — are caught up by the worker (`catchUp`, every few seconds): it compares what it saw
 *   last with what is there now, in one transaction with the request, so none is missed.
 * - The daily run asks for every open referral once a day (accrued waits, stale figures).
 *
 * "Open" referrals are those whose decision can still change what mediation does: pending or
 * evaluated, referred within the re-evaluation horizon, and without a task a person has closed
 * (a task the phase rule withdrew can come back; a claimed one is flagged when the decision
 * stops allowing contact).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { addDays, amsterdamDate, amsterdamHour } from '@app/core';
import { APP_CONFIG, AppConfig } from '@app/platform';
import { PendingReason, ReferralHandoffService } from '@app/referrals';
import { TtpOutputsService } from '@app/ttp';
import { ProviderRegistryService } from '@app/waitlists';

type Tx = Pick<EntityManager, 'query'>;

/** Which open referrals a change concerns. */
export type ReevaluationScope = { all: true } | { agb: string; diagnosisGroups: string[] };

@Injectable()
export class ReevaluationService {
  private readonly logger = new Logger(ReevaluationService.name);

  constructor(
    private readonly db: DataSource,
    private readonly handoff: ReferralHandoffService,
    private readonly ttpOutputs: TtpOutputsService,
    private readonly registry: ProviderRegistryService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Marks the open referrals of `scope` in `tx` (the transaction of the change); returns their ids.
   * Open: referred within REEVALUATION_HORIZON_WEEKS, and no task closed other than by the phase
   * rule — a closed task is mediation's end of the matter (its referral was referred before the
   * task was closed, so tasks closed since the horizon, a day's margin for time zones, are all that
   * can be concerned).
   */
  mark(tx: Tx, reason: PendingReason, scope: ReevaluationScope, now = new Date()): Promise<string[]> {
    const referredSince = addDays(amsterdamDate(now), -7 * this.config.evaluation.horizonWeeks);
    const except = async (db: Tx) =>
      (
        (await db.query(`SELECT referral_id FROM mediation_task WHERE status = 'closed' AND outcome <> 'phase-withdrawn' AND closed_at >= $1::date - 1`, [referredSince])) as {
          referral_id: string;
        }[]
      ).map((r) => r.referral_id);
    if ('all' in scope) return this.handoff.markForReevaluation(tx, reason, { referredSince, except });
    return this.handoff.markForReevaluation(tx, reason, { referredSince, agb: scope.agb, diagnosisGroups: scope.diagnosisGroups, except });
  }

  /**
   * Runs `work` (a change of decision inputs) and the request for the new decisions it calls for
   * (`scope`: every open referral unless said otherwise) in one transaction, then enqueues them
   * and answers `work`'s result with `reevaluating`, which counts the referrals that will be
   * judged again — including those the worker was judging at that moment.
   */
  async change<T extends object>(
    reason: PendingReason,
    work: (tx: EntityManager) => Promise<T>,
    scope: (result: T) => ReevaluationScope = () => ({ all: true }),
  ): Promise<T & { reevaluating: number }> {
    const { result, ids } = await this.db.transaction(async (tx) => {
      const result = await work(tx);
      return { result, ids: await this.mark(tx, reason, scope(result)) };
    });
    await this.handoff.enqueueAgain(reason, ids);
    return { ...result, reevaluating: ids.length };
  }

  /** Every open referral (the daily run, a manual request). */
  async forAll(reason: Extract<PendingReason, 'daily' | 'manual'>, now = new Date()): Promise<number> {
    const ids = await this.db.transaction((tx) => this.mark(tx, reason, { all: true }, now));
    await this.handoff.enqueueAgain(reason, ids);
    return ids.length;
  }

  /**
   * The registry's structure (providers, locations, contracts: alternatives and regions) or the
   * newest linkage run (measured waits) moved since last seen: every open referral, once. The
   * mark row is locked, so several workers catch up once; the request commits with the mark.
   * Returns what was asked per kind.
   */
  async catchUp(now = new Date()): Promise<{ registry: number; measured: number }> {
    const out = { registry: 0, measured: 0 };
    const latestRun = await this.ttpOutputs.latestRunId();
    const queued: [PendingReason, string[]][] = [];
    await this.db.transaction(async (tx) => {
      const current: Record<string, string> = { registry: await this.registry.structureVersion(tx), 'measured-waits': latestRun?.runId ?? '' };
      const marks: { kind: string; seen: string; now: string }[] = (await tx.query(`SELECT kind, seen FROM evaluation_catch_up ORDER BY kind FOR UPDATE`)).map(
        (m: { kind: string; seen: string }) => ({ ...m, now: current[m.kind] }),
      );
      const moved = marks.filter((m) => m.seen !== m.now);
      if (moved.length === 0) return;
      await tx.query(`UPDATE evaluation_catch_up c SET seen = x.now, changed_at = now() FROM unnest($1::text[], $2::text[]) AS x(kind, now) WHERE c.kind = x.kind`, [
        moved.map((m) => m.kind),
        moved.map((m) => m.now),
      ]);
      // One request covers both: each is every open referral.
      const reason: PendingReason = moved.some((m) => m.kind === 'registry') ? 'registry' : 'measured-waits';
      const ids = await this.mark(tx, reason, { all: true }, now);
      for (const m of moved) out[m.kind === 'registry' ? 'registry' : 'measured'] = ids.length;
      queued.push([reason, ids]);
    });
    for (const [reason, ids] of queued) await this.handoff.enqueueAgain(reason, ids);
    if (queued.length > 0) this.logger.log({ msg: 'inputs moved: re-evaluation requested', ...out });
    return out;
  }

  /**
   * The daily sweep: once per Amsterdam day, from DAILY_REEVALUATION_HOUR, re-evaluates every open
   * referral (a within-norm wait that accrues past the norm, figures that went stale, contracts
   * that ended). The day is claimed in daily_run, so several workers run it once.
   */
  async dailyIfDue(now = new Date()): Promise<number | null> {
    const hour = amsterdamHour(now);
    if (!this.config.evaluation.daily || hour < this.config.evaluation.dailyHour) return null;
    const claimed = await this.db.query(`INSERT INTO daily_run (kind, day) VALUES ('reevaluate', $1) ON CONFLICT DO NOTHING RETURNING day`, [amsterdamDate(now)]);
    if (claimed.length === 0) return null;
    const n = await this.forAll('daily', now);
    await this.db.query(`UPDATE daily_run SET affected = $2 WHERE kind = 'reevaluate' AND day = $1`, [amsterdamDate(now), n]);
    this.logger.log({ msg: 'daily re-evaluation requested', count: n });
    return n;
  }
}
