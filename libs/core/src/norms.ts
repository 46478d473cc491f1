/**
 * Dated norm sets (Treeknorm and its C4 successors) as data: validation, overlap detection and
 * selection by date and scope. Pure: dates are YYYY-MM-DD strings passed in.
 */
import { isIsoDate } from './dates';
import { GGZ_CATEGORIES, GGZ_STAGES, GgzCategory, MSZ_STAGES, NormSet, Sector, Stage, Urgency, URGENCIES } from './waiting.types';

const DAY_MS = 86_400_000;

/**
 * Weeks from one calendar date to another (fractional; 0 when `to` is before `from`). Throws on a
 * malformed date: NaN would otherwise compare as "within the norm" and hide the bug.
 */
export function weeksBetween(from: string, to: string): number {
  if (!isIsoDate(from) || !isIsoDate(to)) throw new Error(`weeksBetween needs YYYY-MM-DD dates, got ${JSON.stringify(from)} and ${JSON.stringify(to)}`);
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS;
  return Math.max(0, days / 7);
}

/** Rounds to a tenth of a week, the precision providers report in. */
export function roundWeeks(w: number): number {
  return Math.round(w * 10) / 10;
}

export function stagesOf(sector: Sector): readonly Stage[] {
  return sector === 'ggz' ? GGZ_STAGES : MSZ_STAGES;
}

export type NormSetDraft = Omit<NormSet, 'id'>;

/**
 * Why a norm set is refused, field by field; empty when it is acceptable. Takes anything (a parsed
 * request body, a row) so that a wrong shape is reported, not thrown.
 */
export function normSetProblems(input: NormSetDraft | unknown): { field: string; reason: string }[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return [{ field: '(body)', reason: 'must be an object' }];
  const n = input as NormSetDraft;
  const out: { field: string; reason: string }[] = [];
  const bad = (field: string, reason: string) => out.push({ field, reason });
  if (typeof n.name !== 'string' || n.name.trim().length < 1 || n.name.length > 100) bad('name', 'must be 1–100 characters');
  if (n.sector !== 'ggz' && n.sector !== 'msz') bad('sector', 'must be ggz or msz');
  if (!isIsoDate(n.validFrom)) bad('validFrom', 'must be a real date YYYY-MM-DD');
  if (n.validUntil !== null && (!isIsoDate(n.validUntil) || (isIsoDate(n.validFrom) && n.validUntil <= n.validFrom))) {
    bad('validUntil', 'must be null or a real date after validFrom');
  }
  if (n.urgency !== null && !(URGENCIES as readonly string[]).includes(n.urgency)) bad('urgency', `must be null or one of ${URGENCIES.join(', ')}`);
  if (n.category !== null) {
    if (!(GGZ_CATEGORIES as readonly string[]).includes(n.category)) bad('category', `must be null or one of ${GGZ_CATEGORIES.join(', ')}`);
    else if (n.sector !== 'ggz') bad('category', 'applies to sector ggz only');
  }
  if (n.sector === 'ggz' || n.sector === 'msz') {
    const stages = stagesOf(n.sector);
    if (typeof n.maxWeeks !== 'object' || n.maxWeeks === null || Array.isArray(n.maxWeeks)) {
      bad('maxWeeks', `must be an object with ${stages.join(', ')}`);
      return out;
    }
    const given = Object.keys(n.maxWeeks);
    for (const k of given) if (!(stages as readonly string[]).includes(k)) bad(`maxWeeks.${k}`, `is not a stage of sector ${n.sector}`);
    for (const s of stages) {
      const v = n.maxWeeks?.[s];
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 104) bad(`maxWeeks.${s}`, 'must be a number of weeks above 0 and at most 104');
    }
    const m = n.maxWeeks ?? {};
    if (n.sector === 'ggz' && typeof m.totaal === 'number' && m.totaal < Math.max(m.aanmelding ?? 0, m.behandeling ?? 0)) {
      bad('maxWeeks.totaal', 'must be at least the largest stage maximum');
    }
  }
  return out;
}

export function sameScope(a: Pick<NormSet, 'sector' | 'urgency' | 'category'>, b: Pick<NormSet, 'sector' | 'urgency' | 'category'>): boolean {
  return a.sector === b.sector && a.urgency === b.urgency && a.category === b.category;
}

/** [validFrom, validUntil) periods; null means open-ended. */
export function periodsOverlap(a: Pick<NormSet, 'validFrom' | 'validUntil'>, b: Pick<NormSet, 'validFrom' | 'validUntil'>): boolean {
  const aEndsAfterBStarts = a.validUntil === null || a.validUntil > b.validFrom;
  const bEndsAfterAStarts = b.validUntil === null || b.validUntil > a.validFrom;
  return aEndsAfterBStarts && bEndsAfterAStarts;
}

export function overlappingSets(candidate: NormSetDraft, existing: NormSet[]): NormSet[] {
  return existing.filter((e) => sameScope(candidate, e) && periodsOverlap(candidate, e));
}

function validOn(n: NormSet, date: string): boolean {
  return n.validFrom <= date && (n.validUntil === null || date < n.validUntil);
}

/**
 * The norm set that applies on `date` for a sector and (optionally) an urgency and GGZ category.
 * A set naming the same urgency/category beats a general one (null); a set naming another one
 * does not apply. Which date to pass is the caller's policy (see the evaluation).
 */
export function selectNormSet(sets: NormSet[], q: { sector: Sector; date: string; urgency?: Urgency | null; category?: GgzCategory | null }): NormSet | null {
  const urgency = q.urgency ?? null;
  const category = q.category ?? null;
  let best: NormSet | null = null;
  let bestScore = -1;
  for (const n of sets) {
    if (n.sector !== q.sector || !validOn(n, q.date)) continue;
    if (n.urgency !== null && n.urgency !== urgency) continue;
    if (n.category !== null && n.category !== category) continue;
    const score = (n.urgency !== null ? 2 : 0) + (n.category !== null ? 1 : 0);
    if (score > bestScore || (score === bestScore && best !== null && n.validFrom > best.validFrom)) {
      best = n;
      bestScore = score;
    }
  }
  return best;
}

/**
 * Seed data for the migration (and demo data): the Treeknorm as it stands until the C4 renewal.
 * Not for use as constants in logic: norms are dated data and are always read from the database.
 * The ids are readable labels, not the uuids the norm_set table generates.
 */
export const TREEKNORM_GGZ_2025: NormSet = {
  id: 'treeknorm-ggz',
  name: 'Treeknorm GGZ',
  sector: 'ggz',
  validFrom: '2000-01-01',
  validUntil: null,
  urgency: null,
  category: null,
  maxWeeks: { aanmelding: 4, behandeling: 10, totaal: 14 },
};

/**
 * Hospital care (C3b): polikliniek 4, diagnostiek 4, behandeling 6 weeks. The 6 is treatment in day
 * care; treatment with admission (opname) has 7 weeks, which this single-stage set cannot express
 * until a norm set is scoped by kind of treatment.
 */
export const TREEKNORM_MSZ_2025: NormSet = {
  id: 'treeknorm-msz',
  name: 'Treeknorm MSZ',
  sector: 'msz',
  validFrom: '2000-01-01',
  validUntil: null,
  urgency: null,
  category: null,
  maxWeeks: { polikliniek: 4, diagnostiek: 4, behandeling: 6 },
};
