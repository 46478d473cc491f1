/**
 * The provider registry: providers (AGB), their locations and insurer contracts, read and
 * written with plain SQL. Imports are all-or-nothing: one transaction, a few multi-row
 * statements (unnest), never a query per row. Database refusals that a client can cause are
 * turned into 4xx answers here, where it is known which field they are about.
 */
import { BadRequestException, ConflictException, HttpException, Injectable, NotFoundException } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { FieldErrorDto } from '@app/platform';
import type { ImportPlan, PlannedContract } from './registry-import';
import {
  ContractCreateDto,
  ContractViewDto,
  decodeCursor,
  encodeCursor,
  ImportCountDto,
  ImportResultDto,
  LIST_LIMIT_DEFAULT,
  LocationUpsertDto,
  LocationViewDto,
  ProviderDetailDto,
  ProviderPageDto,
  ProviderViewDto,
} from './registry.dto';

/** At most this many row errors are returned; the message tells how many there were. */
export const MAX_REPORTED_ERRORS = 100;

export interface ProviderFilter {
  region?: string;
  diagnosisGroup?: string;
  uzovi?: string;
  /** Day a contract with uzovi must cover (YYYY-MM-DD); the caller passes today by default. */
  contractedOn: string;
  limit?: number;
  cursor?: string;
}

const OVERLAP_REASON = 'period overlaps another contract of this insurer with this provider (periods are [validFrom, validUntil))';

/** Postgres error as node-pg reports it. */
interface PgError {
  code?: string;
  constraint?: string;
}

/** The registry's refusal of an import: 400 for bad rows, 409 for clashes with stored data. */
export function importRefused(status: 400 | 409, errors: FieldErrorDto[]): HttpException {
  const listed = errors.slice(0, MAX_REPORTED_ERRORS);
  const count = errors.length === 1 ? '1 error' : `${errors.length} errors`;
  const more = errors.length > listed.length ? ` (the first ${listed.length} are listed)` : '';
  const body = { message: `The import was refused, nothing was stored: ${count}${more}`, details: listed };
  return status === 400 ? new BadRequestException(body) : new ConflictException(body);
}

// A location as JSON, built in SQL so that one query returns providers with their locations.
const LOCATION_JSON = `json_build_object('id', l.id, 'code', l.code, 'name', l.name, 'postcode', l.postcode,
  'municipality', l.municipality, 'region', l.region, 'diagnosisGroups', l.diagnosis_groups)`;
const LOCATIONS_OF_P = `COALESCE((SELECT json_agg(${LOCATION_JSON} ORDER BY l.code) FROM provider_location l WHERE l.agb = p.agb), '[]'::json)`;
const CONTRACT_COLUMNS = `id, uzovi, agb, to_char(valid_from, 'YYYY-MM-DD') AS "validFrom", to_char(valid_until, 'YYYY-MM-DD') AS "validUntil"`;

interface ProviderRow {
  agb: string;
  name: string;
  created_at: Date;
  updated_at: Date;
  locations: LocationViewDto[];
}

@Injectable()
export class ProviderRegistryService {
  constructor(private readonly db: DataSource) {}

  /** Creates or renames a provider. */
  /**
   * A counter that moves with every change to providers, locations and contracts (statement
   * triggers, migration 1764800000000): what the evaluation's catch-up compares.
   */
  async structureVersion(db: { query: DataSource['query'] } = this.db): Promise<string> {
    const [row] = await db.query(`SELECT structure_version::text AS v FROM registry_version WHERE id = 1`);
    return row.v;
  }

  async upsertProvider(agb: string, name: string): Promise<{ created: boolean; provider: ProviderViewDto }> {
    // xmax = 0 only on a freshly inserted row version: the one-statement way to tell insert from update.
    const [row]: Array<ProviderRow & { created: boolean }> = await this.db
      .query(
        `INSERT INTO provider AS p (agb, name) VALUES ($1, $2)
         ON CONFLICT (agb) DO UPDATE SET name = excluded.name,
           updated_at = CASE WHEN p.name IS DISTINCT FROM excluded.name THEN now() ELSE p.updated_at END
         RETURNING p.agb, p.name, p.created_at, p.updated_at, ${LOCATIONS_OF_P} AS locations, (p.xmax = 0) AS created`,
        [agb, name],
      )
      .catch((e) => Promise.reject(clientError(e)));
    return { created: row.created, provider: providerView(row) };
  }

