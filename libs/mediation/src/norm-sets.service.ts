/**
 * Norm sets as dated data (Treeknorm now, the renewed C4 norms when they are published). The
 * rules live in the core (normSetProblems, overlappingSets); the exclusion constraint
 * ex_norm_set_overlap backs them up against two admins adding sets at the same moment. Changes
 * take the caller's transaction (`db`): DecisionInputsService runs them together with the
 * re-evaluation they call for.
 */
import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { DataSource, QueryFailedError } from 'typeorm';
import { NormSet, NormSetDraft, normSetProblems, overlappingSets } from '@app/core';

type Db = { query: DataSource['query'] };

const COLUMNS = `id, name, sector, to_char(valid_from, 'YYYY-MM-DD') AS valid_from, to_char(valid_until, 'YYYY-MM-DD') AS valid_until,
  urgency, category, max_weeks, created_at, created_by`;

const NORM_SET_FIELDS = ['name', 'sector', 'validFrom', 'validUntil', 'urgency', 'category', 'maxWeeks'];

export interface StoredNormSet extends NormSet {
  createdAt: string;
  createdBy: string;
}

function toNormSet(r: any): StoredNormSet {
  return {
    id: r.id,
    name: r.name,
    sector: r.sector,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    urgency: r.urgency,
    category: r.category,
    maxWeeks: r.max_weeks,
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
  };
}

function overlapConflict(others: NormSet[]): ConflictException {
  return new ConflictException({
    message: 'A norm set for the same sector, urgency and category already applies in this period',
    details: others.map((o) => ({
      field: 'validFrom',
      reason: `overlaps "${o.name}" (${o.id}), valid ${o.validFrom} until ${o.validUntil ?? 'further notice'}; end that set first, or succeed it in one step: POST /v1/norm-sets/${o.id}/successor`,
    })),
  });
}

@Injectable()
export class NormSetsService {
  constructor(private readonly db: DataSource) {}

  async all(db: { query: DataSource['query'] } = this.db): Promise<StoredNormSet[]> {
    const rows = await db.query(`SELECT ${COLUMNS} FROM norm_set ORDER BY sector, valid_from, name`);
    return rows.map(toNormSet);
  }

  /**
   * One set; `lock` holds it against other admins' changes until the transaction ends. NO KEY
   * UPDATE, not UPDATE: decisions being stored reference the set (a foreign key takes KEY SHARE),
   * and a stronger lock would make them wait for this transaction while it waits for them.
   */
  async get(id: string, db: Db = this.db, lock = false): Promise<StoredNormSet> {
    const rows = await db.query(`SELECT ${COLUMNS} FROM norm_set WHERE id = $1${lock ? ' FOR NO KEY UPDATE' : ''}`, [id]);
    if (rows.length === 0) throw new NotFoundException({ message: 'No norm set with this id', details: [{ field: 'id', reason: 'is not a known norm set' }] });
    return toNormSet(rows[0]);
  }

  /** Adds a set; refuses one that overlaps a set of the same scope (409) or breaks a rule (400). */
  async create(plain: unknown, createdBy: string, db: Db = this.db): Promise<StoredNormSet> {
    const draft = this.draft(plain);
    const clash = overlappingSets(draft, await this.all(db));
    if (clash.length > 0) throw overlapConflict(clash);
    return this.insert(draft, createdBy, db);
  }

