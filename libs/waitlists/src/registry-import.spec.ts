import { validatePlain } from '@app/platform';
import { ImportParse, parseCsv, planFromContractsCsv, planFromJson, planFromLocationsCsv } from './registry-import';
import { ImportContractDto, ImportLocationDto } from './registry.dto';

const LOC_HEADER = 'agb,providerName,code,name,postcode,municipality,region,diagnosisGroups';

function location(overrides: Record<string, unknown> = {}) {
  return { code: 'centrum', name: 'Vestiging Centrum', postcode: '1011AB', municipality: 'Amsterdam', region: 'amsterdam', diagnosisGroups: ['depressie'], ...overrides };
}
function provider(overrides: Record<string, unknown> = {}) {
  return { agb: '94012345', name: 'GGZ Voorbeeld', locations: [location()], ...overrides };
}
function contract(overrides: Record<string, unknown> = {}) {
  return { uzovi: '3311', agb: '94012345', validFrom: '2026-01-01', validUntil: null, ...overrides };
}
function errorsOf(r: ImportParse) {
  if (!('errors' in r)) throw new Error('expected errors, got a plan');
  return r.errors;
}
function planOf(r: ImportParse) {
  if ('errors' in r) throw new Error(`expected a plan, got ${JSON.stringify(r.errors)}`);
  return r.plan;
}