  async getProvider(agb: string): Promise<ProviderDetailDto> {
    const rows: ProviderRow[] = await this.db.query(`SELECT p.agb, p.name, p.created_at, p.updated_at, ${LOCATIONS_OF_P} AS locations FROM provider p WHERE p.agb = $1`, [agb]);
    if (rows.length === 0) throw notFound();
    const contracts: ContractViewDto[] = await this.db.query(`SELECT ${CONTRACT_COLUMNS} FROM insurer_contract WHERE agb = $1 ORDER BY uzovi, valid_from`, [agb]);
    return { ...providerView(rows[0]), contracts };
  }

  /** A page of providers in AGB order, keyset-paginated (stable while rows are added). */
  async listProviders(f: ProviderFilter): Promise<ProviderPageDto> {
    const limit = f.limit ?? LIST_LIMIT_DEFAULT;
    const after = f.cursor === undefined ? null : decodeCursor(f.cursor);
    // Region and diagnosis group must hold for the same location: that is what matching needs.
    const rows: ProviderRow[] = await this.db.query(
      `SELECT p.agb, p.name, p.created_at, p.updated_at, ${LOCATIONS_OF_P} AS locations
         FROM provider p
        WHERE ($1::char(8) IS NULL OR p.agb > $1::char(8))
          AND (($2::text IS NULL AND $3::text IS NULL) OR EXISTS (
                SELECT 1 FROM provider_location l
                 WHERE l.agb = p.agb
                   AND ($2::text IS NULL OR l.region = $2::text)
                   AND ($3::text IS NULL OR l.diagnosis_groups @> ARRAY[$3::varchar])))
          AND ($4::text IS NULL OR EXISTS (
                SELECT 1 FROM insurer_contract c
                 WHERE c.agb = p.agb AND c.uzovi = $4::char(4)
                   AND daterange(c.valid_from, c.valid_until) @> $5::date))
        ORDER BY p.agb
        LIMIT $6`,
      [after, f.region ?? null, f.diagnosisGroup ?? null, f.uzovi ?? null, f.contractedOn, limit + 1],
    );
    const more = rows.length > limit;
    const items = rows.slice(0, limit).map(providerView);
    return { items, nextCursor: more ? encodeCursor(items[items.length - 1].agb) : null };
  }

  /** Creates or updates one location of an existing provider. */
  async upsertLocation(agb: string, code: string, dto: LocationUpsertDto): Promise<{ created: boolean; location: LocationViewDto }> {
    try {
      const [row]: Array<LocationViewDto & { created: boolean }> = await this.db.query(
        `INSERT INTO provider_location AS l (agb, code, name, postcode, municipality, region, diagnosis_groups)
         VALUES ($1, $2, $3, $4, $5, $6, $7::varchar[])
         ON CONFLICT ON CONSTRAINT uq_provider_location_agb_code DO UPDATE
           SET name = excluded.name, postcode = excluded.postcode, municipality = excluded.municipality,
               region = excluded.region, diagnosis_groups = excluded.diagnosis_groups
         RETURNING l.id, l.code, l.name, l.postcode, l.municipality, l.region, l.diagnosis_groups AS "diagnosisGroups", (l.xmax = 0) AS created`,
        [agb, code, dto.name, dto.postcode, dto.municipality, dto.region, dto.diagnosisGroups],
      );
      const { created, ...location } = row;
      return { created, location };
    } catch (e) {
      if ((e as PgError).constraint === 'fk_provider_location_provider') throw notFound();
      throw clientError(e);
    }
  }

