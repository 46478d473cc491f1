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

// ---- Further cases and properties --------------------------------------------------------------

const daysBefore = (today: string, n: number) => new Date(Date.parse(`${today}T00:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);

describe('evaluateReferral (more)', () => {
  it('lets accrued time alone cross the aanmelding norm: 28 days is exactly 4 weeks (within), 29 is above', () => {
    const at = evalOn([wait('a', 0, 5)], daysBefore('2026-11-22', 28));
    expect(at.accruedWeeks).toBe(4);
    expect(at.verdict).toBe('within-norm');
    const over = evalOn([wait('a', 0, 5)], daysBefore('2026-11-22', 29));
    expect(over.accruedWeeks).toBe(4.1); // 29/7 = 4.14… rounded to a tenth
    expect(over.aboveNormStages).toEqual(['aanmelding']);
  });

  it('counts a referral dated after the evaluation date as no accrued wait', () => {
    expect(evalOn([wait('a', 1, 1)], '2026-12-01', '2026-11-22').accruedWeeks).toBe(0);
  });

  it('keeps verdict and exceedance consistent for a norm off the tenth-week grid', () => {
    const norm = { ...TREEKNORM, maxWeeks: { aanmelding: 4.25, behandeling: 10, totaal: 14 } };
    const e = evalOn([wait('a', 4.3, 0)], undefined, undefined, norm);
    expect(e.verdict).toBe('above-norm');
    expect(e.stages[0]).toMatchObject({ stage: 'aanmelding', expectedWeeks: 4.3, exceedsByWeeks: 0.1 });
    expect(evalOn([wait('a', 4.2, 0)], undefined, undefined, norm).verdict).toBe('within-norm');
  });

  it('adds up tenths without floating-point surprises (0.3 + 8.3 + 5.4 is exactly at the norm of 14)', () => {
    expect(0.3 + 8.3 + 5.4).toBeGreaterThan(14); // what plain addition would say
    const norm = { ...TREEKNORM, maxWeeks: { aanmelding: 10, behandeling: 10, totaal: 14 } };
    const e = evalOn([wait('a', 8.3, 5.4)], daysBefore('2026-11-22', 2), '2026-11-22', norm); // 2 days = 0.29… → 0.3 weeks
    expect(e.stages.find((s) => s.stage === 'totaal')!.expectedWeeks).toBe(14);
    expect(e.verdict).toBe('within-norm');
  });

  it('throws on programming errors instead of reading them as "within the norm"', () => {
    expect(() => evalOn([wait('a', 1, 1)], undefined, undefined, { ...TREEKNORM, maxWeeks: { aanmelding: 4, behandeling: 10 } })).toThrow(/totaal/);
    expect(() => evalOn([wait('a', NaN, 1)])).toThrow(/location a/);
    expect(() => evalOn([wait('a', -1, 1)])).toThrow(/location a/);
    expect(() => evalOn([wait('a', 1, 1)], '22-11-2026')).toThrow(/YYYY-MM-DD/);
  });

  const weeks = fc.integer({ min: 0, max: 300 }).map((n) => n / 10);
  const waits = fc.array(fc.tuple(weeks, weeks), { minLength: 1, maxLength: 5 }).map((ws) => ws.map(([a, b], i) => wait(`l${i}`, a, b)));
  const norms = fc.tuple(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 100 })).map(([a, b, extra]) => ({
    ...TREEKNORM,
    maxWeeks: { aanmelding: a / 10, behandeling: b / 10, totaal: (Math.max(a, b) + extra) / 10 },
  }));

  it('property: raising any single figure of any location, or the accrued time, never turns above-norm into within-norm', () => {
    fc.assert(
      fc.property(
        waits,
        norms,
        fc.nat(60),
        fc.nat(4),
        fc.constantFrom('aanmeldWeeks' as const, 'behandelWeeks' as const, 'accrued' as const),
        fc.integer({ min: 1, max: 100 }),
        (ws, norm, daysAgo, idx, what, step) => {
          const ref = daysBefore('2026-11-22', daysAgo);
          const before = evalOn(ws, ref, '2026-11-22', norm);
          const i = idx % ws.length;
          const after =
            what === 'accrued'
              ? evalOn(ws, daysBefore('2026-11-22', daysAgo + step), '2026-11-22', norm)
              : evalOn(
                  ws.map((w, k) => (k === i ? { ...w, [what]: w[what] + step / 10 } : w)),
                  ref,
                  '2026-11-22',
                  norm,
                );
          if (before.verdict === 'above-norm') expect(after.verdict).toBe('above-norm');
          // And the largest exceedance never shrinks either: the task never looks less urgent.
          expect(after.maxExceedanceWeeks).toBeGreaterThanOrEqual(before.maxExceedanceWeeks);
        },
      ),
    );
  });

  it('property: each stage is the best location for that stage, and the verdict follows from those best locations alone', () => {
    fc.assert(
      fc.property(waits, norms, fc.nat(120), (ws, norm, daysAgo) => {
        const e = evalOn(ws, daysBefore('2026-11-22', daysAgo), '2026-11-22', norm);
        const acc = daysAgo / 7; // compared unrounded
        const exp = {
          aanmelding: (w: LocationWait) => acc + w.aanmeldWeeks,
          behandeling: (w: LocationWait) => w.behandelWeeks,
          totaal: (w: LocationWait) => acc + w.aanmeldWeeks + w.behandelWeeks,
        };
        for (const s of e.stages) {
          const best = Math.min(...ws.map(exp[s.stage]));
          const named = ws.find((w) => w.locationId === s.locationId)!;
          expect(s.expectedWeeks).toBeCloseTo(Math.round(best * 10) / 10, 9);
          expect(exp[s.stage](named)).toBeCloseTo(best, 9);
          expect(s.exceedsByWeeks > 0).toBe(best > s.normWeeks + 1e-9);
        }
        // Re-evaluating with only the best location per stage gives the same stage results.
        const verdictFromBest = e.stages.some(
          (s) =>
            evalOn([ws.find((w) => w.locationId === s.locationId)!], daysBefore('2026-11-22', daysAgo), '2026-11-22', norm).stages.find((x) => x.stage === s.stage)!
              .exceedsByWeeks > 0,
        );
        expect(e.verdict).toBe(verdictFromBest ? 'above-norm' : 'within-norm');
        expect(e.aboveNormStages).toEqual(e.stages.filter((s) => s.exceedsByWeeks > 0).map((s) => s.stage));
        expect(taskPriority(e) === 0).toBe(e.verdict !== 'above-norm');
      }),
    );
  });

  it('compares the accrued wait unrounded: 3 days (0.43 weeks) + 3.6 weeks is above a norm of 4, shown as 4.0 and 0.1 over', () => {
    const e = evalOn([wait('a', 3.6, 5)], daysBefore('2026-11-22', 3));
    expect(e.accruedWeeks).toBe(0.4); // for display
    expect(e.verdict).toBe('above-norm');
    expect(e.stages.find((s) => s.stage === 'aanmelding')).toMatchObject({ expectedWeeks: 4, normWeeks: 4, exceedsByWeeks: 0.1 });
    // 2 days (0.29 weeks) + 3.7 = 3.99: within, although it too is shown as 4.0.
    expect(evalOn([wait('a', 3.7, 5)], daysBefore('2026-11-22', 2)).verdict).toBe('within-norm');
  });
});

describe('taskPriority (more)', () => {
  it('is always an integer 1..5 when above the norm, and never falls as the exceedance grows', () => {
    let last = 0;
    for (let tenths = 1; tenths <= 200; tenths++) {
      const p = taskPriority(evalOn([wait('a', 4 + tenths / 10, 0)]));
      expect(Number.isInteger(p) && p >= 1 && p <= 5).toBe(true);
      expect(p).toBeGreaterThanOrEqual(last);
      last = p;
    }
    expect(last).toBe(5);
  });
});