  /**
   * Ends the set `id` where its successor starts and adds the successor, in `db` (one
   * transaction, so there is no moment in which neither applies). The successor has the same
   * scope (sector, urgency, category) and starts after the set it follows.
   */
  async succeed(id: string, plain: unknown, createdBy: string, db: Db): Promise<{ ended: StoredNormSet; started: StoredNormSet }> {
    const draft = this.draft(plain);
    const current = await this.get(id, db, true);
    const problems: { field: string; reason: string }[] = [];
    for (const f of ['sector', 'urgency', 'category'] as const) {
      if (draft[f] !== current[f]) problems.push({ field: f, reason: `must be ${JSON.stringify(current[f])}, as in the set it succeeds` });
    }
    if (draft.validFrom <= current.validFrom) problems.push({ field: 'validFrom', reason: `must be after ${current.validFrom}, the start of the set it succeeds` });
    if (current.validUntil !== null && draft.validFrom > current.validUntil) {
      problems.push({ field: 'validFrom', reason: `must be at most ${current.validUntil}, the end of the set it succeeds (a later start would leave a gap)` });
    }
    if (problems.length > 0) throw new BadRequestException({ message: 'The successor is invalid', details: problems });
    const others = (await this.all(db)).filter((s) => s.id !== id);
    const clash = overlappingSets(draft, others);
    if (clash.length > 0) throw overlapConflict(clash);
    const [rows] = await db.query(`UPDATE norm_set SET valid_until = $2 WHERE id = $1 RETURNING ${COLUMNS}`, [id, draft.validFrom]);
    return { ended: toNormSet(rows[0]), started: await this.insert(draft, createdBy, db) };
  }

  private draft(plain: unknown): NormSetDraft {
    if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
      throw new BadRequestException({ message: 'The norm set is invalid', details: [{ field: '(body)', reason: 'must be a JSON object' }] });
    }
    const unknown = Object.keys(plain).filter((k) => !NORM_SET_FIELDS.includes(k));
    if (unknown.length > 0) throw new BadRequestException({ message: 'The norm set is invalid', details: unknown.map((field) => ({ field, reason: 'is not an allowed field' })) });
    const draft = { urgency: null, category: null, validUntil: null, ...(plain as object) } as NormSetDraft;
    const problems = normSetProblems(draft);
    if (problems.length > 0) throw new BadRequestException({ message: 'The norm set is invalid', details: problems });
    return draft;
  }

  private async insert(draft: NormSetDraft, createdBy: string, db: Db): Promise<StoredNormSet> {
    try {
      const rows = await db.query(
        `INSERT INTO norm_set (name, sector, valid_from, valid_until, urgency, category, max_weeks, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
        [draft.name.trim(), draft.sector, draft.validFrom, draft.validUntil, draft.urgency, draft.category, JSON.stringify(draft.maxWeeks), createdBy],
      );
      return toNormSet(rows[0]);
    } catch (e) {
      // Another admin added an overlapping set between our check and our insert.
      if (e instanceof QueryFailedError && (e as any).code === '23P01') throw overlapConflict([]);
      throw e;
    }
  }

  /**
   * Ends a set: only its `validUntil` can change, and only to a date after its start, because
   * stored decisions refer to it; its maxima never change (add a new set instead).
   */
  async end(id: string, validUntil: unknown, db: Db = this.db): Promise<StoredNormSet> {
    const current = await this.get(id, db, true);
    const changed = { ...current, validUntil } as NormSet;
    const problems = normSetProblems(changed).filter((p) => p.field === 'validUntil');
    if (validUntil === undefined) problems.push({ field: 'validUntil', reason: 'is required (a date, or null for open-ended)' });
    if (problems.length > 0) throw new BadRequestException({ message: 'The new end date is invalid', details: problems });
    const clash = overlappingSets(
      changed,
      (await this.all(db)).filter((s) => s.id !== id),
    );
    if (clash.length > 0) throw overlapConflict(clash);
    try {
      // TypeORM answers an UPDATE … RETURNING with [rows, affected].
      const [rows] = await db.query(`UPDATE norm_set SET valid_until = $2 WHERE id = $1 RETURNING ${COLUMNS}`, [id, validUntil]);
      return toNormSet(rows[0]);
    } catch (e) {
      if (e instanceof QueryFailedError && (e as any).code === '23P01') throw overlapConflict([]);
      throw e;
    }
  }
}
