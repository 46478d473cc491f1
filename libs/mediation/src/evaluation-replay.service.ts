/**
 * Replays stored decisions (see replay.ts) page by page: for an auditor of one insurer, an admin
 * (all insurers), `npm run evaluation:replay` and the test suite, which replays every decision its
 * run made and expects no difference.
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ReplayDifference, replayDecision } from './replay';

export interface ReplayReport {
  checked: number;
  differing: number;
  /** The first differences (at most `maxDifferences`), oldest decision first. */
  differences: ReplayDifference[];
}

export interface ReplayQuery {
  /** Insurers whose decisions to replay; null: all. */
  uzovis: string[] | null;
  /** Evaluation dates, inclusive (YYYY-MM-DD). */
  from?: string;
  to?: string;
  maxDifferences?: number;
}

const PAGE = 2000;

@Injectable()
export class EvaluationReplayService {
  constructor(private readonly db: DataSource) {}

  replay(q: ReplayQuery): Promise<ReplayReport> {
    return replayStoredDecisions(this.db, q);
  }
}

/** The replay over any connection (the service's, or a test's own client). */
export async function replayStoredDecisions(db: { query(sql: string, params?: unknown[]): Promise<any[]> }, q: ReplayQuery): Promise<ReplayReport> {
  const report: ReplayReport = { checked: 0, differing: 0, differences: [] };
  const max = q.maxDifferences ?? 100;
  let after: [string, string] | null = null;
  for (;;) {
    const rows: any[] = await db.query(
      `SELECT e.id, e.referral_id, e.verdict, e.phase, e.norm_set_id, e.explanation, e.evaluated_at::text AS at
         FROM referral_evaluation e JOIN referral r ON r.id = e.referral_id
        WHERE ($1::bpchar[] IS NULL OR r.uzovi = ANY($1::bpchar[]))
          AND ($2::date IS NULL OR e.evaluation_date >= $2::date) AND ($3::date IS NULL OR e.evaluation_date <= $3::date)
          AND ($4::timestamptz IS NULL OR (e.evaluated_at, e.id) > ($4::timestamptz, $5::uuid))
        ORDER BY e.evaluated_at, e.id LIMIT ${PAGE}`,
      [q.uzovis, q.from ?? null, q.to ?? null, after?.[0] ?? null, after?.[1] ?? null],
    );
    for (const r of rows) {
      const diffs = replayDecision({ id: r.id, referralId: r.referral_id, verdict: r.verdict, phase: r.phase, normSetId: r.norm_set_id, explanation: r.explanation });
      report.checked++;
      if (diffs.length > 0) report.differing++;
      for (const d of diffs) if (report.differences.length < max) report.differences.push(d);
    }
    if (rows.length < PAGE) return report;
    const last = rows[rows.length - 1];
    after = [last.at, last.id];
  }
}
