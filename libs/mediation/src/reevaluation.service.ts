/**
 * Decides which referrals need a new evaluation and hands them to the worker (by setting them
 * back to pending, so the sweeper covers a lost job). "Open" referrals are those that can still
 * lead to, or change, a mediation offer: no task, or an open task nobody has claimed, and referred
 * within the re-evaluation horizon.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { amsterdamDate } from '@app/core';
import { APP_CONFIG, AppConfig } from '@app/platform';
import { PendingReason, ReferralHandoffService } from '@app/referrals';

const OPEN = `NOT EXISTS (SELECT 1 FROM mediation_task t WHERE t.referral_id = r.id AND (t.status <> 'open' OR t.assignee IS NOT NULL))
  AND r.verwijsdatum >= $2::date - make_interval(weeks => $3)`;

@Injectable()
export class ReevaluationService {
  private readonly logger = new Logger(ReevaluationService.name);

  constructor(
    private readonly db: DataSource,
    private readonly handoff: ReferralHandoffService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private horizon(now: Date): [string, number] {
    return [amsterdamDate(now), this.config.evaluation.horizonWeeks];
  }

  /** New figures of one provider: its open referrals for the diagnosis groups reported. */
  forProviderFigures(agb: string, diagnosisGroups: string[], now = new Date()): Promise<number> {
    return this.handoff.requestReevaluation('wait-times', `${OPEN} AND r.agb = $4 AND r.klachtenprofiel = ANY($5::text[])`, [...this.horizon(now), agb, diagnosisGroups]);
  }

  /** A new norm set or a policy change: every open referral. */
  forAll(reason: Extract<PendingReason, 'norm-set' | 'policy' | 'daily' | 'manual'>, now = new Date()): Promise<number> {
    return this.handoff.requestReevaluation(reason, OPEN, this.horizon(now));
  }

  /**
   * The daily sweep: once per Amsterdam day, from DAILY_REEVALUATION_HOUR, re-evaluates every open
   * referral (a within-norm wait that accrues past the norm, figures that went stale, contracts
   * that changed). The day is claimed in daily_run, so several workers run it once.
   */
  async dailyIfDue(now = new Date()): Promise<number | null> {
    const hour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Amsterdam', hour: '2-digit', hourCycle: 'h23' }).format(now));
    if (!this.config.evaluation.daily || hour < this.config.evaluation.dailyHour) return null;
    const claimed = await this.db.query(`INSERT INTO daily_run (kind, day) VALUES ('reevaluate', $1) ON CONFLICT DO NOTHING RETURNING day`, [amsterdamDate(now)]);
    if (claimed.length === 0) return null;
    const n = await this.forAll('daily', now);
    await this.db.query(`UPDATE daily_run SET affected = $2 WHERE kind = 'reevaluate' AND day = $1`, [amsterdamDate(now), n]);
    this.logger.log({ msg: 'daily re-evaluation requested', count: n });
    return n;
  }
}
