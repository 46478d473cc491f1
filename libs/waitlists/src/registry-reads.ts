/**
 * What other libs may read of the registry's tables, through their owner (issue 16). Each takes
 * the caller's connection — a TypeORM DataSource or manager, or a pg client inside the caller's
 * transaction (the TTP's linkage reads everything in one REPEATABLE READ snapshot) — and only
 * reads.
 */
type Rows<T> = T[] | { rows: T[] };
export interface RegistryQueryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

async function rows<T>(q: RegistryQueryable, sql: string, params: unknown[] = []): Promise<T[]> {
  const res = (await q.query(sql, params)) as Rows<T>;
  return Array.isArray(res) ? res : res.rows;
}

/** The registry's version: it moves with every change of providers, locations, contracts and figures. */
export async function registryVersion(q: RegistryQueryable): Promise<string> {
  const [row] = await rows<{ v: string }>(q, `SELECT version::text AS v FROM registry_version WHERE id = 1`);
  return row?.v ?? '0';
}

/** `${agb}\t${code}` → the location's waiting-list region, for these providers. */
export async function locationRegions(q: RegistryQueryable, agbs: string[]): Promise<Map<string, string>> {
  if (agbs.length === 0) return new Map();
  const found = await rows<{ agb: string; code: string; region: string }>(q, `SELECT agb, code, region FROM provider_location WHERE agb = ANY($1::bpchar[])`, [agbs]);
  return new Map(found.map((r) => [`${r.agb}\t${r.code}`, r.region]));
}

/** The location codes a provider has. */
export async function locationCodes(q: RegistryQueryable, agb: string): Promise<Set<string>> {
  return new Set((await rows<{ code: string }>(q, `SELECT code FROM provider_location WHERE agb = $1`, [agb])).map((r) => r.code));
}

/** Provider names by AGB, for these providers. */
export async function providerNames(q: RegistryQueryable, agbs: string[]): Promise<Map<string, string>> {
  if (agbs.length === 0) return new Map();
  const found = await rows<{ agb: string; name: string }>(q, `SELECT agb, name FROM provider WHERE agb = ANY($1::bpchar[])`, [agbs]);
  return new Map(found.map((r) => [r.agb, r.name]));
}

export interface DeclaredWait {
  /** The figure's month as its first day, YYYY-MM-DD. */
  month: string;
  /** Weeks, as Postgres numeric text (exact). */
  aanmeldWeeks: string;
  behandelWeeks: string;
}

/** `${agb}\t${code}\t${diagnosisGroup}` → the provider's declared wait in force, for these providers. */
export async function declaredWaits(q: RegistryQueryable, agbs: string[]): Promise<Map<string, DeclaredWait>> {
  if (agbs.length === 0) return new Map();
  const found = await rows<{ agb: string; code: string; dg: string; month: string; aanmeld: string; behandel: string }>(
    q,
    `SELECT l.agb, l.code, w.diagnosis_group AS dg, to_char(w.month, 'YYYY-MM-DD') AS month, w.aanmeld_weeks::text AS aanmeld, w.behandel_weeks::text AS behandel
       FROM provider_location l JOIN wait_time_current w ON w.location_id = l.id WHERE l.agb = ANY($1::bpchar[])`,
    [agbs],
  );
  return new Map(found.map((r) => [`${r.agb}\t${r.code}\t${r.dg}`, { month: r.month, aanmeldWeeks: r.aanmeld, behandelWeeks: r.behandel }]));
}
