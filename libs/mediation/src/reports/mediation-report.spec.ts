import { addMonths, mediationReportCsv, monthsBetween, nearestRank, publishMonth, RawReportMonth, reportPeriod, REPORT_OUTCOMES } from './mediation-report';

function raw(overrides: Partial<RawReportMonth> = {}): RawReportMonth {
  return {
    month: '2026-10',
    received: 30,
    evaluated: 25,
    aboveNorm: { aanmelding: 17, behandeling: 20, totaal: 17 },
    tasksCreated: 20,
    stillOpen: 6,
    outcomes: {
      ...(Object.fromEntries(REPORT_OUTCOMES.map((o) => [o, 0])) as RawReportMonth['outcomes']),
      'accepted-alternative': 11,
      'prefers-to-wait': 1,
      unreachable: 1,
      'consent-withdrawn': 1,
    },
    contactWorkingDays: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 9],
    contactedOnTime: 15,
    weeksSaved: { total: 130, tasks: 11 },
    providersReferredTo: 3,
    providersWithoutCurrentFigures: 1,
    providersNotInRegistry: 1,
    accuracy: { run: null, measuredCells: 0, flaggedCells: 0 },
    ...overrides,
  };
}

describe('nearestRank', () => {
  it('is the smallest value with at least p of the values at or below it', () => {
    expect(nearestRank([], 0.5)).toBeNull();
    expect(nearestRank([7], 0.9)).toBe(7);
    expect(nearestRank([4, 1, 3, 2], 0.5)).toBe(2);
    expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
    expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.9)).toBe(10);
  });
});

describe('reportPeriod', () => {
  it('defaults to the twelve months through the current one', () => {
    expect(reportPeriod(undefined, undefined, '2026-11')).toEqual({ from: '2025-12', to: '2026-11' });
    expect(reportPeriod(undefined, '2026-03', '2026-11')).toEqual({ from: '2025-04', to: '2026-03' });
    expect(reportPeriod('2026-05', undefined, '2026-11')).toEqual({ from: '2026-05', to: '2026-11' });
  });
  it('names the field and the reason', () => {
    expect(reportPeriod('2026-13', undefined, '2026-11')).toEqual({ errors: [{ field: 'from', reason: expect.stringMatching(/YYYY-MM/) }] });
    expect(reportPeriod(undefined, '2026-1', '2026-11')).toEqual({ errors: [{ field: 'to', reason: expect.stringMatching(/YYYY-MM/) }] });
    expect(reportPeriod(undefined, '2026-12', '2026-11')).toEqual({ errors: [{ field: 'to', reason: expect.stringMatching(/current month/) }] });
    expect(reportPeriod('2026-10', '2026-09', '2026-11')).toEqual({ errors: [{ field: 'from', reason: expect.stringMatching(/after to/) }] });
    expect(reportPeriod('2023-10', '2026-10', '2026-11')).toEqual({ errors: [{ field: 'from', reason: expect.stringMatching(/36 months/) }] });
    expect(reportPeriod('2023-11', '2026-10', '2026-11')).toEqual({ from: '2023-11', to: '2026-10' });
  });
  it('counts months across years', () => {
    expect(monthsBetween('2025-11', '2026-02')).toEqual(['2025-11', '2025-12', '2026-01', '2026-02']);
    expect(addMonths('2026-01', -1)).toBe('2025-12');
    expect(addMonths('2025-12', 1)).toBe('2026-01');
  });
});