describe('planFromJson', () => {
  it('plans providers, their locations and contracts, with paths', () => {
    const plan = planOf(planFromJson({ providers: [provider()], contracts: [contract(), contract({ uzovi: '7095', validUntil: '2027-01-01' })] }));
    expect(plan.providers).toEqual([{ path: 'providers[0]', agb: '94012345', name: 'GGZ Voorbeeld' }]);
    expect(plan.locations).toEqual([{ path: 'providers[0].locations[0]', agb: '94012345', ...location() }]);
    expect(plan.contracts.map((c) => [c.path, c.uzovi, c.validUntil])).toEqual([
      ['contracts[0]', '3311', null],
      ['contracts[1]', '7095', '2027-01-01'],
    ]);
  });

  it('normalises postcodes, trims names, and keeps diagnosis groups as a sorted set', () => {
    const plan = planOf(
      planFromJson({ providers: [provider({ name: '  GGZ Voorbeeld ', locations: [location({ postcode: ' 1011 ab', diagnosisGroups: ['trauma', 'angst', 'trauma'] })] })] }),
    );
    expect(plan.providers[0].name).toBe('GGZ Voorbeeld');
    expect(plan.locations[0]).toMatchObject({ postcode: '1011AB', diagnosisGroups: ['angst', 'trauma'] });
  });

  it('names each bad field by its path, and the rule rather than the value', () => {
    const errors = errorsOf(
      planFromJson({
        providers: [provider(), provider({ agb: '1234', locations: [location(), location({ code: 'b', region: 'atlantis', postcode: '0123AB' })] })],
        contracts: [contract({ uzovi: 'abcd' }), contract({ validFrom: '2026-02-30' })],
      }),
    );
    expect(errors).toEqual([
      { field: 'providers[1].agb', reason: 'must be exactly 8 digits' },
      { field: 'providers[1].locations[1].postcode', reason: expect.stringMatching(/^must be a Dutch postcode/) },
      { field: 'providers[1].locations[1].region', reason: expect.stringMatching(/^must be a waiting-list region code/) },
      { field: 'contracts[0].uzovi', reason: 'must be exactly 4 digits' },
      { field: 'contracts[1].validFrom', reason: 'must be a real calendar date in the form YYYY-MM-DD' },
    ]);
    expect(JSON.stringify(errors)).not.toContain('atlantis');
  });

  it('refuses unknown fields, wrong shapes and an empty import', () => {
    expect(errorsOf(planFromJson([]))).toEqual([{ field: '(body)', reason: 'must be a JSON object' }]);
    expect(errorsOf(planFromJson({}))).toEqual([{ field: '(body)', reason: 'must hold at least one provider or contract' }]);
    expect(errorsOf(planFromJson({ providers: {}, extra: 1 }))).toEqual([
      { field: 'extra', reason: 'is not an allowed field' },
      { field: 'providers', reason: 'must be an array' },
    ]);
    expect(errorsOf(planFromJson({ providers: [provider({ colour: 'blue' })] }))).toEqual([{ field: 'providers[0].colour', reason: 'is not an allowed field' }]);
    expect(errorsOf(planFromJson({ providers: [7] }))).toEqual([{ field: 'providers[0]', reason: 'must be an object' }]);
    expect(errorsOf(planFromJson({ providers: [provider({ locations: 'x' })] }))[0]).toMatchObject({ field: 'providers[0].locations' });
    expect(errorsOf(planFromJson({ providers: [provider({ locations: [location({ diagnosisGroups: ['depressie', 'sadness'] })] })] }))).toEqual([
      { field: 'providers[0].locations[0].diagnosisGroups', reason: expect.stringMatching(/^item 1 is not a diagnosis-group code/) },
    ]);
    expect(errorsOf(planFromJson({ providers: [provider({ name: 'a\u0000b' })] }))).toEqual([{ field: 'providers[0].name', reason: 'must not contain control characters' }]);
  });

  it('accepts only contracts on the contracts route', () => {
    expect(planOf(planFromJson({ contracts: [contract()] }, true)).contracts).toHaveLength(1);
    expect(errorsOf(planFromJson({ providers: [provider()] }, true))).toEqual([{ field: 'providers', reason: 'is not an allowed field' }]);
    expect(errorsOf(planFromJson({ contracts: [] }, true))).toEqual([{ field: 'contracts', reason: 'must hold at least one contract' }]);
  });

  it('refuses the same provider twice and the same location code twice', () => {
    const errors = errorsOf(planFromJson({ providers: [provider({ locations: [location(), location({ name: 'Other' })] }), provider()] }));
    expect(errors).toEqual([
      { field: 'providers[0].locations[1].code', reason: 'appears more than once for this provider (first in providers[0].locations[0])' },
      { field: 'providers[1].agb', reason: 'appears more than once in this import (first in providers[0])' },
    ]);
  });

  it('refuses contracts of one insurer with one provider whose periods overlap; end dates are exclusive', () => {
    const ok = planFromJson({
      contracts: [
        contract({ validFrom: '2025-01-01', validUntil: '2026-01-01' }),
        contract({ validFrom: '2026-01-01', validUntil: null }),
        contract({ uzovi: '7095', validFrom: '2025-06-01' }),
      ],
    });
    expect(planOf(ok).contracts).toHaveLength(3);

    const errors = errorsOf(
      planFromJson({
        contracts: [
          contract({ validFrom: '2020-01-01', validUntil: null }),
          contract({ validFrom: '2021-01-01', validUntil: '2022-01-01' }),
          contract({ validFrom: '2023-01-01', validUntil: '2024-01-01' }),
        ],
      }),
    );
    expect(errors).toEqual([
      { field: 'contracts[1].validFrom', reason: 'period overlaps the contract in contracts[0] (same uzovi and agb)' },
      { field: 'contracts[2].validFrom', reason: 'period overlaps the contract in contracts[0] (same uzovi and agb)' },
    ]);
    expect(errorsOf(planFromJson({ contracts: [contract({ validFrom: '2026-01-01', validUntil: '2026-01-01' })] }))).toEqual([
      { field: 'contracts[0].validUntil', reason: 'must be after validFrom (the end date is exclusive)' },
    ]);
  });
});

describe('parseCsv', () => {
  it('reads quoted fields with separators, quotes and line breaks, and CRLF', () => {
    expect(parseCsv('a,"b,1","c ""q"""\r\n"multi\nline",,x\n', ',')).toEqual({
      records: [
        ['a', 'b,1', 'c "q"'],
        ['multi\nline', '', 'x'],
      ],
      unterminated: false,
    });
    expect(parseCsv('a,"open', ',').unterminated).toBe(true);
  });
});

