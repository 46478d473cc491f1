/**
 * Synthetic demo data for a newcomer: referrals for the four large insurers, delivered through
 * the real intake path (encryption, hand-off). Idempotent within a day: message ids are fixed
 * per seed day, so running it again the same day changes nothing. BSNs are synthetic (elfproef-valid, generated).
 */
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { amsterdamDate, DIAGNOSIS_GROUP_CODES, syntheticBsn } from '@app/core';
import { createAppDataSource } from '@app/migrations/data-source';
import { AppConfig, createLogger, PinoNestLogger, PlatformModule, Principal } from '@app/platform';
import { ReferralIntakeService, ReferralMessageDto, ReferralsModule } from '@app/referrals';
import { plainToInstance } from 'class-transformer';

export const DEMO_UZOVIS = ['3311', '7095', '7119', '3332'];
const PER_INSURER = 12;

export function demoMessages(today: Date): ReferralMessageDto[] {
  const out: ReferralMessageDto[] = [];
  DEMO_UZOVIS.forEach((uzovi, u) => {
    for (let i = 0; i < PER_INSURER; i++) {
      const n = u * PER_INSURER + i;
      // At least a day back, so that the consent time below is always in the past.
      const verwijsdatum = amsterdamDate(new Date(today.getTime() - (1 + (n % 21)) * 86_400_000));
      out.push(
        plainToInstance(ReferralMessageDto, {
          // The seed day is part of the id: re-running today changes nothing, tomorrow adds a fresh set.
          messageId: `demo-${amsterdamDate(today)}-${uzovi}-${String(i + 1).padStart(3, '0')}`,
          bsn: syntheticBsn(20_000_000 + n * 7919),
          verwijsdatum,
          klachtenprofiel: DIAGNOSIS_GROUP_CODES[n % DIAGNOSIS_GROUP_CODES.length],
          agb: `9400${String(1000 + (n % 40)).padStart(4, '0')}`,
          uzovi,
          consent: { id: `demo-consent-${uzovi}-${i + 1}`, givenAt: `${verwijsdatum}T09:00:00Z`, scope: 'zorgbemiddeling', channel: 'verwijsportaal' },
        }),
      );
    }
  });
  return out;
}

export async function seedDemo(config: AppConfig): Promise<void> {
  const logger = createLogger('warn');
  @Module({
    imports: [PlatformModule.forRoot({ config, logger, dataSource: (c) => createAppDataSource(c, 'ggz-seed'), runMigrations: true }), ReferralsModule],
  })
  class SeedModule {}
  const app = await NestFactory.createApplicationContext(SeedModule, { logger: new PinoNestLogger(logger) });
  try {
    const intake = app.get(ReferralIntakeService);
    const caller: Principal = { subject: 'demo-seed', role: 'referral-service', uzovis: DEMO_UZOVIS };
    const results = await intake.store(demoMessages(new Date()), caller);
    const count = (o: string) => results.filter((r) => r.outcome === o).length;
    console.log(`demo referrals: ${count('created')} created, ${count('duplicate')} already present, ${count('conflict')} conflicting`);
    const example = results.find((r) => 'referral' in r && r.referral.uzovi === '3311');
    if (example && 'referral' in example) console.log(`example referral for insurer 3311: ${example.referral.id}`);
  } finally {
    await app.close();
  }
}
