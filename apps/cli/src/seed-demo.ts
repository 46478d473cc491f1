/**
 * Synthetic demo data for a newcomer: first a national provider registry (providers, locations,
 * insurer contracts, waiting times; see generateDemoRegistry), then referrals for the four large
 * insurers pointing at providers of that registry — some above the Treeknorm, some within it, one
 * without any figures — delivered through the real intake path (encryption, hand-off).
 * Idempotent within a day: the registry skips providers already present, and message ids are
 * fixed per seed day, so running it again the same day changes nothing. BSNs are synthetic
 * (elfproef-valid, generated).
 */
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { amsterdamDate, DIAGNOSIS_GROUP_CODES, DiagnosisGroup, evaluateReferral, isStaleMonth, LocationWait, NormSet, selectNormSet, syntheticBsn, Verdict } from '@app/core';
import { createAppDataSource } from '@app/migrations/data-source';
import { AppConfig, createLogger, PinoNestLogger, PlatformModule, Principal } from '@app/platform';
import { NormSetsService } from '@app/mediation';
import { ReferralIntakeService, ReferralMessageDto, ReferralsModule } from '@app/referrals';
import { DemoRegistry, generateDemoRegistry, loadDemoRegistry } from '@app/waitlists';
import { plainToInstance } from 'class-transformer';
import { DataSource } from 'typeorm';

export const DEMO_UZOVIS = ['3311', '7095', '7119', '3332'];
/** A week of referrals: 60 per insurer, referral dates spread over the last seven days. */
const PER_INSURER = 60;

export interface DemoReferral {
  message: ReferralMessageDto;
  /** What the referred provider's figures say on the seed day (the worker decides for real). */
  expected: Verdict;
}

/** Per insurer: two of every three referrals go to a provider above the norm, one to one within; one (3311) to a provider without figures. */
function wantedVerdict(uzovi: string, i: number): Verdict {
  if (uzovi === DEMO_UZOVIS[0] && i === PER_INSURER - 1) return 'no-data';
  return i % 3 === 2 ? 'within-norm' : 'above-norm';
}

/** Current (latest, not stale) figures per provider and diagnosis group, as the evaluation would read them. */
function currentWaits(registry: DemoRegistry, today: string): Map<string, LocationWait[]> {
  const latest = new Map<string, DemoRegistry['waits'][number]>();
  for (const w of registry.waits) {
    const key = `${w.agb}|${w.diagnosisGroup}|${w.locationCode}`;
    const seen = latest.get(key);
    if (!seen || seen.month < w.month) latest.set(key, w);
  }
  const out = new Map<string, LocationWait[]>();
  for (const w of latest.values()) {
    if (isStaleMonth(w.month, today)) continue;
    const key = `${w.agb}|${w.diagnosisGroup}`;
    const list = out.get(key) ?? [];
    list.push({ locationId: `${w.agb}/${w.locationCode}`, month: w.month, aanmeldWeeks: w.aanmeldWeeks, behandelWeeks: w.behandelWeeks });
    out.set(key, list);
  }
  return out;
}

/**
 * The demo referrals, pointing at providers of the generated registry. Deterministic for a day:
 * the same registry and norm sets give the same messages, so a re-run is recognised as duplicate.
 */