describe('planFromLocationsCsv', () => {
  const row = (cells: Partial<Record<string, string>> = {}) => {
    const v = {
      agb: '94012345',
      providerName: 'GGZ Voorbeeld',
      code: 'centrum',
      name: 'Centrum',
      postcode: '1011 ab',
      municipality: 'Amsterdam',
      region: 'amsterdam',
      diagnosisGroups: 'depressie|angst',
      ...cells,
    };
    return [v.agb, v.providerName, v.code, v.name, v.postcode, v.municipality, v.region, v.diagnosisGroups].join(',');
  };

  it('plans one provider per AGB and one location per row', () => {
    const csv = `\ufeff${LOC_HEADER}\n${row()}\n${row({ code: 'west', diagnosisGroups: '' })}\n${row({ agb: '94012346', providerName: '"Zorg, en meer"' })}\n\n`;
    const plan = planOf(planFromLocationsCsv(csv));
    expect(plan.providers).toEqual([
      { path: 'rows[0]', agb: '94012345', name: 'GGZ Voorbeeld' },
      { path: 'rows[2]', agb: '94012346', name: 'Zorg, en meer' },
    ]);
    expect(plan.locations.map((l) => [l.path, l.code, l.postcode, l.diagnosisGroups])).toEqual([
      ['rows[0]', 'centrum', '1011AB', ['angst', 'depressie']],
      ['rows[1]', 'west', '1011AB', []],
      ['rows[2]', 'centrum', '1011AB', ['angst', 'depressie']],
    ]);
  });

  it('accepts columns in another order and semicolons as separator', () => {
    const csv = 'region;agb;code;name;providerName;postcode;municipality;diagnosisGroups\nutrecht;94012345;c;C;P;3511AA;Utrecht;trauma\n';
    expect(planOf(planFromLocationsCsv(csv)).locations[0]).toMatchObject({ region: 'utrecht', postcode: '3511AA', diagnosisGroups: ['trauma'] });
  });

  it('names bad cells as rows[n].column, in file order', () => {
    const csv = [
      LOC_HEADER,
      row(),
      row({ code: 'b', postcode: '12345' }),
      row({ code: 'c', region: 'nowhere', diagnosisGroups: 'depressie|x' }),
      row({ providerName: 'Other name', code: 'd' }),
      row(),
      'too,few',
    ].join('\n');
    expect(errorsOf(planFromLocationsCsv(csv))).toEqual([
      { field: 'rows[1].postcode', reason: expect.stringMatching(/^must be a Dutch postcode/) },
      { field: 'rows[2].region', reason: expect.stringMatching(/^must be a waiting-list region code/) },
      { field: 'rows[2].diagnosisGroups', reason: expect.stringMatching(/^item 1 is not a diagnosis-group code/) },
      { field: 'rows[3].providerName', reason: 'differs from the providerName of this agb in rows[0]' },
      { field: 'rows[4].code', reason: 'appears more than once for this provider (first in rows[0])' },
      { field: 'rows[5]', reason: 'has 2 fields; the header has 8' },
    ]);
  });

  it('refuses a wrong header and a file without rows', () => {
    expect(errorsOf(planFromLocationsCsv(''))).toEqual([{ field: 'header', reason: expect.stringMatching(/^is missing/) }]);
    expect(errorsOf(planFromLocationsCsv(`${LOC_HEADER}\n`))).toEqual([{ field: 'rows', reason: 'must hold at least one row after the header' }]);
    expect(errorsOf(planFromLocationsCsv('agb,providerName,code,name,postcode,municipality,regio,diagnosisGroups\n'))).toEqual([
      { field: 'header[6]', reason: expect.stringMatching(/^is not a column of this format/) },
      { field: 'header', reason: 'misses the columns region' },
    ]);
    expect(errorsOf(planFromLocationsCsv(`${LOC_HEADER}\n${row({ name: '"never closed' })}`))).toEqual([{ field: 'rows[0]', reason: 'has a quoted field that is never closed' }]);
  });

  it('parses 5,000 rows quickly', () => {
    const lines = [LOC_HEADER];
    for (let i = 0; i < 5000; i++) lines.push(row({ agb: String(90000000 + Math.floor(i / 5)), providerName: `P${Math.floor(i / 5)}`, code: `loc-${i % 5}` }));
    const started = Date.now();
    const plan = planOf(planFromLocationsCsv(lines.join('\n')));
    expect(plan.providers).toHaveLength(1000);
    expect(plan.locations).toHaveLength(5000);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('planFromContractsCsv', () => {
  it('plans contracts; an empty validUntil is open-ended', () => {
    const plan = planOf(planFromContractsCsv('uzovi,agb,validFrom,validUntil\n3311,94012345,2026-01-01,\n7095,94012345,2026-01-01,2027-01-01\n'));
    expect(plan.contracts.map((c) => [c.path, c.uzovi, c.validUntil])).toEqual([
      ['rows[0]', '3311', null],
      ['rows[1]', '7095', '2027-01-01'],
    ]);
  });

  it('names bad cells and overlaps by row', () => {
    const csv = 'uzovi,agb,validFrom,validUntil\n3311,94012345,2026-01-01,\n3311,94012345,2026-06-01,2026-07-01\n3311,9401234,2026-01-01,\n';
    expect(errorsOf(planFromContractsCsv(csv))).toEqual([
      { field: 'rows[1].validFrom', reason: 'period overlaps the contract in rows[0] (same uzovi and agb)' },
      { field: 'rows[2].agb', reason: 'must be exactly 8 digits' },
    ]);
  });
});

describe('agrees with the DTOs of the single routes (same rules, applied without class-validator)', () => {
  const byField = (errors: { field: string; reason: string }[]) => [...errors].sort((a, b) => a.field.localeCompare(b.field));

  it.each<Record<string, unknown>>([
    {},
    { postcode: ' 1234 ab ', name: ' Centrum ', diagnosisGroups: ['trauma', 'angst', 'angst'] },
    { postcode: '0123AB' },
    { postcode: '1234 A B' },
    { region: 'atlantis', code: 'a b' },
    { name: '  ', municipality: 5 },
    { name: 'x'.repeat(201) },
    { diagnosisGroups: 'angst' },
    { diagnosisGroups: ['angst', 7] },
    { municipality: undefined, colour: 'blue' },
    { code: null, region: null },
  ])('location %j', (variant) => {
    const plain = { ...location(), ...variant };
    const viaDto = validatePlain(ImportLocationDto, plain);
    const viaImport = planFromJson({ providers: [provider({ locations: [plain] })] });
    if ('errors' in viaDto) {
      const expected = viaDto.errors.map((e) => ({ ...e, field: `providers[0].locations[0].${e.field}` }));
      expect(byField(errorsOf(viaImport))).toEqual(byField(expected));
    } else {
      const { path: _path, agb: _agb, ...planned } = planOf(viaImport).locations[0];
      expect(planned).toEqual({ ...viaDto.value });
    }
  });

  it.each<Record<string, unknown>>([
    {},
    { validUntil: '2027-01-01' },
    { validUntil: '2026-01-01' },
    { validUntil: '2026-13-01' },
    { validFrom: 20260101, uzovi: 3311 },
    { agb: '9401234a', extra: true },
    { validUntil: undefined },
  ])('contract %j', (variant) => {
    const plain = { ...contract(), ...variant };
    const viaDto = validatePlain(ImportContractDto, plain);
    const viaImport = planFromJson({ contracts: [plain] });
    if ('errors' in viaDto) {
      expect(byField(errorsOf(viaImport))).toEqual(byField(viaDto.errors.map((e) => ({ ...e, field: `contracts[0].${e.field}` }))));
    } else {
      expect(planOf(viaImport).contracts[0]).toEqual({ path: 'contracts[0]', ...viaDto.value, validUntil: viaDto.value.validUntil ?? null });
    }
  });
});
