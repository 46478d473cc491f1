import { DIAGNOSIS_GROUP_CODES, isIsoDate, isStaleMonth, WAITING_LIST_REGIONS } from '@app/core';
import { DEMO_INSURERS, DemoRegistry, DemoWait, generateDemoRegistry, loadDemoRegistry } from './demo-registry';

const TODAY = '2026-03-15';

/** The latest figures per location and diagnosis group (what a reader would call "current"). */
function latestWaits(r: DemoRegistry): DemoWait[] {
  const latest = new Map<string, DemoWait>();
  for (const w of r.waits) {
    const key = `${w.agb}|${w.locationCode}|${w.diagnosisGroup}`;
    const seen = latest.get(key);
    if (!seen || seen.month < w.month) latest.set(key, w);
  }
  return [...latest.values()];
}

const aboveTreeknorm = (w: DemoWait) => w.aanmeldWeeks > 4 || w.behandelWeeks > 10 || w.aanmeldWeeks + w.behandelWeeks > 14;
const hasOneDecimal = (x: number) => Math.abs(x * 10 - Math.round(x * 10)) < 1e-9;

describe('generateDemoRegistry', () => {
  const registry = generateDemoRegistry({ today: TODAY });

  it('is deterministic for the same seed and differs for another', () => {
    expect(generateDemoRegistry({ today: TODAY })).toEqual(registry);
    expect(generateDemoRegistry({ today: TODAY, seed: 2 }).providers).not.toEqual(registry.providers);
  });

  it('keeps providers, locations and figures when only the day changes', () => {
    const later = generateDemoRegistry({ today: '2026-07-02' });
    expect(later.providers).toEqual(registry.providers);
    expect(later.locations).toEqual(registry.locations);
    expect(later.waits.map(({ month: _m, ...w }) => w)).toEqual(registry.waits.map(({ month: _m, ...w }) => w));
    expect(later.waits[0].month > registry.waits[0].month).toBe(true);
  });

  it('has the requested size: 400 providers, 1–4 locations each, about 1,000 locations and 8,000 wait rows', () => {
    expect(registry.providers).toHaveLength(400);
    const perProvider = new Map<string, number>();
    for (const l of registry.locations) perProvider.set(l.agb, (perProvider.get(l.agb) ?? 0) + 1);
    expect(perProvider.size).toBe(400);
    for (const n of perProvider.values()) {
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(4);
    }
    expect(registry.locations.length).toBeGreaterThan(800);
    expect(registry.locations.length).toBeLessThan(1200);
    expect(registry.waits.length).toBeGreaterThan(6000);
    expect(registry.waits.length).toBeLessThan(10000);
    expect(generateDemoRegistry({ today: TODAY, providers: 40 }).providers).toHaveLength(40);
  });

  it('has valid, unique AGB codes: 8 digits, institutions 73…, practices 94…', () => {
    const agbs = registry.providers.map((p) => p.agb);
    for (const agb of agbs) expect(agb).toMatch(/^(73|94)[0-9]{6}$/);
    expect(new Set(agbs).size).toBe(agbs.length);
    expect(agbs.some((a) => a.startsWith('73'))).toBe(true);
    expect(agbs.some((a) => a.startsWith('94'))).toBe(true);
    expect(new Set(registry.providers.map((p) => p.name)).size).toBe(registry.providers.length);
  });

  it('covers all 31 regions, the big ones with more providers than the small ones', () => {
    const providersIn = new Map<string, Set<string>>();
    for (const l of registry.locations) providersIn.set(l.region, (providersIn.get(l.region) ?? new Set()).add(l.agb));
    expect(WAITING_LIST_REGIONS.map((r) => r.code).filter((r) => !providersIn.has(r))).toEqual([]);
    expect([...providersIn.keys()].every((r) => WAITING_LIST_REGIONS.some((x) => x.code === r))).toBe(true);
    expect(providersIn.get('utrecht')!.size).toBeGreaterThan(providersIn.get('midden-ijssel')!.size);
    expect(providersIn.get('amsterdam')!.size).toBeGreaterThan(providersIn.get('t-gooi')!.size);
  });

  it('gives every location a valid postcode, a municipality and a code unique within its provider', () => {
    expect(registry.locations.filter((l) => !/^[1-9][0-9]{3}[A-Z]{2}$/.test(l.postcode))).toEqual([]);
    expect(registry.locations.filter((l) => l.municipality.length === 0 || l.name.length > 200)).toEqual([]);
    const keys = registry.locations.map((l) => `${l.agb}|${l.code}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('lets providers treat 3–12 valid diagnosis groups, basis-ggz common and eetstoornissen rare', () => {
    const groupsOf = new Map<string, Set<string>>();
    const known = new Set<string>(DIAGNOSIS_GROUP_CODES);
    expect(registry.locations.filter((l) => l.diagnosisGroups.length === 0 || !l.diagnosisGroups.every((g) => known.has(g)))).toEqual([]);
    for (const l of registry.locations) {
      const set = groupsOf.get(l.agb) ?? new Set<string>();
      l.diagnosisGroups.forEach((g) => set.add(g));
      groupsOf.set(l.agb, set);
    }
    for (const set of groupsOf.values()) {
      expect(set.size).toBeGreaterThanOrEqual(3);
      expect(set.size).toBeLessThanOrEqual(12);
    }
    const treating = (g: string) => [...groupsOf.values()].filter((s) => s.has(g)).length;
    expect(treating('basis-ggz')).toBeGreaterThan(240);
    expect(treating('eetstoornissen')).toBeGreaterThan(0);
    expect(treating('eetstoornissen')).toBeLessThan(80);
  });

  it('contracts most providers with most insurers, and some providers with few or none', () => {
    const uzovis = new Set(DEMO_INSURERS.map((i) => i.uzovi));
    const perProvider = new Map<string, number>();
    expect(
      registry.contracts.filter((c) => !uzovis.has(c.uzovi) || !isIsoDate(c.validFrom) || (c.validUntil !== null && !(isIsoDate(c.validUntil) && c.validUntil > c.validFrom))),
    ).toEqual([]);
    for (const c of registry.contracts) {
      perProvider.set(c.agb, (perProvider.get(c.agb) ?? 0) + 1);
    }
    const pairs = registry.contracts.map((c) => `${c.uzovi}|${c.agb}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    const counts = registry.providers.map((p) => perProvider.get(p.agb) ?? 0);
    expect(counts.filter((n) => n >= 7).length / counts.length).toBeGreaterThan(0.75);
    expect(counts.filter((n) => n <= 2).length).toBeGreaterThan(0);
  });

  it('reports weeks as non-negative numbers with one decimal, within 1–20 (aanmeld) and 1–30 (behandel)', () => {
    // One assertion over all rows: thousands of expect() calls would make the test slow.
    const bad = registry.waits.filter(
      (w) =>
        !(hasOneDecimal(w.aanmeldWeeks) && hasOneDecimal(w.behandelWeeks)) ||
        !(w.aanmeldWeeks >= 1 && w.aanmeldWeeks <= 20) ||
        !(w.behandelWeeks >= 1 && w.behandelWeeks <= 30) ||
        !/^\d{4}-(0[1-9]|1[0-2])$/.test(w.month),
    );
    expect(bad).toEqual([]);
    expect(new Set(registry.waits.map((w) => w.aanmeldWeeks)).size).toBeGreaterThan(50);
  });

  it('only reports figures for groups a location treats', () => {
    const treats = new Map(registry.locations.map((l) => [`${l.agb}|${l.code}`, new Set<string>(l.diagnosisGroups)]));
    expect(registry.waits.filter((w) => !treats.get(`${w.agb}|${w.locationCode}`)?.has(w.diagnosisGroup))).toEqual([]);
  });

  it('has most figures within the Treeknorm and a sizeable minority above it', () => {
    const current = latestWaits(registry);
    const share = current.filter(aboveTreeknorm).length / current.length;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.5);
  });

  it('has mostly this or last month as the latest month, a few stale ones, and no months in the future', () => {
    const current = latestWaits(registry);
    const recent = current.filter((w) => w.month === '2026-03' || w.month === '2026-02').length;
    expect(recent / current.length).toBeGreaterThan(0.7);
    const stale = current.filter((w) => isStaleMonth(w.month, TODAY));
    expect(stale.every((w) => w.month <= '2025-12')).toBe(true);
    expect(stale.length).toBeGreaterThan(0);
    expect(new Set(stale.map((w) => w.agb)).size / registry.providers.length).toBeLessThan(0.15);
    expect(registry.waits.every((w) => w.month <= '2026-03')).toBe(true);
  });

  it('leaves about 5% of providers without any figures', () => {
    const reporting = new Set(registry.waits.map((w) => w.agb));
    const silent = registry.providers.filter((p) => !reporting.has(p.agb)).length;
    expect(silent).toBeGreaterThanOrEqual(10);
    expect(silent).toBeLessThanOrEqual(30);
  });

  it('refuses a malformed day', () => {
    expect(() => generateDemoRegistry({ today: '2026-3-1' })).toThrow(/YYYY-MM-DD/);
  });
});

describe('loadDemoRegistry', () => {
  it('sends one statement with the registry as parameters and reports what was inserted', async () => {
    const registry = generateDemoRegistry({ today: TODAY, providers: 40 });
    const calls: { sql: string; params?: unknown[] }[] = [];
    const db = {
      async query(sql: string, params?: unknown[]) {
        calls.push({ sql, params });
        return [{ providers: '38', locations: '90', contracts: '300', waits: '700' }];
      },
    };
    const result = await loadDemoRegistry(db, registry);
    expect(calls).toHaveLength(1);
    expect(calls[0].sql).toMatch(/ON CONFLICT \("agb"\) DO NOTHING/);
    expect(calls[0].params![0]).toEqual(registry.providers.map((p) => p.agb));
    expect(JSON.parse(calls[0].params![4] as string)).toHaveLength(registry.waits.length);
    expect(result).toEqual({ providers: 38, locations: 90, contracts: 300, waits: 700, skippedProviders: 2 });
  });
});
