/**
 * Test fixtures for the provider registry, written straight to the tables (the registry's own
 * API has its own tests). Waiting times go through the API in the tests that need them.
 */
import type { Client } from 'pg';
import { amsterdamDate } from '@app/core';

export interface FixtureLocation {
  code: string;
  region: string;
  groups: string[];
  postcode?: string;
}

/** Creates a provider with locations and contracts; returns location ids by code. */
export async function addProvider(
  db: Client,
  p: { agb: string; name: string; locations: FixtureLocation[]; contracts?: { uzovi: string; validFrom?: string; validUntil?: string | null }[] },
): Promise<Record<string, string>> {
  await db.query(`INSERT INTO provider (agb, name) VALUES ($1, $2)`, [p.agb, p.name]);
  const ids: Record<string, string> = {};
  for (const l of p.locations) {
    const { rows } = await db.query(
      `INSERT INTO provider_location (agb, code, name, postcode, municipality, region, diagnosis_groups)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [p.agb, l.code, `${p.name} ${l.code}`, l.postcode ?? '3511AB', 'Utrecht', l.region, l.groups],
    );
    ids[l.code] = rows[0].id;
  }
  for (const c of p.contracts ?? [{ uzovi: '3311' }]) {
    await db.query(`INSERT INTO insurer_contract (uzovi, agb, valid_from, valid_until) VALUES ($1, $2, $3, $4)`, [
      c.uzovi,
      p.agb,
      c.validFrom ?? '2025-01-01',
      c.validUntil ?? null,
    ]);
  }
  return ids;
}

/** YYYY-MM of the month n months before the current one (Europe/Amsterdam). */
export function monthsAgo(n: number): string {
  const today = amsterdamDate(new Date());
  const d = new Date(Date.UTC(Number(today.slice(0, 4)), Number(today.slice(5, 7)) - 1 - n, 1));
  return d.toISOString().slice(0, 7);
}