describe('publishMonth', () => {
  it('shows large counts, hides 1–4 (primary) and a complement where the small ones would add up to a known rest', () => {
    const m = publishMonth(raw());
    expect(m.referrals).toEqual({ received: 30, evaluated: 25 });
    expect(m.aboveNorm.behandeling).toEqual({ count: 20, share: 0.8 });
    // 20 tasks = 11 accepted + three cells of 1–4 + 6 still open: shown, the three would be
    // 20 - 11 - 6 = 3, so 1 each. The still-open count is hidden too.
    expect(m.tasks.outcomes['prefers-to-wait']).toBeNull();
    expect(m.suppressed['tasks.outcomes.prefers-to-wait']).toBe('primary');
    expect(m.tasks.stillOpen).toBeNull();
    expect(m.suppressed['tasks.stillOpen']).toBe('secondary');
    expect(m.tasks.created).toBe(20);
    expect(m.tasks.outcomes['accepted-alternative']).toBe(11);
    expect(m.tasks.outcomes.declined).toBe(0);
    expect(m.firstContact).toEqual({ contacted: 20, onTime: 15, medianWorkingDays: 1, p90WorkingDays: 5 });
    expect(m.weeksSaved).toEqual({ total: 130, perAcceptedTask: 11.8 });
    expect(m.providers).toEqual({ referredTo: 3, withoutCurrentFigures: 1, shareWithoutCurrentFigures: 0.333, notInRegistry: 1 });
    expect(m.accuracy).toEqual({ run: null, measuredCells: null, flaggedCells: null, flaggedShare: null });
  });

  it('protects a derivable rest that is never printed, keeping the denominator of the shares', () => {
    // 8 received, 6 evaluated: "2 not evaluated" would follow. The received count goes.
    const m = publishMonth(
      raw({
        received: 8,
        evaluated: 6,
        aboveNorm: { aanmelding: 6, behandeling: 6, totaal: 6 },
        tasksCreated: 6,
        stillOpen: 6,
        outcomes: Object.fromEntries(REPORT_OUTCOMES.map((o) => [o, 0])) as RawReportMonth['outcomes'],
        contactWorkingDays: [],
        contactedOnTime: 0,
        weeksSaved: { total: 0, tasks: 0 },
      }),
    );
    expect(m.referrals).toEqual({ received: null, evaluated: 6 });
    expect(m.suppressed['referrals.received']).toBe('secondary');
    expect(m.aboveNorm.aanmelding).toEqual({ count: 6, share: 1 });
    expect(m.firstContact).toEqual({ contacted: 0, onTime: 0, medianWorkingDays: null, p90WorkingDays: null });
    expect(m.weeksSaved).toEqual({ total: 0, perAcceptedTask: null });
    expect(m.suppressed['firstContact.medianWorkingDays']).toBeUndefined();
  });

  it('hides what is computed from a hidden count or from fewer than 5 people', () => {
    const m = publishMonth(
      raw({
        evaluated: 25,
        aboveNorm: { aanmelding: 3, behandeling: 20, totaal: 17 },
        outcomes: { ...raw().outcomes, 'accepted-alternative': 2, declined: 9 },
        weeksSaved: { total: 22, tasks: 2 },
        contactWorkingDays: [1, 2, 3],
        contactedOnTime: 3,
        tasksCreated: 20,
        stillOpen: 6,
      }),
    );
    expect(m.aboveNorm.aanmelding).toEqual({ count: null, share: null });
    expect(m.suppressed['aboveNorm.aanmelding.share']).toBe('dependent');
    expect(m.weeksSaved).toEqual({ total: null, perAcceptedTask: null });
    expect(m.suppressed['weeksSaved.total']).toBe('dependent');
    expect(m.firstContact.medianWorkingDays).toBeNull();
    expect(m.suppressed['firstContact.medianWorkingDays']).toBe('dependent');
  });

  it('writes long-form CSV with the reason beside an empty value', () => {
    const m = publishMonth(raw());
    const csv = mediationReportCsv({
      scope: { kind: 'national' },
      from: '2026-10',
      to: '2026-10',
      generatedAt: '',
      suppression: { threshold: 5, legend: {} as never },
      months: [m],
    });
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe('month,figure,value,suppressed');
    expect(lines).toContain('2026-10,referrals.received,30,');
    expect(lines).toContain('2026-10,tasks.outcomes.prefers-to-wait,,primary');
    expect(lines).toContain('2026-10,tasks.stillOpen,,secondary');
    expect(lines).toContain('2026-10,aboveNorm.totaal.share,0.68,');
  });
});