  async createContract(agb: string, dto: ContractCreateDto): Promise<ContractViewDto> {
    try {
      const [row]: ContractViewDto[] = await this.db.query(
        `INSERT INTO insurer_contract (uzovi, agb, valid_from, valid_until) VALUES ($1, $2, $3, $4) RETURNING ${CONTRACT_COLUMNS}`,
        [dto.uzovi, agb, dto.validFrom, dto.validUntil ?? null],
      );
      return row;
    } catch (e) {
      if ((e as PgError).constraint === 'fk_insurer_contract_provider') throw notFound();
      if ((e as PgError).code === '23P01') {
        throw new ConflictException({
          message: 'The contract period overlaps a stored contract of this insurer with this provider',
          details: [{ field: 'validFrom', reason: OVERLAP_REASON }],
        });
      }
      throw clientError(e);
    }
  }

  async deleteContract(agb: string, id: string): Promise<void> {
    // Wrapped in a SELECT: TypeORM answers a bare DELETE with [rows, count] instead of the rows.
    const rows: unknown[] = await this.db.query(`WITH d AS (DELETE FROM insurer_contract WHERE id = $1 AND agb = $2 RETURNING id) SELECT id FROM d`, [id, agb]);
    if (rows.length === 0) throw new NotFoundException('No contract with this id for this provider');
  }

  /**
   * Upserts a validated import in one transaction: providers by AGB, locations by (agb, code),
   * contracts by (uzovi, agb, validFrom), whose validUntil is updated. Nothing is deleted.
   * Throws 400/409 with row-level details (and rolls back everything) when a contract names an
   * unknown provider or overlaps a stored contract.
   */
  async importRegistry(plan: ImportPlan): Promise<ImportResultDto> {
    try {
      return await this.db.transaction(async (m) => {
        // One import at a time: the overlap check below stays true until this one commits.
        await m.query(`SELECT pg_advisory_xact_lock(hashtext('ggz:provider-registry-import'))`);
        const providers = await this.upsertProviders(m, plan);
        const locations = await this.upsertLocations(m, plan);
        const contracts = await this.upsertContracts(m, plan.contracts);
        return { providers, locations, contracts };
      });
    } catch (e) {
      if (e instanceof HttpException) throw e;
      // A contract stored concurrently by the single-contract route can still collide.
      if ((e as PgError).code === '23P01') throw importRefused(409, [{ field: 'contracts', reason: OVERLAP_REASON }]);
      throw clientError(e);
    }
  }

  private async upsertProviders(m: EntityManager, plan: ImportPlan): Promise<ImportCountDto> {
    const p = plan.providers;
    if (p.length === 0) return count(0, []);
    // The WHERE skips identical rows, so a re-import reports them unchanged and leaves updated_at alone.
    const rows: Array<{ created: boolean }> = await m.query(
      `INSERT INTO provider AS p (agb, name)
       SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (agb) DO UPDATE SET name = excluded.name, updated_at = now()
         WHERE p.name IS DISTINCT FROM excluded.name
       RETURNING (p.xmax = 0) AS created`,
      [p.map((x) => x.agb), p.map((x) => x.name)],
    );
    return count(p.length, rows);
  }

  private async upsertLocations(m: EntityManager, plan: ImportPlan): Promise<ImportCountDto> {
    const l = plan.locations;
    if (l.length === 0) return count(0, []);
    // Diagnosis groups travel as one comma-joined text per row (codes hold no commas): unnest
    // cannot take an array of arrays of different lengths.
    const rows: Array<{ created: boolean }> = await m.query(
      `INSERT INTO provider_location AS l (agb, code, name, postcode, municipality, region, diagnosis_groups)
       SELECT u.agb, u.code, u.name, u.postcode, u.municipality, u.region, string_to_array(u.groups, ',')::varchar[]
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
              AS u(agb, code, name, postcode, municipality, region, groups)
       ON CONFLICT ON CONSTRAINT uq_provider_location_agb_code DO UPDATE
         SET name = excluded.name, postcode = excluded.postcode, municipality = excluded.municipality,
             region = excluded.region, diagnosis_groups = excluded.diagnosis_groups
         WHERE (l.name, l.postcode, l.municipality, l.region, l.diagnosis_groups)
               IS DISTINCT FROM (excluded.name, excluded.postcode, excluded.municipality, excluded.region, excluded.diagnosis_groups)
       RETURNING (l.xmax = 0) AS created`,
      [
        l.map((x) => x.agb),
        l.map((x) => x.code),
        l.map((x) => x.name),
        l.map((x) => x.postcode),
        l.map((x) => x.municipality),
        l.map((x) => x.region),
        l.map((x) => x.diagnosisGroups.join(',')),
      ],
    );
    return count(l.length, rows);
  }

