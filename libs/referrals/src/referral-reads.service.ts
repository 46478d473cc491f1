/**
 * What other libs and apps may read of the referral table, through its owner (issue 16: one owner
 * per table). Each read names its tenant scope; none returns a BSN or its ciphertext.
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** Whose referrals: the insurers in `uzovis`, or every insurer (`all`, for admins and national figures). */
export interface ReferralScope {
  all: boolean;
  uzovis: string[];
}

export interface ReferralSummary {
  id: string;
  uzovi: string;
  /** YYYY-MM-DD. */
  verwijsdatum: string;
  klachtenprofiel: string;
  agb: string;
  status: string;
  verdict: string | null;
  /** The person's index in the access log; null once erased. */
  auditIndex: string | null;
}

const SUMMARY = `id, uzovi, to_char(verwijsdatum, 'YYYY-MM-DD') AS verwijsdatum, klachtenprofiel, agb, status, verdict, audit_index AS "auditIndex"`;

@Injectable()
export class ReferralReadsService {
  constructor(private readonly db: DataSource) {}

  /** One referral in scope whose consent stands (a withdrawn referral is as absent as another insurer's); null if none. */
  async visible(id: string, scope: ReferralScope): Promise<ReferralSummary | null> {
    const [row] = await this.db.query(`SELECT ${SUMMARY} FROM referral WHERE id = $1 AND ($2 OR uzovi = ANY($3::text[])) AND status <> 'withdrawn'`, [id, scope.all, scope.uzovis]);
    return row ?? null;
  }

  /** The referrals of these insurers with this blind index whose personal data still stand (not withdrawn, not erased), newest referral first. */
  async byBlindIndex(blindIndex: string, uzovis: string[]): Promise<ReferralSummary[]> {
    return this.db.query(
      `SELECT ${SUMMARY} FROM referral
        WHERE bsn_blind_index = $1 AND uzovi = ANY($2::bpchar[]) AND status NOT IN ('withdrawn', 'erased')
        ORDER BY verwijsdatum DESC, id`,
      [blindIndex, uzovis],
    );
  }

  /** Ids of evaluated referrals referred before `day` (YYYY-MM-DD), after `after` in id order, at most `limit` (retention's candidates). */
  async evaluatedBefore(day: string, after: string, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(`SELECT id FROM referral WHERE status = 'evaluated' AND verwijsdatum < $1::date AND id > $2::uuid ORDER BY id LIMIT $3`, [
      day,
      after,
      limit,
    ]);
    return rows.map((r) => r.id);
  }

  /** Referrals per insurer, status and verdict in scope (anonymous counts: withdrawn ones included). */
  async counts(scope: ReferralScope): Promise<{ uzovi: string; status: string; verdict: string | null; referrals: number }[]> {
    return this.db.query(
      `SELECT uzovi, status, verdict, count(*)::int AS referrals FROM referral
        WHERE $1 OR uzovi = ANY($2::text[]) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      [scope.all, scope.uzovis],
    );
  }
}
