/**
 * Turns a registry import (JSON, or CSV) into a plan of rows to upsert, or into row-level errors.
 * Pure: no database, no clock. Checks what can be checked without the database (every field,
 * duplicates, overlapping contract periods within the import); the service checks the rest
 * (contracts of unknown providers, overlaps with stored contracts) inside its transaction.
 *
 * CSV formats (header row required, columns in any order, `,` or `;` as separator, RFC 4180
 * quoting, UTF-8, optional BOM):
 *   locations: agb,providerName,code,name,postcode,municipality,region,diagnosisGroups
 *              one row per location; diagnosisGroups separated by `|` (may be empty)
 *   contracts: uzovi,agb,validFrom,validUntil          (validUntil empty = open-ended)
 * Errors name `rows[n].column`, n counting data rows from 0 (the header is not a row).
 */
import type { FieldErrorDto, FieldRule } from '@app/platform';
import { normaliseGroups, normalisePostcode, REGISTRY_RULES as R, trimText } from './registry.dto';

/** Where a row came from, e.g. `providers[3].locations[0]` or `rows[12]`; errors are named after it. */
type Path = { path: string };
export type PlannedProvider = Path & { agb: string; name: string };
export type PlannedLocation = Path & {
  agb: string;
  code: string;
  name: string;
  postcode: string;
  municipality: string;
  region: string;
  diagnosisGroups: string[];
};
export type PlannedContract = Path & { uzovi: string; agb: string; validFrom: string; validUntil: string | null };

export interface ImportPlan {
  providers: PlannedProvider[];
  locations: PlannedLocation[];
  contracts: PlannedContract[];
}

export type ImportParse = { plan: ImportPlan } | { errors: FieldErrorDto[] };

export const LOCATION_CSV_COLUMNS = ['agb', 'providerName', 'code', 'name', 'postcode', 'municipality', 'region', 'diagnosisGroups'] as const;
export const CONTRACT_CSV_COLUMNS = ['uzovi', 'agb', 'validFrom', 'validUntil'] as const;

/**
 * The fields of each kind of import row: the same rules and normalisations as the DTOs of the
 * single routes (registry.dto.ts), applied directly. class-transformer and class-validator cost
 * ~130 µs a row, which a 5,000-location import would feel; these cost a few.
 */
interface FieldSpec {
  rule: FieldRule;
  normalise?: (v: unknown) => unknown;
}
type Schema = Record<string, FieldSpec>;

const LOCATION: Schema = {
  code: { rule: R.locationCode },
  name: { rule: R.locationName, normalise: trimText },
  postcode: { rule: R.postcode, normalise: normalisePostcode },
  municipality: { rule: R.municipality, normalise: trimText },
  region: { rule: R.region },
  diagnosisGroups: { rule: R.diagnosisGroups, normalise: normaliseGroups },
};
const PROVIDER: Schema = {
  agb: { rule: R.agb },
  name: { rule: R.providerName, normalise: trimText },
  locations: { rule: (v) => (v === undefined || Array.isArray(v) ? null : 'must be an array of locations') },
};
const CONTRACT: Schema = {
  uzovi: { rule: R.uzovi },
  agb: { rule: R.agb },
  validFrom: { rule: R.validFrom },
  validUntil: { rule: R.validUntil },
};
const LOCATION_ROW: Schema = { agb: { rule: R.agb }, providerName: { rule: R.providerName, normalise: trimText }, ...LOCATION };

/** Errors carry an order key (position in the input) so the first ones reported are the first in the file. */
type OrderedError = FieldErrorDto & { order: number };

/** Checks one object against a schema; returns it normalised, or null after adding its errors. */
function check(plain: unknown, schema: Schema, path: string, errors: OrderedError[], order: number): Record<string, any> | null {
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) {
    errors.push({ field: path, reason: 'must be an object', order });
    return null;
  }
  const before = errors.length;
  const src = plain as Record<string, unknown>;
  for (const key of Object.keys(src)) {
    if (!Object.hasOwn(schema, key)) errors.push({ field: `${path}.${key}`, reason: 'is not an allowed field', order });
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) out[key] = spec.normalise ? spec.normalise(src[key]) : src[key];
  for (const [key, spec] of Object.entries(schema)) {
    const reason = spec.rule(out[key], out);
    if (reason) errors.push({ field: `${path}.${key}`, reason, order });
  }
  return errors.length === before ? out : null;
}

function done(plan: ImportPlan, errors: OrderedError[]): ImportParse {
  errors.push(...crossCheck(plan));
  if (errors.length === 0) return { plan };
  // A stable sort keeps errors of one row in field order.
  return { errors: errors.sort((a, b) => a.order - b.order).map(({ field, reason }) => ({ field, reason })) };
}

/**
 * The JSON import: `{ providers?: [...], contracts?: [...] }`, or with `contractsOnly` just
 * `{ contracts: [...] }`. Each item is checked on its own so that errors name its path.
 */
