import fc from 'fast-check';
import { evaluateReferral, taskPriority } from './evaluation';
import { treeknormGgz } from './test-fixtures';
import { LocationWait } from './waiting.types';

const TREEKNORM = treeknormGgz();
const wait = (locationId: string, aanmeldWeeks: number, behandelWeeks: number): LocationWait => ({ locationId, month: '2026-10', aanmeldWeeks, behandelWeeks });
const evalOn = (waits: LocationWait[], referralDate = '2026-11-22', today = '2026-11-22', norm = TREEKNORM) => evaluateReferral({ referralDate, today, waits, norm });

describe('evaluateReferral', () => {
  it('counts exactly at the norm as within, and a tenth above as above', () => {
    expect(evalOn([wait('a', 4, 10)]).verdict).toBe('within-norm');
    const over = evalOn([wait('a', 4.1, 9.9)]);
    expect(over.verdict).toBe('above-norm');
    expect(over.aboveNormStages).toEqual(['aanmelding']);
    expect(over.stages.find((s) => s.stage === 'aanmelding')).toMatchObject({ expectedWeeks: 4.1, normWeeks: 4, exceedsByWeeks: 0.1 });
    expect(evalOn([wait('a', 0, 10.1)]).aboveNormStages).toEqual(['behandeling']);
  });

  it('adds the wait already accrued since the referral to aanmelding and totaal, not to behandeling', () => {
    // Referred 3 weeks ago; 2 weeks to intake from now → 5 weeks for aanmelding.
    const e = evalOn([wait('a', 2, 9)], '2026-11-01', '2026-11-22');
    expect(e.accruedWeeks).toBe(3);
    expect(e.stages.map((s) => [s.stage, s.expectedWeeks])).toEqual([
      ['aanmelding', 5],
      ['behandeling', 9],
      ['totaal', 14],
    ]);
    expect(e.aboveNormStages).toEqual(['aanmelding']);
    expect(e.maxExceedanceWeeks).toBe(1);
  });

  it('uses the shortest location per stage: one location within the norm is enough', () => {
    const e = evalOn([wait('slow', 9, 12), wait('fast', 2, 5)]);
    expect(e.verdict).toBe('within-norm');
    expect(e.stages.every((s) => s.locationId === 'fast')).toBe(true);
    // Per stage: the location best for aanmelding need not be best for behandeling.
    const mixed = evalOn([wait('x', 1, 11), wait('y', 5, 3)]);
    expect(mixed.stages.map((s) => s.locationId)).toEqual(['x', 'y', 'y']);
    expect(mixed.verdict).toBe('within-norm');
  });

  it('says no-data without figures', () => {
    expect(evalOn([])).toEqual({ verdict: 'no-data', accruedWeeks: 0, stages: [], aboveNormStages: [], maxExceedanceWeeks: 0 });
  });

  it('refuses a norm set of another sector', () => {
    expect(() => evalOn([wait('a', 1, 1)], undefined, undefined, { ...TREEKNORM, sector: 'msz', maxWeeks: { polikliniek: 4 } })).toThrow(/ggz/);
  });

  const weeks = fc.integer({ min: 0, max: 300 }).map((n) => n / 10);
  const waits = fc.array(fc.tuple(weeks, weeks), { minLength: 1, maxLength: 5 }).map((ws) => ws.map(([a, b], i) => wait(`l${i}`, a, b)));

  it('property: a longer wait (figures or accrued time) never turns above-norm into within-norm', () => {
    fc.assert(
      fc.property(waits, fc.integer({ min: 0, max: 60 }), fc.nat({ max: 4 }), weeks, fc.integer({ min: 0, max: 60 }), (ws, daysAgo, idx, extra, moreDays) => {
        const ref = new Date(Date.UTC(2026, 10, 22) - daysAgo * 86_400_000).toISOString().slice(0, 10);
        const before = evalOn(ws, ref, '2026-11-22');
        const i = idx % ws.length;
        const longer = ws.map((w, k) => (k === i ? { ...w, aanmeldWeeks: w.aanmeldWeeks + extra, behandelWeeks: w.behandelWeeks + extra } : w));
        const later = new Date(Date.UTC(2026, 10, 22) + moreDays * 86_400_000).toISOString().slice(0, 10);
        const after = evalOn(longer, ref, later);
        if (before.verdict === 'above-norm') expect(after.verdict).toBe('above-norm');
      }),
    );
  });

  it('property: the verdict is above-norm exactly when some stage exceeds the norm at every location', () => {
    fc.assert(
      fc.property(waits, (ws) => {
        const e = evalOn(ws);
        const exceedsEverywhere =
          ws.every((w) => w.aanmeldWeeks > 4) || ws.every((w) => w.behandelWeeks > 10) || ws.every((w) => Math.round((w.aanmeldWeeks + w.behandelWeeks) * 10) / 10 > 14);
        expect(e.verdict).toBe(exceedsEverywhere ? 'above-norm' : 'within-norm');
      }),
    );
  });
});

describe('taskPriority', () => {
  it.each([
    [0.1, 1],
    [1, 1],
    [1.1, 2],
    [2, 2],
    [4, 3],
    [8, 4],
    [8.1, 5],
  ])('%s weeks over → priority %s', (over, prio) => {
    expect(taskPriority(evalOn([wait('a', 4 + over, 0)]))).toBe(prio);
  });
  it('is 0 when not above the norm', () => {
    expect(taskPriority(evalOn([wait('a', 1, 1)]))).toBe(0);
    expect(taskPriority(evalOn([]))).toBe(0);
  });
});
