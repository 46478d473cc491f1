/**
 * The dated mediation policy (phase 1 from 2026-01-01; phase 2 from a date set by an admin, none
 * by default). Every change is a new row, so the history shows who switched what, when.
 */
import { BadRequestException, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MediationPolicy, policyProblems } from '@app/core';

export interface PolicyVersion extends MediationPolicy {
  id: number;
  changedAt: string;
  changedBy: string;
}

const COLUMNS = `id, to_char(phase1_from, 'YYYY-MM-DD') AS phase1_from, to_char(phase2_from, 'YYYY-MM-DD') AS phase2_from, changed_at, changed_by`;
const toVersion = (r: any): PolicyVersion => ({ id: r.id, phase1From: r.phase1_from, phase2From: r.phase2_from, changedAt: r.changed_at.toISOString(), changedBy: r.changed_by });

@Injectable()
export class MediationPolicyService {
  constructor(private readonly db: DataSource) {}

  /** The policy in force: the newest row (the migration seeds the first). */
  async current(db: { query: DataSource['query'] } = this.db): Promise<PolicyVersion> {
    const rows = await db.query(`SELECT ${COLUMNS} FROM mediation_policy ORDER BY id DESC LIMIT 1`);
    if (rows.length === 0) throw new Error('mediation_policy is empty: the migration seeds it');
    return toVersion(rows[0]);
  }

  async history(): Promise<PolicyVersion[]> {
    return (await this.db.query(`SELECT ${COLUMNS} FROM mediation_policy ORDER BY id DESC`)).map(toVersion);
  }

  /** Changes the policy; fields left out keep their current value. */
  async change(plain: unknown, changedBy: string, db: { query: DataSource['query'] } = this.db): Promise<PolicyVersion> {
    if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
      throw new BadRequestException({ message: 'The policy is invalid', details: [{ field: '(body)', reason: 'must be a JSON object' }] });
    }
    const unknown = Object.keys(plain).filter((k) => k !== 'phase1From' && k !== 'phase2From');
    if (unknown.length > 0) throw new BadRequestException({ message: 'The policy is invalid', details: unknown.map((field) => ({ field, reason: 'is not an allowed field' })) });
    // Changes are serialised, so each starts from the one before it.
    await db.query(`LOCK TABLE mediation_policy IN SHARE ROW EXCLUSIVE MODE`);
    const now = await this.current(db);
    const next = { phase1From: now.phase1From, phase2From: now.phase2From, ...(plain as Partial<MediationPolicy>) };
    const problems = policyProblems(next);
    if (problems.length > 0) throw new BadRequestException({ message: 'The policy is invalid', details: problems });
    const rows = await db.query(`INSERT INTO mediation_policy (phase1_from, phase2_from, changed_by) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`, [
      next.phase1From,
      next.phase2From,
      changedBy,
    ]);
    return toVersion(rows[0]);
  }
}