export function planFromJson(body: unknown, contractsOnly = false): ImportParse {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { errors: [{ field: '(body)', reason: 'must be a JSON object' }] };
  const allowed = contractsOnly ? ['contracts'] : ['providers', 'contracts'];
  const errors: OrderedError[] = [];
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!allowed.includes(key)) errors.push({ field: key, reason: 'is not an allowed field', order: -1 });
  for (const key of allowed) {
    if (b[key] !== undefined && !Array.isArray(b[key])) errors.push({ field: key, reason: 'must be an array', order: -1 });
  }
  if (errors.length) return done({ providers: [], locations: [], contracts: [] }, errors);
  const providers = (b.providers as unknown[] | undefined) ?? [];
  const contracts = (b.contracts as unknown[] | undefined) ?? [];
  if (providers.length === 0 && contracts.length === 0) {
    const reason = contractsOnly ? 'must hold at least one contract' : 'must hold at least one provider or contract';
    return { errors: [{ field: contractsOnly ? 'contracts' : '(body)', reason }] };
  }

  const plan: ImportPlan = { providers: [], locations: [], contracts: [] };
  providers.forEach((raw, i) => {
    const path = `providers[${i}]`;
    const p = check(raw, PROVIDER, path, errors, i);
    // The locations of a provider with a bad field are still checked, so that one pass shows all.
    const given = (raw as { locations?: unknown } | null)?.locations;
    const checked = Array.isArray(given) ? given.map((l, k) => check(l, LOCATION, `${path}.locations[${k}]`, errors, i)) : [];
    if (!p || checked.some((l) => l === null)) return;
    plan.providers.push({ path, agb: p.agb, name: p.name });
    checked.forEach((l, k) => plan.locations.push({ ...locationOf(l!, p.agb), path: `${path}.locations[${k}]` }));
  });
  contracts.forEach((raw, i) => {
    const path = `contracts[${i}]`;
    const c = check(raw, CONTRACT, path, errors, orderOf(path));
    if (c) plan.contracts.push({ ...contractOf(c), path });
  });
  return done(plan, errors);
}

/** The locations CSV: one row per location; providers are taken from the rows. */
export function planFromLocationsCsv(text: string): ImportParse {
  const table = readTable(text, LOCATION_CSV_COLUMNS);
  if ('errors' in table) return table;
  const plan: ImportPlan = { providers: [], locations: [], contracts: [] };
  const errors: OrderedError[] = [...table.rowErrors];
  const providerRow = new Map<string, PlannedProvider>();
  table.rows.forEach(({ index, values }) => {
    const path = `rows[${index}]`;
    const row = check({ ...values, diagnosisGroups: splitGroups(values.diagnosisGroups) }, LOCATION_ROW, path, errors, index);
    if (!row) return;
    const first = providerRow.get(row.agb);
    if (!first) {
      const p = { path, agb: row.agb, name: row.providerName };
      providerRow.set(row.agb, p);
      plan.providers.push(p);
    } else if (first.name !== row.providerName) {
      errors.push({ field: `${path}.providerName`, reason: `differs from the providerName of this agb in ${first.path}`, order: index });
      return;
    }
    plan.locations.push({ ...locationOf(row, row.agb), path });
  });
  return done(plan, errors);
}

/** The contracts CSV: uzovi, agb, validFrom, validUntil (empty = open-ended). */
export function planFromContractsCsv(text: string): ImportParse {
  const table = readTable(text, CONTRACT_CSV_COLUMNS);
  if ('errors' in table) return table;
  const plan: ImportPlan = { providers: [], locations: [], contracts: [] };
  const errors: OrderedError[] = [...table.rowErrors];
  table.rows.forEach(({ index, values }) => {
    const path = `rows[${index}]`;
    const c = check({ ...values, validUntil: values.validUntil === '' ? null : values.validUntil }, CONTRACT, path, errors, index);
    if (c) plan.contracts.push({ ...contractOf(c), path });
  });
  return done(plan, errors);
}

function locationOf(l: Record<string, any>, agb: string): Omit<PlannedLocation, 'path'> {
  return {
    agb,
    code: l.code,
    name: l.name,
    postcode: l.postcode,
    municipality: l.municipality,
    region: l.region,
    diagnosisGroups: l.diagnosisGroups,
  };
}

function contractOf(c: Record<string, any>): Omit<PlannedContract, 'path'> {
  return { uzovi: c.uzovi, agb: c.agb, validFrom: c.validFrom, validUntil: c.validUntil ?? null };
}

function splitGroups(cell: string | undefined): string[] | undefined {
  if (cell === undefined) return undefined;
  return cell
    .split('|')
    .map((g) => g.trim())
    .filter((g) => g !== '');
}

/** Position of a path in the input, for ordering: `rows[12]…` → 12, `providers[3]…` → 3, contracts after providers. */
function orderOf(path: string): number {
  const m = /^([a-z]+)\[(\d+)\]/.exec(path);
  if (!m) return -1;
  return (m[1] === 'contracts' ? 1e9 : 0) + Number(m[2]);
}

/**
 * What a single row cannot show: the same provider or location twice, and contracts of one
 * insurer with one provider whose periods overlap ([validFrom, validUntil), null = open).
 */