  private async upsertContracts(m: EntityManager, c: PlannedContract[]): Promise<ImportCountDto> {
    if (c.length === 0) return count(0, []);
    const params = [c.map((_, i) => i), c.map((x) => x.uzovi), c.map((x) => x.agb), c.map((x) => x.validFrom), c.map((x) => x.validUntil)];
    const imported = (alias: string) => `unnest($1::int[], $2::text[], $3::text[], $4::date[], $5::date[]) AS ${alias}(ix, uzovi, agb, vf, vu)`;
    const IMPORTED = imported('i');

    const unknown: Array<{ ix: number }> = await m.query(`SELECT i.ix FROM ${IMPORTED} WHERE NOT EXISTS (SELECT 1 FROM provider p WHERE p.agb = i.agb) ORDER BY i.ix`, params);
    if (unknown.length) {
      throw importRefused(
        400,
        unknown.map(({ ix }) => ({ field: `${c[ix].path}.agb`, reason: 'is not a registered provider, nor one in this import' })),
      );
    }

    // After the import, the stored contracts it does not replace must not overlap it. (Overlaps
    // within the import were refused before we got here.)
    const overlapping: Array<{ ix: number }> = await m.query(
      `SELECT DISTINCT i.ix FROM ${IMPORTED}
         JOIN insurer_contract s ON s.uzovi = i.uzovi AND s.agb = i.agb
                                AND daterange(s.valid_from, s.valid_until) && daterange(i.vf, i.vu)
        WHERE NOT EXISTS (SELECT 1 FROM ${imported('j')}
                           WHERE j.uzovi = s.uzovi AND j.agb = s.agb AND j.vf = s.valid_from)
        ORDER BY i.ix`,
      params,
    );
    if (overlapping.length) {
      throw importRefused(
        409,
        overlapping.map(({ ix }) => ({ field: `${c[ix].path}.validFrom`, reason: `${OVERLAP_REASON}, and that contract is not in this import` })),
      );
    }

    // Wrapped in a SELECT, like the DELETE above, to get the rows back.
    const updated: unknown[] = await m.query(
      `WITH u AS (
         UPDATE insurer_contract s SET valid_until = i.vu FROM ${IMPORTED}
          WHERE s.uzovi = i.uzovi AND s.agb = i.agb AND s.valid_from = i.vf AND s.valid_until IS DISTINCT FROM i.vu
         RETURNING s.id)
       SELECT id FROM u`,
      params,
    );
    const created: unknown[] = await m.query(
      `INSERT INTO insurer_contract (uzovi, agb, valid_from, valid_until)
       SELECT i.uzovi, i.agb, i.vf, i.vu FROM ${IMPORTED}
        WHERE NOT EXISTS (SELECT 1 FROM insurer_contract s WHERE s.uzovi = i.uzovi AND s.agb = i.agb AND s.valid_from = i.vf)
       RETURNING id`,
      params,
    );
    return { created: created.length, updated: updated.length, unchanged: c.length - created.length - updated.length };
  }
}

function count(total: number, returned: Array<{ created: boolean }>): ImportCountDto {
  const created = returned.filter((r) => r.created).length;
  const updated = returned.length - created;
  return { created, updated, unchanged: total - returned.length };
}

function providerView(r: ProviderRow): ProviderViewDto {
  return {
    agb: r.agb,
    name: r.name,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
    locations: r.locations,
  };
}

function notFound(): NotFoundException {
  return new NotFoundException('No provider with this AGB code');
}

/**
 * Validation should have refused anything the database would; should a refusal still get
 * through (a constraint added later, a race), it is the client's data, so it is a 4xx, not a 500.
 */
function clientError(e: unknown): unknown {
  const code = (e as PgError).code ?? '';
  if (code === '23P01' || code === '23505') return new ConflictException('The change conflicts with stored data');
  if (code.startsWith('23') || code.startsWith('22')) return new BadRequestException('The database refused a value of this request');
  return e;
}
