/**
 * Hands referrals that need an evaluation to the worker. Postgres is the source of truth: a
 * referral is `pending` while the decision wanted (`generation`) is newer than the one stored
 * (`judged_generation`) — after intake, and again whenever something changes the inputs of its
 * decision (figures, norm sets, the policy, the registry, measured waits, the daily sweep). Job
 * data is referral ids only; the worker evaluates only rows that are still
 * pending, so a second job for the same referral is a no-op. The sweeper re-enqueues anything
 * still pending after a delay, which covers a Redis restart or flush, or a crash between commit
 * and enqueue.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { QueueService, APP_CONFIG } from '@app/platform';
import type { AppConfig } from '@app/platform';
import type { PendingReason } from './referral.entity';
import { enqueueEvaluations } from './evaluate-referral.queue';

/**
 * The advisory lock that orders decisions against changes of their inputs: an evaluation batch
 * holds it shared from reading its inputs to storing its decisions; a request for new decisions
 * (markForReevaluation) takes it exclusively, so it waits for the batches in flight — whose
 * decisions it then sees and marks — and batches after it read the changed inputs. Without it a
 * referral inserted while a change was being marked escaped both: unseen by the mark, judged on
 * the inputs before the change.
 */
export const DECISION_INPUTS_LOCK = 7_354_001;

/** Which referrals a request for new decisions concerns (see markForReevaluation). */
export interface ReevaluationCriteria {
  /** Referred on or after this day (YYYY-MM-DD): older ones are no longer re-evaluated. */
  referredSince: string;
  /** Only this provider's referrals, and only these diagnosis groups (both, or neither). */
  agb?: string;
  diagnosisGroups?: string[];
  /** Referrals to leave alone, asked under the lock in the same transaction. */
  except(db: Pick<EntityManager, 'query'>): Promise<string[]>;
}

@Injectable()
export class ReferralHandoffService {
  private readonly logger = new Logger(ReferralHandoffService.name);

  constructor(
    private readonly db: DataSource,
    private readonly queues: QueueService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Enqueues after commit (evaluate-referral.queue.ts). Never throws: a failed enqueue is the
   * sweeper's to repair.
   */
  async enqueue(referralIds: string[], round = ''): Promise<number> {
    if (referralIds.length === 0) return 0;
    try {
      await enqueueEvaluations(this.queues, referralIds, this.config.evaluation.batchSize, round);
      return referralIds.length;
    } catch (e) {
      this.logger.warn({ msg: 'enqueue failed; the sweeper will retry', count: referralIds.length, error: (e as Error).message });
      return 0;
    }
  }

  /**
   * Asks for a new decision for the open referrals that `which` names, in the caller's
   * transaction `db` so that the change of inputs and the request are one commit. It first waits
   * for the evaluation batches in flight (DECISION_INPUTS_LOCK); then it asks `which.except` —
   * the caller's rule, under that lock — which referrals to leave alone (mediation: those whose
   * task is closed), and bumps the `generation` of every other match whatever its state — a
   * decision just stored on the old inputs and one still pending alike — so each is judged again
   * on the new inputs. Rows are locked in id order, so two requests never deadlock. Returns the
   * ids, to be enqueued (`enqueueAgain`) once `db` has committed.
   */
  async markForReevaluation(db: Pick<EntityManager, 'query'>, reason: PendingReason, which: ReevaluationCriteria): Promise<string[]> {
    await db.query(`SELECT pg_advisory_xact_lock($1)`, [DECISION_INPUTS_LOCK]);
    const except = await which.except(db);
    // TypeORM answers an UPDATE … RETURNING with [rows, affected].
    const [rows]: [{ id: string }[], number] = await db.query(
      `UPDATE referral u SET generation = u.generation + 1, status = 'pending', pending_reason = $1, status_changed_at = now()
        WHERE u.id IN (SELECT r.id FROM referral r
                        WHERE r.status IN ('pending', 'evaluated') AND r.verwijsdatum >= $2::date
                          AND ($3::bpchar IS NULL OR r.agb = $3::bpchar) AND ($4::text[] IS NULL OR r.klachtenprofiel = ANY($4::text[]))
                          AND NOT (r.id = ANY($5::uuid[]))
                        ORDER BY r.id FOR UPDATE)
        RETURNING u.id`,
      [reason, which.referredSince, which.agb ?? null, which.diagnosisGroups ?? null, except],
    );
    return rows.map((r) => r.id);
  }

  /** Enqueues referrals marked by markForReevaluation, under job ids no finished or running job holds. */
  async enqueueAgain(reason: PendingReason, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    this.logger.log({ msg: 're-evaluation requested', reason, count: ids.length });
    await this.enqueue(ids, `${reason}:${randomUUID()}`);
  }

  /** For the evaluation: holds back requests for new decisions until this transaction ends (see DECISION_INPUTS_LOCK). */
  async holdDecisionInputs(tx: Pick<EntityManager, 'query'>): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock_shared($1)`, [DECISION_INPUTS_LOCK]);
  }

  /** Re-enqueues referrals pending for longer than `delaySeconds`. Returns how many it found. */
  async sweep(delaySeconds: number, limit = 5000): Promise<number> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM referral
        WHERE status = 'pending' AND status_changed_at < now() - make_interval(secs => $1)
        ORDER BY status_changed_at LIMIT $2`,
      [delaySeconds, limit],
    );
    if (rows.length > 0) {
      this.logger.log({ msg: 'sweeper re-enqueues pending referrals', count: rows.length });
      await this.enqueue(
        rows.map((r) => r.id),
        'sweep',
      );
    }
    return rows.length;
  }
}