export function crossCheck(plan: ImportPlan): OrderedError[] {
  const errors: OrderedError[] = [];

  const agbs = new Map<string, string>();
  const repeated = new Set<string>();
  for (const p of plan.providers) {
    const seen = agbs.get(p.agb);
    if (seen !== undefined) {
      errors.push({ field: `${p.path}.agb`, reason: `appears more than once in this import (first in ${seen})`, order: orderOf(p.path) });
      repeated.add(p.path);
    } else agbs.set(p.agb, p.path);
  }

  const locations = new Map<string, string>();
  for (const l of plan.locations) {
    // A repeated provider is one error, not one more for each of its locations.
    if (repeated.has(l.path.slice(0, l.path.indexOf('.locations')))) continue;
    const key = `${l.agb}\u0000${l.code}`;
    const seen = locations.get(key);
    if (seen !== undefined) {
      errors.push({ field: `${l.path}.code`, reason: `appears more than once for this provider (first in ${seen})`, order: orderOf(l.path) });
    } else locations.set(key, l.path);
  }

  const byPair = new Map<string, PlannedContract[]>();
  for (const c of plan.contracts) {
    const key = `${c.uzovi}\u0000${c.agb}`;
    const list = byPair.get(key);
    if (list) list.push(c);
    else byPair.set(key, [c]);
  }
  for (const list of byPair.values()) {
    const sorted = [...list].sort((a, b) => (a.validFrom < b.validFrom ? -1 : a.validFrom > b.validFrom ? 1 : orderOf(a.path) - orderOf(b.path)));
    // The contract reaching furthest so far: any later start before its end overlaps it.
    let reach: PlannedContract | undefined;
    for (const c of sorted) {
      if (reach && (reach.validUntil === null || reach.validUntil > c.validFrom)) {
        errors.push({
          field: `${c.path}.validFrom`,
          reason: `period overlaps the contract in ${reach.path} (same uzovi and agb)`,
          order: orderOf(c.path),
        });
      }
      if (!reach || (reach.validUntil !== null && (c.validUntil === null || c.validUntil > reach.validUntil))) reach = c;
    }
  }
  return errors;
}

// ---- CSV -------------------------------------------------------------------------------------

/** RFC 4180 records: quoted fields may hold separators, quotes ("") and line breaks. */
export function parseCsv(text: string, separator: string): { records: string[][]; unterminated: boolean } {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') quoted = true;
    else if (ch === separator) {
      record.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      if (ch === '\r' && text[i + 1] === '\n') i++;
    } else field += ch;
    i++;
  }
  if (field !== '' || record.length > 0 || quoted) {
    record.push(field);
    records.push(record);
  }
  return { records, unterminated: quoted };
}

interface Table {
  rows: { index: number; values: Record<string, string> }[];
  rowErrors: OrderedError[];
}

/** Reads the header and maps each data row to {column: value}; blank lines are skipped. */
function readTable(text: string, columns: readonly string[]): Table | { errors: FieldErrorDto[] } {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const firstLine = body.slice(0, body.search(/\r|\n|$/));
  // Spreadsheets set to Dutch locale export with semicolons.
  const separator = firstLine.includes(';') && !firstLine.includes(',') ? ';' : ',';
  const { records, unterminated } = parseCsv(body, separator);
  const nonBlank = records.map((r, line) => ({ r, line })).filter(({ r }) => !(r.length === 1 && r[0].trim() === ''));
  if (nonBlank.length === 0) return { errors: [{ field: 'header', reason: `is missing: the first line must name the columns ${columns.join(',')}` }] };

  const header = nonBlank[0].r.map((h) => h.trim());
  const headerErrors: FieldErrorDto[] = [];
  header.forEach((h, i) => {
    if (!columns.includes(h)) headerErrors.push({ field: `header[${i}]`, reason: `is not a column of this format; the columns are ${columns.join(',')}` });
    else if (header.indexOf(h) !== i) headerErrors.push({ field: `header[${i}]`, reason: 'names a column that appears earlier too' });
  });
  const missing = columns.filter((c) => !header.includes(c));
  if (missing.length) headerErrors.push({ field: 'header', reason: `misses the columns ${missing.join(',')}` });
  if (headerErrors.length) return { errors: headerErrors };

  const data = nonBlank.slice(1);
  if (data.length === 0) return { errors: [{ field: 'rows', reason: 'must hold at least one row after the header' }] };
  const rowErrors: OrderedError[] = [];
  const rows: Table['rows'] = [];
  data.forEach(({ r }, index) => {
    if (unterminated && index === data.length - 1) {
      rowErrors.push({ field: `rows[${index}]`, reason: 'has a quoted field that is never closed', order: index });
    } else if (r.length !== header.length) {
      rowErrors.push({ field: `rows[${index}]`, reason: `has ${r.length} fields; the header has ${header.length}`, order: index });
    } else {
      const values: Record<string, string> = {};
      // Spreadsheets like to pad cells; names are trimmed again by their rule anyway.
      header.forEach((h, k) => (values[h] = r[k].trim()));
      rows.push({ index, values });
    }
  });
  return { rows, rowErrors };
}
