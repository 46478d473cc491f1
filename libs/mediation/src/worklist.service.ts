/**
 * The zorgbemiddelaars' worklist. Claim-next is one statement (FOR UPDATE SKIP LOCKED) so any
 * number of claimers never get the same task; concurrent claims of one insurer share a statement. Every other command locks the task, checks tenant
 * (404), version (409), who may do it (403) and the task's state (409), then changes it and
 * appends an event, in one transaction. A mediator sees and works only their insurer's tasks.
 */
import { BadRequestException, ConflictException, ForbiddenException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { amsterdamDate, maskBsn } from '@app/core';
import { APP_CONFIG, AppConfig, AuditService, BsnVault, Principal } from '@app/platform';
import { explainEvaluation } from './explain';
import type { AssignDto, ContactAttemptDto, OutcomeDto, TaskPageDto, TaskStatus, TaskSummaryDto } from './worklist.dto';
import { TASK_SORTS, TASK_STATUSES } from './worklist.dto';
import { decodeTaskCursor } from './worklist-cursor';

const SUMMARY_COLUMNS = `t.id, t.status, t.priority, to_char(t.due_date, 'YYYY-MM-DD') AS due_date, t.assignee, t.referral_id, r.klachtenprofiel, r.agb,
  t.uzovi, t.contact_attempts, t.failed_contact_attempts, t.outcome, t.created_at, t.claimed_at, t.last_activity_at, t.closed_at,
  t.first_contact_at, t.no_new_contact_since, t.version`;

/**
 * A task claim-next may hand out: open, unassigned, not flagged "start no new contact", and its
 * referral's decision current (not waiting for a re-evaluation on changed inputs) — phase 1 never
 * lets a person whose new figures are still being judged be approached on the old decision.
 */
const CLAIMABLE = `m.status = 'open' AND m.assignee IS NULL AND m.no_new_contact_since IS NULL
  AND EXISTS (SELECT 1 FROM referral cr WHERE cr.id = m.referral_id AND cr.status = 'evaluated')`;

type Db = Pick<EntityManager, 'query'>;

/**
 * The access-log entries of a claim statement (a CTE over `claimed`), written in the same
 * statement through the log's owner (access_log_append). One row, so the statement's final SELECT
 * cross-joins it: a SELECT in a CTE runs only when it is referenced.
 */
const AUDIT_CLAIMS = `audit AS (
         SELECT access_log_append(jsonb_agg(jsonb_build_object('actor', c.assignee, 'actorRole', c.actor_role, 'organisation', c.uzovi, 'personIndex', r.audit_index,
                  'action', 'update', 'resource', 'task/' || c.id, 'purpose', 'zorgbemiddeling', 'outcome', 'allowed', 'details', '{"command": "claimed"}'::jsonb))) AS written
           FROM claimed c JOIN referral r ON r.id = c.referral_id)`;

export interface TaskFilter {
  status?: string;
  assignee?: string;
  overdue?: string;
  noNewContact?: string;
  priority?: string;
  diagnosisGroup?: string;
  region?: string;
  sort?: string;
  cursor?: string;
  limit?: string;
}

const isLead = (p: Principal) => p.role === 'mediation-lead';

/**
 * The tenant condition on a uzovi column (character(4)). One insurer — nearly every caller — is
 * an equality on a bpchar, so the task indexes give the claim order directly; a text comparison
 * or an array would make Postgres sort the whole queue on every claim.
 */
function tenant(column: string, param: number, uzovis: string[]): { sql: string; value: string | string[] } {
  return uzovis.length === 1 ? { sql: `${column} = $${param}::bpchar`, value: uzovis[0] } : { sql: `${column} = ANY($${param}::bpchar[])`, value: uzovis };
}

function toSummary(r: any, today: string): TaskSummaryDto {
  return {
    id: r.id,
    status: r.status,
    priority: r.priority,
    dueDate: r.due_date,
    overdue: r.status !== 'closed' && r.first_contact_at === null && r.due_date < today,
    assignee: r.assignee,
    referralId: r.referral_id,
    diagnosisGroup: r.klachtenprofiel,
    agb: r.agb,
    uzovi: r.uzovi,
    contactAttempts: r.contact_attempts,
    failedContactAttempts: r.failed_contact_attempts,
    outcome: r.outcome,
    createdAt: r.created_at.toISOString(),
    claimedAt: r.claimed_at?.toISOString() ?? null,
    lastActivityAt: r.last_activity_at.toISOString(),
    closedAt: r.closed_at?.toISOString() ?? null,
    noNewContact: r.no_new_contact_since !== null,
    noNewContactSince: r.no_new_contact_since?.toISOString() ?? null,
    version: r.version,
  };
}

const bad = (field: string, reason: string) => new BadRequestException({ message: `The ${field} is invalid`, details: [{ field, reason }] });
const conflict = (message: string, field: string, reason: string) => new ConflictException({ message, details: [{ field, reason }] });

/** Callers waiting for the claim statement that is running to finish. */
interface ClaimQueue {
  waiting: { caller: Principal; resolve: (t: TaskSummaryDto | null) => void; reject: (e: unknown) => void }[];
  running: boolean;
}
const MAX_CLAIM_BATCH = 100;

/** What a command does to a locked task: the columns it sets and the event it appends. */
interface Change {
  set: Record<string, unknown>;
  event: { type: string; details?: Record<string, unknown> };
}

@Injectable()
export class WorklistService {
  private readonly logger = new Logger(WorklistService.name);

  constructor(
    private readonly db: DataSource,
    private readonly vault: BsnVault,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  /**
   * The most urgent open, unassigned task of the caller's insurer; null when the queue is empty.
   *
   * Claims that arrive while a claim statement is running are gathered and served together by
   * the next statement — for every insurer among them at once: one transaction (one commit)
   * hands out as many tasks as there are callers waiting, per insurer in the order they came,
   * the first caller getting the most urgent task. The statement locks with FOR UPDATE SKIP
   * LOCKED, so other API processes doing the same never get the same task. A caller acting for
   * several insurers is served on its own.
   */
  claimNext(caller: Principal): Promise<TaskSummaryDto | null> {
    if (caller.uzovis.length !== 1) return this.claimBatch(caller.uzovis, [caller]).then((r) => r[0]);
    return new Promise((resolve, reject) => {
      this.claimQueue.waiting.push({ caller, resolve, reject });
      if (!this.claimQueue.running) void this.drainClaims();
    });
  }

  private readonly claimQueue: ClaimQueue = { waiting: [], running: false };

  private async drainClaims(): Promise<void> {
    const q = this.claimQueue;
    q.running = true;
    try {
      while (q.waiting.length > 0) {
        const batch = q.waiting.splice(0, MAX_CLAIM_BATCH);
        try {
          const tasks = await this.claimForEach(batch.map((w) => w.caller));
          batch.forEach((w, i) => w.resolve(tasks[i]));
        } catch (e) {
          for (const w of batch) w.reject(e);
        }
      }
    } finally {
      q.running = false;
    }
  }

  /** One statement: for each caller (each of one insurer) the next task of their insurer, or null. */
  private async claimForEach(callers: Principal[]): Promise<(TaskSummaryDto | null)[]> {
    const rows: any[] = await this.db.query(
      `WITH who AS (
         SELECT w.uzovi, w.subject, w.role, w.k, row_number() OVER (PARTITION BY w.uzovi ORDER BY w.k) AS rn
           FROM unnest($1::bpchar[], $2::text[], $3::text[]) WITH ORDINALITY AS w(uzovi, subject, role, k)),
       want AS (SELECT uzovi, count(*) AS n FROM who GROUP BY uzovi),
       picked AS (
         SELECT p.id, p.uzovi, row_number() OVER (PARTITION BY p.uzovi ORDER BY p.priority DESC, p.due_date, p.created_at, p.id) AS rn
           FROM want CROSS JOIN LATERAL (
                  SELECT m.id, m.uzovi, m.priority, m.due_date, m.created_at FROM mediation_task m
                   WHERE m.uzovi = want.uzovi AND ${CLAIMABLE}
                   ORDER BY m.priority DESC, m.due_date, m.created_at, m.id
                   LIMIT want.n FOR UPDATE SKIP LOCKED) p),
       claimed AS (
         UPDATE mediation_task t SET status = 'in-progress', assignee = who.subject, claimed_at = now(), last_activity_at = now(), version = t.version + 1
           FROM picked JOIN who ON who.uzovi = picked.uzovi AND who.rn = picked.rn
          WHERE t.id = picked.id
         RETURNING t.*, who.k, who.role AS actor_role),
       event AS (
         INSERT INTO task_event (task_id, uzovi, type, actor, actor_role, details)
         SELECT id, uzovi, 'claimed', assignee, actor_role, '{"via": "claim-next"}' FROM claimed),
       ${AUDIT_CLAIMS}
       SELECT ${SUMMARY_COLUMNS}, t.k FROM claimed t JOIN referral r ON r.id = t.referral_id CROSS JOIN audit`,
      [callers.map((c) => c.uzovis[0]), callers.map((c) => c.subject), callers.map((c) => c.role)],
    );
    const today = amsterdamDate(new Date());
    const out: (TaskSummaryDto | null)[] = callers.map(() => null);
    for (const r of rows) out[Number(r.k) - 1] = toSummary(r, today);
    return out;
  }

  /** For callers of several insurers at once: up to callers.length tasks of any of them; result i is caller i's task or null. */
  private async claimBatch(uzovis: string[], callers: Principal[]): Promise<(TaskSummaryDto | null)[]> {
    const own = tenant('m.uzovi', 1, uzovis);
    const rows: any[] = await this.db.query(
      `WITH next AS (
         SELECT id, row_number() OVER (ORDER BY priority DESC, due_date, created_at, id) AS k
           FROM (SELECT id, priority, due_date, created_at FROM mediation_task m
                  WHERE ${own.sql} AND ${CLAIMABLE}
                  ORDER BY priority DESC, due_date, created_at, id
                  LIMIT $4 FOR UPDATE SKIP LOCKED) s),
       who AS (SELECT w.subject, w.role, w.k FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS w(subject, role, k)),
       claimed AS (
         UPDATE mediation_task t SET status = 'in-progress', assignee = who.subject, claimed_at = now(), last_activity_at = now(), version = t.version + 1
           FROM next JOIN who ON who.k = next.k
          WHERE t.id = next.id
         RETURNING t.*, who.k, who.role AS actor_role),
       event AS (
         INSERT INTO task_event (task_id, uzovi, type, actor, actor_role, details)
         SELECT id, uzovi, 'claimed', assignee, actor_role, '{"via": "claim-next"}' FROM claimed),
       ${AUDIT_CLAIMS}
       SELECT ${SUMMARY_COLUMNS}, t.k FROM claimed t JOIN referral r ON r.id = t.referral_id CROSS JOIN audit`,
      [own.value, callers.map((c) => c.subject), callers.map((c) => c.role), callers.length],
    );
    const today = amsterdamDate(new Date());
    const out: (TaskSummaryDto | null)[] = callers.map(() => null);
    for (const r of rows) out[Number(r.k) - 1] = toSummary(r, today);
    return out;
  }

  claim(id: string, caller: Principal, version: number): Promise<TaskSummaryDto> {
    return this.command(id, caller, version, (t) => {
      if (t.status !== 'open' || t.assignee !== null) {
        throw conflict(
          'The task is not open for claiming',
          'id',
          t.assignee ? `is assigned to ${t.assignee === caller.subject ? 'you' : 'someone else'}; a mediation lead may reassign it` : `is ${t.status}`,
        );
      }
      if (t.no_new_contact_since !== null)
        throw conflict('The task is flagged: start no new contact', 'id', 'its referral is now within the norm; a mediation lead may assign it to finish the contact under way');
      if (t.referral_status !== 'evaluated')
        throw conflict('The task is being re-evaluated', 'id', 'its referral is being judged again on changed inputs; try again in a few seconds');
      return { set: { status: 'in-progress', assignee: caller.subject, claimed_at: new Date() }, event: { type: 'claimed' } };
    });
  }

  release(id: string, caller: Principal, version: number): Promise<TaskSummaryDto> {
    return this.command(id, caller, version, (t) => {
      this.assertWorking(t, caller);
      return { set: { status: 'open', assignee: null, claimed_at: null }, event: { type: 'released', details: { from: t.assignee } } };
    });
  }

  assign(id: string, caller: Principal, dto: AssignDto): Promise<TaskSummaryDto> {
    return this.command(id, caller, dto.version, (t) => {
      if (!isLead(caller))
        throw new ForbiddenException({ message: 'Only a mediation lead may assign tasks', details: [{ field: 'assignee', reason: 'requires the role mediation-lead' }] });
      if (t.status === 'closed') throw conflict('A closed task cannot be assigned', 'id', 'is closed; reopen it first');
      return {
        set: { status: t.status === 'awaiting-patient' ? 'awaiting-patient' : 'in-progress', assignee: dto.assignee, claimed_at: new Date() },
        event: { type: 'assigned', details: { from: t.assignee, to: dto.assignee } },
      };
    });
  }

  contactAttempt(id: string, caller: Principal, dto: ContactAttemptDto): Promise<TaskSummaryDto> {
    return this.command(id, caller, dto.version, (t) => {
      this.assertWorking(t, caller);
      const failed = dto.result !== 'reached';
      return {
        set: {
          status: dto.awaitingPatient ? 'awaiting-patient' : 'in-progress',
          contact_attempts: t.contact_attempts + 1,
          failed_contact_attempts: t.failed_contact_attempts + (failed ? 1 : 0),
          first_contact_at: t.first_contact_at ?? new Date(),
        },
        event: { type: dto.awaitingPatient ? 'awaiting-patient' : 'contact-attempt', details: { channel: dto.channel, result: dto.result, attempt: t.contact_attempts + 1 } },
      };
    });
  }

  outcome(id: string, caller: Principal, dto: OutcomeDto): Promise<TaskSummaryDto> {
    return this.command(id, caller, dto.version, async (t, tx) => {
      this.assertWorking(t, caller);
      const needed = this.config.worklist.unreachableAfterAttempts;
      if (dto.outcome === 'unreachable' && t.failed_contact_attempts < needed) {
        throw conflict(
          'Too few contact attempts for "unreachable"',
          'outcome',
          `"unreachable" needs ${needed} failed contact attempts; this task has ${t.failed_contact_attempts}`,
        );
      }
      let details: Record<string, unknown> = {};
      if (dto.outcome === 'accepted-alternative') {
        const loc = await tx.query(`SELECT id, agb, name FROM provider_location WHERE id = $1`, [dto.locationId]);
        if (loc.length === 0) throw bad('locationId', 'is not a location in the provider registry');
        const offered = (t.alternatives as { locationId: string; totalWeeks: number }[]).find((a) => a.locationId === dto.locationId);
        const expectedWeeks = dto.expectedWeeks ?? offered?.totalWeeks;
        if (expectedWeeks === undefined) throw bad('expectedWeeks', 'is required when the location was not among the offered alternatives');
        details = { locationId: dto.locationId, agb: loc[0].agb, locationName: loc[0].name, expectedWeeks, offered: offered !== undefined };
      }
      return {
        set: { status: 'closed', outcome: dto.outcome, outcome_details: JSON.stringify(details), closed_at: new Date() },
        event: { type: 'outcome', details: { outcome: dto.outcome, ...details } },
      };
    });
  }

  reopen(id: string, caller: Principal, version: number): Promise<TaskSummaryDto> {
    return this.command(id, caller, version, (t) => {
      if (!isLead(caller))
        throw new ForbiddenException({ message: 'Only a mediation lead may reopen tasks', details: [{ field: 'id', reason: 'requires the role mediation-lead' }] });
      if (t.status !== 'closed') throw conflict('Only a closed task can be reopened', 'id', `is ${t.status}`);
      // Retention erased the person: there is nobody to contact any more.
      if (t.referral_status === 'erased')
        throw conflict('The task of an erased referral cannot be reopened', 'id', "its referral's personal data were erased by the retention run");
      if (t.outcome === 'phase-withdrawn') {
        throw conflict(
          'A task withdrawn by the phase rule cannot be reopened',
          'id',
          'was withdrawn because its referral may not be approached in this phase; it comes back by itself when the referral is above the norm again',
        );
      }
      return {
        set: { status: 'open', assignee: null, claimed_at: null, outcome: null, outcome_details: null, closed_at: null },
        event: { type: 'reopened', details: { previousOutcome: t.outcome } },
      };
    });
  }

  /** Tasks in progress without activity for STALE_CLAIM_MINUTES go back to the queue. */
  async releaseStale(): Promise<number> {
    const rows = await this.db.query(
      `WITH stale AS (
         UPDATE mediation_task t SET status = 'open', assignee = NULL, claimed_at = NULL, last_activity_at = now(), version = t.version + 1
          WHERE t.id IN (SELECT id FROM mediation_task WHERE status = 'in-progress' AND last_activity_at < now() - make_interval(mins => $1)
                          ORDER BY last_activity_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
         RETURNING t.id, t.uzovi),
       event AS (
         INSERT INTO task_event (task_id, uzovi, type, actor, actor_role, details)
         SELECT id, uzovi, 'stale-released', 'system', 'system', jsonb_build_object('idleMinutes', $1::int) FROM stale)
       SELECT count(*)::int AS n FROM stale`,
      [this.config.worklist.staleClaimMinutes],
    );
    const n = rows[0].n as number;
    if (n > 0) this.logger.log({ msg: 'stale claims released', count: n });
    return n;
  }

  async list(caller: Principal, f: TaskFilter): Promise<TaskPageDto> {
    const today = amsterdamDate(new Date());
    const own = tenant('t.uzovi', 1, caller.uzovis);
    // After a consent withdrawal a task is no longer listed: staff see only the anonymous counts (a task whose referral retention erased stays, without a person).
    const where = [own.sql, `r.status <> 'withdrawn'`];
    const params: unknown[] = [own.value];
    const add = (sql: (n: string) => string, v: unknown) => {
      params.push(v);
      where.push(sql(`$${params.length}`));
    };
    if (f.status !== undefined) {
      const statuses = f.status.split(',');
      if (statuses.some((s) => !(TASK_STATUSES as readonly string[]).includes(s))) throw bad('status', `must be one or more (comma-separated) of: ${TASK_STATUSES.join(', ')}`);
      add((n) => `t.status = ANY(${n}::text[])`, statuses);
    }
    if (f.assignee !== undefined) {
      if (f.assignee.length < 1 || f.assignee.length > 128) throw bad('assignee', 'must be 1–128 characters ("me" for yourself)');
      add((n) => `t.assignee = ${n}`, f.assignee === 'me' ? caller.subject : f.assignee);
    }
    if (f.overdue !== undefined) {
      if (f.overdue !== 'true' && f.overdue !== 'false') throw bad('overdue', 'must be true or false');
      add((n) => `(t.status <> 'closed' AND t.first_contact_at IS NULL AND t.due_date < ${n}::date) = ${f.overdue === 'true'}`, today);
    }
    if (f.noNewContact !== undefined) {
      if (f.noNewContact !== 'true' && f.noNewContact !== 'false') throw bad('noNewContact', 'must be true or false');
      where.push(`(t.no_new_contact_since IS NOT NULL) = ${f.noNewContact === 'true'}`);
    }
    if (f.priority !== undefined) {
      if (!/^[1-5]$/.test(f.priority)) throw bad('priority', 'must be a whole number from 1 to 5');
      add((n) => `t.priority = ${n}::int`, f.priority);
    }
    if (f.diagnosisGroup !== undefined) add((n) => `r.klachtenprofiel = ${n}`, f.diagnosisGroup);
    if (f.region !== undefined) add((n) => `EXISTS (SELECT 1 FROM provider_location l WHERE l.agb = r.agb AND l.region = ${n})`, f.region);

    const sort = f.sort ?? 'priority';
    if (!(TASK_SORTS as readonly string[]).includes(sort)) throw bad('sort', `must be one of: ${TASK_SORTS.join(', ')}`);
    const limit = f.limit === undefined ? 50 : Number(f.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw bad('limit', 'must be a whole number from 1 to 200');
    if (f.cursor !== undefined) {
      const c = decodeTaskCursor(f.cursor, sort);
      if (sort === 'priority') {
        params.push(c.p, c.d, c.c, c.id);
        const [p, d, cr, id] = [params.length - 3, params.length - 2, params.length - 1, params.length].map((i) => `$${i}`);
        where.push(`(t.priority < ${p}::int OR (t.priority = ${p}::int AND (t.due_date, t.created_at, t.id) > (${d}::date, ${cr}::timestamptz, ${id}::uuid)))`);
      } else if (sort === 'due') {
        params.push(c.d, c.id);
        where.push(`(t.due_date, t.id) > ($${params.length - 1}::date, $${params.length}::uuid)`);
      } else {
        params.push(c.c, c.id);
        where.push(`(t.created_at, t.id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
      }
    }
    const order = { priority: 't.priority DESC, t.due_date, t.created_at, t.id', due: 't.due_date, t.id', created: 't.created_at, t.id' }[sort];
    params.push(limit + 1);
    const rows: any[] = await this.db.query(
      `SELECT ${SUMMARY_COLUMNS}, r.audit_index, to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_exact
         FROM mediation_task t JOIN referral r ON r.id = t.referral_id
        WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT $${params.length}`,
      params,
    );
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const nextCursor = more && last ? Buffer.from(JSON.stringify({ s: sort, p: last.priority, d: last.due_date, c: last.created_exact, id: last.id })).toString('base64url') : null;
    // Each listed task shows a person's referral (diagnosis group, provider, dates): one entry per person shown.
    await this.audit.record(
      page.map((r) => ({
        actor: caller,
        organisation: r.uzovi,
        personIndex: r.audit_index,
        action: 'read' as const,
        resource: `task/${r.id}`,
        purpose: 'zorgbemiddeling' as const,
        outcome: 'allowed' as const,
        details: { listed: true },
      })),
    );
    return { items: page.map((r) => toSummary(r, today)), nextCursor };
  }

  /** Tasks per status for a team dashboard, with how many are overdue. */
  /** Tasks per status over every insurer: the operations metrics' anonymous figure. */
  async nationalStatusCounts(): Promise<{ status: string; n: number }[]> {
    return this.db.query(`SELECT status, count(*)::int AS n FROM mediation_task GROUP BY status`);
  }

  async counts(caller: Principal): Promise<{ byStatus: Record<TaskStatus, number>; overdue: number; unassignedOpen: number; noNewContact: number }> {
    const [row] = await this.db.query(
      `SELECT count(*) FILTER (WHERE status = 'open')::int AS open, count(*) FILTER (WHERE status = 'in-progress')::int AS in_progress,
              count(*) FILTER (WHERE status = 'awaiting-patient')::int AS awaiting, count(*) FILTER (WHERE status = 'closed')::int AS closed,
              count(*) FILTER (WHERE status <> 'closed' AND first_contact_at IS NULL AND due_date < $2::date)::int AS overdue,
              count(*) FILTER (WHERE status = 'open' AND assignee IS NULL AND no_new_contact_since IS NULL)::int AS unassigned_open,
              count(*) FILTER (WHERE status <> 'closed' AND no_new_contact_since IS NOT NULL)::int AS no_new_contact
         FROM mediation_task WHERE ${tenant('uzovi', 1, caller.uzovis).sql}`,
      [tenant('uzovi', 1, caller.uzovis).value, amsterdamDate(new Date())],
    );
    return {
      byStatus: { open: row.open, 'in-progress': row.in_progress, 'awaiting-patient': row.awaiting, closed: row.closed },
      overdue: row.overdue,
      unassignedOpen: row.unassigned_open,
      noNewContact: row.no_new_contact,
    };
  }

  /**
   * The task with its referral, the latest evaluation's explanation, the alternatives and the
   * history. The full BSN only for the task's assignee; every read is logged in task_access.
   */
  async detail(id: string, caller: Principal) {
    const rows: any[] = await this.db.query(
      `SELECT ${SUMMARY_COLUMNS}, t.alternatives, t.alternatives_updated_at, t.outcome_details,
              r.bsn_ciphertext, r.bsn_key_id, r.audit_index, to_char(r.verwijsdatum, 'YYYY-MM-DD') AS verwijsdatum, r.dsm_code, r.verdict,
              (SELECT row_to_json(e) FROM (SELECT id, evaluated_at, evaluation_date, trigger, verdict, phase, explanation
                                             FROM referral_evaluation WHERE referral_id = r.id ORDER BY evaluated_at DESC, id LIMIT 1) e) AS evaluation
         FROM mediation_task t JOIN referral r ON r.id = t.referral_id
        WHERE t.id = $1 AND t.uzovi = ANY($2::text[]) AND t.outcome IS DISTINCT FROM 'phase-withdrawn' AND r.status <> 'withdrawn'`,
      [id, caller.uzovis],
    );
    // A task the phase rule withdrew, and one whose referral's consent was withdrawn, are as invisible as a referral without a task.
    if (rows.length === 0) {
      await this.audit.record([{ actor: caller, personIndex: null, action: 'read', resource: `task/${id}`, purpose: 'zorgbemiddeling', outcome: 'refused' }]);
      throw new NotFoundException('No task with this id for your organisation');
    }
    const t = rows[0];
    // After a consent withdrawal there is no BSN any more (the task is closed).
    const showBsn = t.assignee === caller.subject && t.status !== 'closed' && t.bsn_ciphertext !== null;
    await this.db.query(`INSERT INTO task_access (task_id, uzovi, subject, role, bsn_shown) VALUES ($1, $2, $3, $4, $5)`, [id, t.uzovi, caller.subject, caller.role, showBsn]);
    const bsn = t.bsn_ciphertext === null ? null : this.vault.open({ keyId: t.bsn_key_id, ciphertext: t.bsn_ciphertext });
    await this.audit.record([
      {
        actor: caller,
        organisation: t.uzovi,
        personIndex: t.audit_index,
        action: showBsn ? 'read-bsn' : 'read',
        resource: `task/${id}`,
        purpose: 'zorgbemiddeling',
        outcome: 'allowed',
      },
    ]);
    const events: any[] = await this.db.query(`SELECT type, actor, actor_role, at, details FROM task_event WHERE task_id = $1 ORDER BY id`, [id]);
    const e = t.evaluation;
    return {
      ...toSummary(t, amsterdamDate(new Date())),
      referral: {
        id: t.referral_id,
        bsn: bsn === null ? null : showBsn ? bsn : maskBsn(bsn),
        bsnMasked: !showBsn,
        verwijsdatum: t.verwijsdatum,
        klachtenprofiel: t.klachtenprofiel,
        dsmCode: t.dsm_code,
        agb: t.agb,
        verdict: t.verdict,
      },
      evaluation: e && {
        id: e.id,
        evaluatedAt: e.evaluated_at,
        trigger: e.trigger,
        verdict: e.verdict,
        phase: e.phase,
        summary: explainEvaluation(e.explanation, e.phase),
        explanation: e.explanation,
      },
      alternatives: t.alternatives,
      alternativesUpdatedAt: t.alternatives_updated_at.toISOString(),
      outcomeDetails: t.outcome_details,
      history: events.map((ev) => ({ type: ev.type, actor: ev.actor, actorRole: ev.actor_role, at: ev.at.toISOString(), details: ev.details })),
    };
  }

  /** A mediator works only tasks assigned to them; a lead may act on any task of the insurer. */
  private assertWorking(t: any, caller: Principal): void {
    if (t.status !== 'in-progress' && t.status !== 'awaiting-patient') {
      throw conflict(`The task is ${t.status}`, 'id', t.status === 'open' ? 'is not claimed: claim it first' : `is ${t.status}`);
    }
    if (t.assignee !== caller.subject && !isLead(caller)) {
      throw new ForbiddenException({ message: 'This task is assigned to someone else', details: [{ field: 'id', reason: 'is assigned to another mediator' }] });
    }
  }

  private async command(id: string, caller: Principal, version: number, decide: (task: any, tx: Db) => Change | Promise<Change>): Promise<TaskSummaryDto> {
    return this.db.transaction(async (tx) => {
      // The referral first, as a consent withdrawal locks it (and then its task): a command racing a
      // withdrawal waits for it, then finds the referral withdrawn and is answered 404 — never a 409,
      // never a change to a withdrawn person's task (a closed task, which the withdrawal leaves
      // alone, included). KEY SHARE does not wait for the evaluation's updates of the referral.
      const live: unknown[] = await tx.query(
        `SELECT 1 FROM referral r JOIN mediation_task t ON t.referral_id = r.id
          WHERE t.id = $1 AND t.uzovi = ANY($2::text[]) AND r.status <> 'withdrawn' FOR KEY SHARE OF r`,
        [id, caller.uzovis],
      );
      const rows: any[] =
        live.length === 0
          ? []
          : await tx.query(
              `SELECT t.*, r.status AS referral_status FROM mediation_task t JOIN referral r ON r.id = t.referral_id
                WHERE t.id = $1 AND t.uzovi = ANY($2::text[]) AND r.status <> 'withdrawn' FOR UPDATE OF t`,
              [id, caller.uzovis],
            );
      if (rows.length === 0) {
        await this.audit.record([{ actor: caller, personIndex: null, action: 'update', resource: `task/${id}`, purpose: 'zorgbemiddeling', outcome: 'refused' }]);
        throw new NotFoundException('No task with this id for your organisation');
      }
      const t = rows[0];
      if (t.version !== version) throw conflict('The task was changed since you read it', 'version', `is ${version}, but the task is at version ${t.version}: read it again`);
      const change = await decide(t, tx);
      const cols = Object.keys(change.set);
      await tx.query(
        `UPDATE mediation_task SET ${cols.map((c, i) => `"${c}" = $${i + 2}`).join(', ')}${cols.length ? ', ' : ''} last_activity_at = now(), version = version + 1 WHERE id = $1`,
        [id, ...cols.map((c) => change.set[c])],
      );
      await tx.query(`INSERT INTO task_event (task_id, uzovi, type, actor, actor_role, details) VALUES ($1, $2, $3, $4, $5, $6)`, [
        id,
        t.uzovi,
        change.event.type,
        caller.subject,
        caller.role,
        JSON.stringify(change.event.details ?? {}),
      ]);
      const [out] = await tx.query(`SELECT ${SUMMARY_COLUMNS}, r.audit_index FROM mediation_task t JOIN referral r ON r.id = t.referral_id WHERE t.id = $1`, [id]);
      await this.audit.record(
        [
          {
            actor: caller,
            organisation: t.uzovi,
            personIndex: out.audit_index,
            action: 'update',
            resource: `task/${id}`,
            purpose: 'zorgbemiddeling',
            outcome: 'allowed',
            details: { command: change.event.type },
          },
        ],
        tx,
      );
      return toSummary(out, amsterdamDate(new Date()));
    });
  }
}