export function demoReferrals(now: Date, registry: DemoRegistry, normSets: NormSet[]): DemoReferral[] {
  const today = amsterdamDate(now);
  const waits = currentWaits(registry, today);
  const withFigures = new Map<DiagnosisGroup, string[]>(DIAGNOSIS_GROUP_CODES.map((g) => [g, []]));
  for (const key of [...waits.keys()].sort()) {
    const [agb, group] = key.split('|') as [string, DiagnosisGroup];
    withFigures.get(group)!.push(agb);
  }
  const reporting = new Set(registry.waits.map((w) => w.agb));
  const silent = registry.providers.filter((p) => !reporting.has(p.agb)).map((p) => p.agb);
  const treats = new Map<string, DiagnosisGroup[]>();
  for (const l of registry.locations) treats.set(l.agb, [...new Set([...(treats.get(l.agb) ?? []), ...l.diagnosisGroups])]);
  const used = new Set<string>();

  const out: DemoReferral[] = [];
  DEMO_UZOVIS.forEach((uzovi, u) => {
    for (let i = 0; i < PER_INSURER; i++) {
      const n = u * PER_INSURER + i;
      // At least a day back, so that the consent time below is always in the past.
      const verwijsdatum = amsterdamDate(new Date(now.getTime() - (1 + (n % 7)) * 86_400_000));
      const preferred = DIAGNOSIS_GROUP_CODES[n % DIAGNOSIS_GROUP_CODES.length];
      const norm = selectNormSet(normSets, { sector: 'ggz', date: verwijsdatum });
      const verdictAt = (agb: string, group: DiagnosisGroup): Verdict =>
        norm ? evaluateReferral({ referralDate: verwijsdatum, today, waits: waits.get(`${agb}|${group}`) ?? [], norm }).verdict : 'no-data';

      let target: { agb: string; group: DiagnosisGroup; expected: Verdict } | null = null;
      const want = wantedVerdict(uzovi, i);
      if (want === 'no-data' && silent.length > 0) {
        const agb = silent[n % silent.length];
        const groups = treats.get(agb) ?? [preferred];
        target = { agb, group: groups.includes(preferred) ? preferred : groups[0], expected: 'no-data' };
      } else {
        // The preferred group first, then the others; providers not used yet first; spread by n.
        const groups = [preferred, ...DIAGNOSIS_GROUP_CODES.filter((g) => g !== preferred)];
        for (const allowUsed of [false, true]) {
          for (const group of groups) {
            const agbs = withFigures.get(group)!;
            for (let k = 0; k < agbs.length && !target; k++) {
              const agb = agbs[(n * 37 + k) % agbs.length];
              if (!allowUsed && used.has(agb)) continue;
              if (verdictAt(agb, group) === want) target = { agb, group, expected: want };
            }
            if (target) break;
          }
          if (target) break;
        }
        // A registry without the wanted kind (tiny or odd seeds): any provider with figures will do.
        if (!target) {
          const [key] = [...waits.keys()].sort();
          const [agb, group] = (key ?? `${registry.providers[0].agb}|${preferred}`).split('|') as [string, DiagnosisGroup];
          target = { agb, group, expected: verdictAt(agb, group) };
        }
      }
      used.add(target.agb);

      out.push({
        expected: target.expected,
        message: plainToInstance(ReferralMessageDto, {
          // The seed day is part of the id: re-running today changes nothing, tomorrow adds a fresh set.
          messageId: `demo-${today}-${uzovi}-${String(i + 1).padStart(3, '0')}`,
          bsn: syntheticBsn(20_000_000 + n * 7919),
          verwijsdatum,
          klachtenprofiel: target.group,
          agb: target.agb,
          uzovi,
          consent: { id: `demo-consent-${uzovi}-${i + 1}`, givenAt: `${verwijsdatum}T09:00:00Z`, scope: 'zorgbemiddeling', channel: 'verwijsportaal' },
        }),
      });
    }
  });
  return out;
}

export function demoMessages(now: Date, registry: DemoRegistry, normSets: NormSet[]): ReferralMessageDto[] {
  return demoReferrals(now, registry, normSets).map((r) => r.message);
}

/** The GGZ norm sets as stored, through their owner. */
async function ggzNormSets(db: DataSource): Promise<NormSet[]> {
  return (await new NormSetsService(db).all()).filter((s) => s.sector === 'ggz');
}

export async function seedDemo(config: AppConfig): Promise<void> {
  const logger = createLogger('warn');
  @Module({
    imports: [PlatformModule.forRoot({ config, logger, dataSource: (c) => createAppDataSource(c, 'ggz-seed'), runMigrations: true }), ReferralsModule],
  })
  class SeedModule {}
  const app = await NestFactory.createApplicationContext(SeedModule, { logger: new PinoNestLogger(logger) });
  try {
    const now = new Date();
    const db = app.get(DataSource);
    const registry = generateDemoRegistry({ today: amsterdamDate(now) });
    const started = Date.now();
    const loaded = await loadDemoRegistry(db, registry);
    console.log(
      `demo registry: ${loaded.providers} providers, ${loaded.locations} locations, ${loaded.contracts} contracts, ${loaded.waits} wait rows loaded in ${Date.now() - started} ms` +
        (loaded.skippedProviders > 0 ? ` (${loaded.skippedProviders} providers already present, left as they are)` : ''),
    );

    const referrals = demoReferrals(now, registry, await ggzNormSets(db));
    const mix = (v: Verdict) => referrals.filter((r) => r.expected === v).length;
    console.log(`demo referrals point at providers ${mix('above-norm')}× above the norm, ${mix('within-norm')}× within it, ${mix('no-data')}× without figures`);

    const intake = app.get(ReferralIntakeService);
    const caller: Principal = { subject: 'demo-seed', role: 'referral-service', uzovis: DEMO_UZOVIS };
    const results = await intake.store(
      referrals.map((r) => r.message),
      caller,
    );
    const count = (o: string) => results.filter((r) => r.outcome === o).length;
    console.log(`demo referrals: ${count('created')} created, ${count('duplicate')} already present, ${count('conflict')} conflicting`);
    // An above-norm one: it gets a mediation task, so a mediator may open it once it is evaluated.
    const i = referrals.findIndex((r) => r.message.uzovi === '3311' && r.expected === 'above-norm');
    const example = results[i];
    if (example && 'referral' in example) console.log(`example referral for insurer 3311: ${example.referral.id}`);
  } finally {
    await app.close();
  }
}
