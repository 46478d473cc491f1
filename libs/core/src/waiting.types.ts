/**
 * Types shared by the pure waiting-time logic: norm sets, mediation policy, evaluation and the
 * ranking of alternatives. No Nest, no database, no clock: dates are ISO strings passed in.
 */
import type { DiagnosisGroup } from './diagnosis-groups';

export type Sector = 'ggz' | 'msz';
export const GGZ_STAGES = ['aanmelding', 'behandeling', 'totaal'] as const;
export const MSZ_STAGES = ['polikliniek', 'diagnostiek', 'behandeling'] as const;
export type GgzStage = (typeof GGZ_STAGES)[number];
export type MszStage = (typeof MSZ_STAGES)[number];
export type Stage = GgzStage | MszStage;

/** Optional dimensions of the renewed (C4) norms; null on a norm set means "applies to all". */
export const URGENCIES = ['regulier', 'urgent'] as const;
export type Urgency = (typeof URGENCIES)[number];
export const GGZ_CATEGORIES = ['cruciaal', 'overig'] as const;
export type GgzCategory = (typeof GGZ_CATEGORIES)[number];

export interface NormSet {
  id: string;
  name: string;
  sector: Sector;
  /** First day the set applies (inclusive), YYYY-MM-DD. */
  validFrom: string;
  /** First day it no longer applies (exclusive), or null for open-ended. */
  validUntil: string | null;
  urgency: Urgency | null;
  category: GgzCategory | null;
  /** Maximum acceptable wait per stage, in weeks. ggz: aanmelding, behandeling, totaal. */
  maxWeeks: Partial<Record<Stage, number>>;
}

/** Dated mediation policy: phase 1 approaches above-norm people only; phase 2 also within norm. */
export interface MediationPolicy {
  phase1From: string;
  phase2From: string | null;
}
export type MediationPhase = 'none' | 'phase-1' | 'phase-2';

/** Current published (or cleaned) figures of one location for one diagnosis group. */
export interface LocationWait {
  locationId: string;
  /** YYYY-MM: the month the figures describe. */
  month: string;
  aanmeldWeeks: number;
  behandelWeeks: number;
}

/**
 * `no-data`: a norm applies but the referred provider has no current figures for the group.
 * `no-norm`: no norm set applies on the referral date (a gap in the dated norms) — an admin's
 * matter, counted apart so that it is not mistaken for missing figures.
 */
export type Verdict = 'above-norm' | 'within-norm' | 'no-data' | 'no-norm';
export const VERDICTS: readonly Verdict[] = ['above-norm', 'within-norm', 'no-data', 'no-norm'];

export interface StageResult {
  stage: GgzStage;
  /** Expected wait for the stage in weeks (accrued wait included where it applies). */
  expectedWeeks: number;
  normWeeks: number;
  /** expectedWeeks - normWeeks when above the norm, else 0. */
  exceedsByWeeks: number;
  /** The location whose figures gave this (shortest) expectation. */
  locationId: string;
}

export interface EvaluationInput {
  /** Referral date (verwijsdatum), YYYY-MM-DD: waiting counts from here. */
  referralDate: string;
  /** The evaluation date, YYYY-MM-DD. */
  today: string;
  /** Current figures of the referred provider's locations for the referral's diagnosis group. */
  waits: LocationWait[];
  norm: NormSet;
}

export interface Evaluation {
  verdict: Verdict;
  accruedWeeks: number;
  /** Per-stage results (empty for no-data and no-norm). */
  stages: StageResult[];
  /** Stages above the norm. */
  aboveNormStages: GgzStage[];
  /** Largest exceedance in weeks (0 unless above-norm): drives task priority. */
  maxExceedanceWeeks: number;
}

export interface CandidateLocation {
  locationId: string;
  agb: string;
  providerName: string;
  locationName: string;
  region: string;
  municipality: string;
  /** Contracted by the referral's insurer on the evaluation date. */
  contracted: boolean;
  /** Treats the referral's diagnosis group. */
  treats: boolean;
  /** Current figures for the diagnosis group, or null when none are current. */
  wait: LocationWait | null;
}

export interface RankedAlternative {
  rank: number;
  locationId: string;
  agb: string;
  providerName: string;
  locationName: string;
  region: string;
  municipality: string;
  aanmeldWeeks: number;
  behandelWeeks: number;
  totalWeeks: number;
  month: string;
  withinNorm: boolean;
  sameRegion: boolean;
  /** Plain words: why this location was chosen. */
  reason: string;
}

export interface AlternativesInput {
  referredAgb: string;
  /** Regions of the referred provider's locations ("same region first"). */
  referralRegions: string[];
  /** The expected total wait at the referred provider (shortest location), in weeks, without accrued wait. */
  referredTotalWeeks: number | null;
  norm: NormSet;
  candidates: CandidateLocation[];
  diagnosisGroup: DiagnosisGroup;
  limit?: number;
}
