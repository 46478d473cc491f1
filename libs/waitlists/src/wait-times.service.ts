/**
 * Published waiting times. Every report is kept (wait_time, the history); the current figure of a
 * location for a diagnosis group is the one for the latest month, and of that month the latest
 * submission (wait_time_current, kept by a trigger), and it counts only while its month is not
 * stale (see oldestCurrentMonth in the core).
 */
import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { amsterdamDate, isFutureMonth, oldestCurrentMonth, LocationWait } from '@app/core';
import type { FieldErrorDto } from '@app/platform';
import type { CurrentWaitDto, WaitTimeReportDto } from './wait-times.dto';

/** Reports for months further back than this are refused: they could never be current. */
const MAX_MONTHS_BACK = 24;

export interface StoredReport {
  agb: string;
  month: string;
  stored: number;
  diagnosisGroups: string[];
}

/** Current figures with the location they belong to. */
export interface CurrentWait extends LocationWait {
  agb: string;
  diagnosisGroup: string;
}

@Injectable()
export class WaitTimesService {
  constructor(private readonly db: DataSource) {}

  /**
   * Stores a provider's report in one statement, after checking every figure against the
   * registry; in `db`'s transaction when given (the re-evaluation it calls for commits with it).
   */
  async submit(
    agb: string,
    report: WaitTimeReportDto,
    submittedBy: string,
    today = amsterdamDate(new Date()),
    db: { query: DataSource['query'] } = this.db,
  ): Promise<StoredReport> {
    const problems: FieldErrorDto[] = [];
    if (isFutureMonth(report.month, today)) problems.push({ field: 'month', reason: 'must not be in the future' });
    const oldest = new Date(Date.UTC(Number(today.slice(0, 4)), Number(today.slice(5, 7)) - 1 - MAX_MONTHS_BACK, 1)).toISOString().slice(0, 7);
    if (report.month < oldest) problems.push({ field: 'month', reason: `must be at most ${MAX_MONTHS_BACK} months back` });

    const locations: { id: string; code: string; diagnosis_groups: string[] }[] = await db.query(`SELECT id, code, diagnosis_groups FROM provider_location WHERE agb = $1`, [agb]);
    if (locations.length === 0) {
      const known = await db.query(`SELECT 1 FROM provider WHERE agb = $1`, [agb]);
      if (known.length === 0)
        throw new NotFoundException({ message: 'No provider with this AGB code in the registry', details: [{ field: 'agb', reason: 'is not in the provider registry' }] });
    }
    const byCode = new Map(locations.map((l) => [l.code, l]));
    const seen = new Set<string>();
    const rows: { location_id: string; diagnosis_group: string; aanmeld: number; behandel: number }[] = [];
    report.figures.forEach((f, i) => {
      const loc = byCode.get(f.location);
      if (!loc) return void problems.push({ field: `figures[${i}].location`, reason: 'is not a location of this provider in the registry' });
      if (!loc.diagnosis_groups.includes(f.diagnosisGroup)) {
        return void problems.push({ field: `figures[${i}].diagnosisGroup`, reason: 'is not a diagnosis group this location treats (per the registry)' });
      }
      const key = `${f.location}\u0000${f.diagnosisGroup}`;
      if (seen.has(key)) return void problems.push({ field: `figures[${i}]`, reason: 'repeats a location and diagnosis group given earlier in this report' });
      seen.add(key);
      rows.push({ location_id: loc.id, diagnosis_group: f.diagnosisGroup, aanmeld: f.aanmeldWeeks, behandel: f.behandelWeeks });
    });
    if (problems.length > 0) throw new BadRequestException({ message: 'The waiting-time report is invalid; nothing was stored', details: problems.slice(0, 100) });

    await db.query(
      `INSERT INTO wait_time (location_id, diagnosis_group, month, aanmeld_weeks, behandel_weeks, submitted_by)
       SELECT x.location_id, x.diagnosis_group, $2::date, x.aanmeld, x.behandel, $3
         FROM jsonb_to_recordset($1::jsonb) AS x(location_id uuid, diagnosis_group text, aanmeld numeric, behandel numeric)`,
      [JSON.stringify(rows), `${report.month}-01`, submittedBy],
    );
    return { agb, month: report.month, stored: rows.length, diagnosisGroups: [...new Set(rows.map((r) => r.diagnosis_group))] };
  }

  /** Current (latest, not stale) figures of a provider's locations, with stale ones flagged when asked. */
  async currentForProvider(agb: string, today = amsterdamDate(new Date()), includeStale = false): Promise<CurrentWaitDto[]> {
    const known = await this.db.query(`SELECT 1 FROM provider WHERE agb = $1`, [agb]);
    if (known.length === 0)
      throw new NotFoundException({ message: 'No provider with this AGB code in the registry', details: [{ field: 'agb', reason: 'is not in the provider registry' }] });
    const oldest = oldestCurrentMonth(today);
    const rows: any[] = await this.db.query(
      `SELECT c.location_id, l.code, l.name, l.region, c.diagnosis_group, to_char(c.month, 'YYYY-MM') AS month,
              c.aanmeld_weeks::float8 AS aanmeld, c.behandel_weeks::float8 AS behandel, c.month < $2::date AS stale, c.submitted_at
         FROM wait_time_current c JOIN provider_location l ON l.id = c.location_id
        WHERE l.agb = $1 AND ($3 OR c.month >= $2::date)`,
      [agb, oldest, includeStale],
    );
    return rows
      .map((r) => ({
        locationId: r.location_id,
        location: r.code,
        locationName: r.name,
        region: r.region,
        diagnosisGroup: r.diagnosis_group,
        month: r.month,
        aanmeldWeeks: r.aanmeld,
        behandelWeeks: r.behandel,
        stale: r.stale,
        submittedAt: r.submitted_at.toISOString(),
      }))
      .sort((a, b) => a.location.localeCompare(b.location, 'en') || a.diagnosisGroup.localeCompare(b.diagnosisGroup, 'en'));
  }

  /**
   * Current figures for many (provider, diagnosis group) pairs at once — what the evaluation needs
   * for a batch of referrals. Keyed by `${agb}|${group}`.
   */
  async currentFor(pairs: { agb: string; diagnosisGroup: string }[], today: string, db: { query: DataSource['query'] } = this.db): Promise<Map<string, CurrentWait[]>> {
    const out = new Map<string, CurrentWait[]>();
    if (pairs.length === 0) return out;
    const rows: any[] = await db.query(
      `SELECT l.agb, c.location_id, c.diagnosis_group, to_char(c.month, 'YYYY-MM') AS month,
              c.aanmeld_weeks::float8 AS aanmeld, c.behandel_weeks::float8 AS behandel
         FROM unnest($1::text[], $2::text[]) AS p(agb, grp)
         JOIN provider_location l ON l.agb = p.agb
         JOIN wait_time_current c ON c.location_id = l.id AND c.diagnosis_group = p.grp
        WHERE c.month >= $3::date`,
      [pairs.map((p) => p.agb), pairs.map((p) => p.diagnosisGroup), oldestCurrentMonth(today)],
    );
    for (const r of rows) {
      const key = `${r.agb}|${r.diagnosis_group}`;
      const list = out.get(key) ?? [];
      list.push({ agb: r.agb, diagnosisGroup: r.diagnosis_group, locationId: r.location_id, month: r.month, aanmeldWeeks: r.aanmeld, behandelWeeks: r.behandel });
      out.set(key, list);
    }
    return out;
  }
}
