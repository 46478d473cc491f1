import { Suppression, SuppressionCell, SuppressionGroup, suppressSmallCells } from './suppression';

type Result = Map<string, Suppression>;

const cell = (id: string, value: number, published = true): SuppressionCell => ({ id, value, published });
const group = (total: string, ...parts: string[]): SuppressionGroup => ({ total, parts });
const sorted = (result: Result): [string, Suppression][] => [...result.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** What the reader knows of each cell, as a finite box: the value if printed, else the bounds of the attacker model within [0, sum of all]. */
function readerBox(cells: readonly SuppressionCell[], result: Result, threshold: number): [number, number][] {
  const all = cells.reduce((s, c) => s + c.value, 0);
  return cells.map((c) => {
    const s = result.get(c.id);
    if (s === 'primary') return [1, threshold - 1];
    if (s === 'secondary') return [threshold, all];
    return c.published ? [c.value, c.value] : [0, all];
  });
}

/**
 * Brute force, independent of the module: is there an integer assignment within the box that satisfies every group
 * equation and gives cell `target` the value v? Depth-first over the cells (nearest to the target first), with two
 * plain shortcuts: a group with one open member fixes it, and a group whose parts can no longer meet its total ends the branch.
 */
function solvable(cells: readonly SuppressionCell[], groups: readonly SuppressionGroup[], box: [number, number][], target: number, v: number): boolean {
  const index = new Map(cells.map((c, i) => [c.id, i]));
  const gs = groups.map((g) => ({ total: index.get(g.total)!, parts: g.parts.map((p) => index.get(p)!) }));
  const val = box.map(([lo, hi]) => (lo === hi ? lo : NaN));
  if (v < box[target][0] || v > box[target][1]) return false;
  val[target] = v;
  // Order: breadth-first from the target through the groups.
  const order: number[] = [target];
  for (let k = 0; k < order.length; k++) {
    for (const g of gs) {
      const members = [g.total, ...g.parts];
      if (members.includes(order[k])) for (const m of members) if (!order.includes(m)) order.push(m);
    }
  }
  for (let i = 0; i < cells.length; i++) if (!order.includes(i)) order.push(i);
  const open = (i: number): boolean => Number.isNaN(val[i]);
  const dfs = (): boolean => {
    let forced = -1;
    let forcedValue = 0;
    for (const { total, parts } of gs) {
      // The parts can still reach the total? (Unassigned cells count with their box.)
      let min = 0;
      let max = 0;
      let unassigned = open(total) ? 1 : 0;
      let last = total;
      for (const p of parts) {
        min += open(p) ? box[p][0] : val[p];
        max += open(p) ? box[p][1] : val[p];
        if (open(p)) {
          unassigned++;
          last = p;
        }
      }
      if (min > (open(total) ? box[total][1] : val[total]) || max < (open(total) ? box[total][0] : val[total])) return false;
      // One unassigned member: the equation fixes it.
      if (unassigned === 1 && forced < 0) {
        forced = last;
        forcedValue = last === total ? min : val[total] - (min - box[last][0]);
      }
    }
    if (forced >= 0) {
      if (forcedValue < box[forced][0] || forcedValue > box[forced][1]) return false;
      val[forced] = forcedValue;
      const ok = dfs();
      val[forced] = NaN;
      return ok;
    }
    const next = order.find((i) => Number.isNaN(val[i]));
    if (next === undefined) return true; // all assigned and every group passed the check above, so every equation holds exactly
    // Every value in the box, nearest to the true value first (alternatives are usually close to the truth).
    const [lo, hi] = box[next];
    const truth = Math.min(Math.max(cells[next].value, lo), hi);
    for (let d = 0; truth - d >= lo || truth + d <= hi; d++) {
      for (const x of d === 0 ? [truth] : [truth - d, truth + d]) {
        if (x < lo || x > hi) continue;
        val[next] = x;
        const ok = dfs();
        val[next] = NaN;
        if (ok) return true;
      }
    }
    return false;
  };
  return dfs();
}

/** All values a reader cannot rule out for the cell with this id. */
function possibleValues(cells: readonly SuppressionCell[], groups: readonly SuppressionGroup[], result: Result, id: string, threshold = 5): number[] {
  const box = readerBox(cells, result, threshold);
  const target = cells.findIndex((c) => c.id === id);
  const values: number[] = [];
  for (let v = box[target][0]; v <= box[target][1]; v++) if (solvable(cells, groups, box, target, v)) values.push(v);
  return values;
}

/** Whether a reader cannot rule out some value other than the true one. */
function hasAlternative(cells: readonly SuppressionCell[], groups: readonly SuppressionGroup[], box: [number, number][], target: number): boolean {
  for (let v = box[target][0]; v <= box[target][1]; v++) if (v !== cells[target].value && solvable(cells, groups, box, target, v)) return true;
  return false;
}

describe('suppressSmallCells: small examples', () => {
  it('suppresses nothing when nothing is small, and never a zero', () => {
    const cells = [cell('T', 10), cell('a', 10), cell('b', 0)];
    expect(sorted(suppressSmallCells(cells, [group('T', 'a', 'b')]))).toEqual([]);
  });

  it('hides a second part when one part is small and the total is shown', () => {
    const cells = [cell('T', 30), cell('a', 3), cell('b', 12), cell('c', 15)];
    const groups = [group('T', 'a', 'b', 'c')];
    const result = suppressSmallCells(cells, groups);
    expect(sorted(result)).toEqual([
      ['a', 'primary'],
      ['b', 'secondary'],
    ]);
    // Without the complement the reader computes a = 30 - 12 - 15.
    expect(possibleValues(cells, groups, new Map([['a', 'primary']]), 'a')).toEqual([3]);
    expect(possibleValues(cells, groups, result, 'a')).toEqual([1, 2, 3, 4]);
  });

  it('chooses the smallest non-zero part as complement, ties by id', () => {
    const cells = [cell('T', 100), cell('a', 2), cell('b', 0), cell('c', 30), cell('d', 68)];
    expect(sorted(suppressSmallCells(cells, [group('T', 'a', 'b', 'c', 'd')]))).toEqual([
      ['a', 'primary'],
      ['c', 'secondary'],
    ]);
    const tie = [cell('T', 50), cell('a', 2), cell('y', 24), cell('x', 24)];
    expect(sorted(suppressSmallCells(tie, [group('T', 'a', 'y', 'x')]))).toEqual([
      ['a', 'primary'],
      ['x', 'secondary'],
    ]);
  });

  it('hides the total when only zeros remain among the parts', () => {
    // p and q are both "<5" but p + q = 8 forces p = q = 4; the other part is 0, so the total has to go.
    const cells = [cell('T', 8), cell('p', 4), cell('q', 4), cell('z', 0)];
    const groups = [group('T', 'p', 'q', 'z')];
    expect(
      possibleValues(
        cells,
        groups,
        new Map<string, Suppression>([
          ['p', 'primary'],
          ['q', 'primary'],
        ]),
        'p',
      ),
    ).toEqual([4]);
    const result = suppressSmallCells(cells, groups);
    expect(sorted(result)).toEqual([
      ['T', 'secondary'],
      ['p', 'primary'],
      ['q', 'primary'],
    ]);
    expect(possibleValues(cells, groups, result, 'p')).toEqual([1, 2, 3, 4]);
  });

  it('protects an unpublished small derived cell by hiding a published neighbour', () => {
    // "only here" = distinct - "also elsewhere" is never printed, but 50 - 48 would give it away.
    const cells = [cell('distinct', 50), cell('alsoElsewhere', 48), cell('onlyHere', 2, false)];
    const groups = [group('distinct', 'alsoElsewhere', 'onlyHere')];
    const result = suppressSmallCells(cells, groups);
    expect(sorted(result)).toEqual([
      ['alsoElsewhere', 'secondary'],
      ['onlyHere', 'primary'],
    ]);
    expect(possibleValues(cells, groups, result, 'onlyHere')).toEqual([1, 2, 3, 4]);
  });

  it('resists the interval attack: a secondary cell is known to be at least the threshold', () => {
    // Hiding s alone: 6 = p + s with s >= 5 and p >= 1 leaves only p = 1.
    const cells = [cell('T', 6), cell('p', 1), cell('s', 5), cell('z', 0)];
    const groups = [group('T', 'p', 's', 'z')];
    const naive = new Map<string, Suppression>([
      ['p', 'primary'],
      ['s', 'secondary'],
    ]);
    expect(possibleValues(cells, groups, naive, 'p')).toEqual([1]);
    const result = suppressSmallCells(cells, groups);
    expect(result.get('p')).toBe('primary');
    expect(result.get('T')).toBe('secondary');
    expect(possibleValues(cells, groups, result, 'p').length).toBeGreaterThanOrEqual(2);
  });

  it('handles chains: national = sum of providers, entries = distinct + repeats, distinct = also elsewhere + only here', () => {
    const provider = (name: string, distinct: number, repeats: number, alsoElsewhere: number) => ({
      cells: [
        cell(`${name}.entries`, distinct + repeats),
        cell(`${name}.distinct`, distinct),
        cell(`${name}.repeats`, repeats, false),
        cell(`${name}.alsoElsewhere`, alsoElsewhere),
        cell(`${name}.onlyHere`, distinct - alsoElsewhere, false),
      ],
      groups: [group(`${name}.entries`, `${name}.distinct`, `${name}.repeats`), group(`${name}.distinct`, `${name}.alsoElsewhere`, `${name}.onlyHere`)],
    });
    const providers = [provider('p1', 30, 10, 27), provider('p2', 3, 0, 3), provider('p3', 20, 5, 20)];
    const cells = [cell('national', 40 + 3 + 25), ...providers.flatMap((p) => p.cells)];
    const groups = [group('national', 'p1.entries', 'p2.entries', 'p3.entries'), ...providers.flatMap((p) => p.groups)];
    const result = suppressSmallCells(cells, groups);
    expect(sorted(result)).toEqual([
      ['p1.alsoElsewhere', 'secondary'], // else p1.onlyHere = 30 - 27
      ['p1.onlyHere', 'primary'],
      ['p2.alsoElsewhere', 'primary'],
      ['p2.distinct', 'primary'],
      ['p2.entries', 'primary'],
      ['p3.entries', 'secondary'], // else p2.entries = 68 - 40 - 25; p3 is the smaller provider
    ]);
    for (const [id, s] of result) if (s === 'primary') expect(possibleValues(cells, groups, result, id).length).toBeGreaterThanOrEqual(2);
  });

  it('protects a cell in a table with margins by hiding a cycle of cells', () => {
    //        c1  c2 | row
    //   r1    2  10 |  12
    //   r2    8   9 |  17
    //  col   10  19 |  29
    const cells = [cell('x11', 2), cell('x12', 10), cell('x21', 8), cell('x22', 9)];
    cells.push(cell('r1', 12), cell('r2', 17), cell('c1', 10), cell('c2', 19), cell('all', 29));
    const groups = [group('r1', 'x11', 'x12'), group('r2', 'x21', 'x22'), group('c1', 'x11', 'x21'), group('c2', 'x12', 'x22'), group('all', 'r1', 'r2'), group('all', 'c1', 'c2')];
    const result = suppressSmallCells(cells, groups);
    expect(sorted(result)).toEqual([
      ['x11', 'primary'],
      ['x12', 'secondary'],
      ['x21', 'secondary'],
      ['x22', 'secondary'],
    ]);
    expect(possibleValues(cells, groups, result, 'x11')).toEqual([1, 2, 3, 4]);
  });

  it('catches a disclosure that interval propagation alone misses (a table is not tree-shaped)', () => {
    //        c0  c1  c2  c3 | row
    //   r0   10   1   0   2 |  13
    //   r1    3   0   6   4 |  13
    //   r2    3   0   3   7 |  13
    //  col   16   1   9  13 |  39
    const x = [
      [10, 1, 0, 2],
      [3, 0, 6, 4],
      [3, 0, 3, 7],
    ];
    const rows = x.map((row) => row.reduce((s, v) => s + v, 0));
    const cols = x[0].map((_, j) => x.reduce((s, row) => s + row[j], 0));
    const cells = [
      ...x.flatMap((row, i) => row.map((v, j) => cell(`x${i}${j}`, v))),
      ...rows.map((v, i) => cell(`r${i}`, v)),
      ...cols.map((v, j) => cell(`c${j}`, v)),
      cell('all', 39),
    ];
    const groups = [
      ...rows.map((_, i) => group(`r${i}`, ...x[i].map((_, j) => `x${i}${j}`))),
      ...cols.map((_, j) => group(`c${j}`, ...x.map((_, i) => `x${i}${j}`))),
      group('all', 'r0', 'r1', 'r2'),
      group('all', 'c0', 'c1', 'c2', 'c3'),
    ];
    // With these cells hidden every row and column has at least two unknowns and interval propagation finds no cell pinned,
    // yet x10 + x20 = 6, x20 + x22 = 6 and x12 + x22 = 9 give x12 = 9 - x10, so row 1 leaves x13 = 13 - 9 = 4.
    const primaries = ['c1', 'x01', 'x03', 'x10', 'x13', 'x20', 'x22'];
    const gap = new Map<string, Suppression>([...primaries.map((id): [string, Suppression] => [id, 'primary']), ['x12', 'secondary'], ['c3', 'secondary']]);
    expect(possibleValues(cells, groups, gap, 'x13')).toEqual([4]);

    const result = suppressSmallCells(cells, groups);
    expect(
      sorted(result)
        .filter(([, s]) => s === 'primary')
        .map(([id]) => id),
    ).toEqual(primaries);
    for (const id of primaries) expect([id, possibleValues(cells, groups, result, id).length > 1]).toEqual([id, true]);
  });

  it('respects the threshold option', () => {
    const cells = [cell('T', 10), cell('a', 3), cell('b', 7)];
    const groups = [group('T', 'a', 'b')];
    expect(sorted(suppressSmallCells(cells, groups, { threshold: 3 }))).toEqual([]);
    expect(sorted(suppressSmallCells(cells, groups, { threshold: 4 }))).toEqual([
      ['a', 'primary'],
      ['b', 'secondary'],
    ]);
  });

  it('throws when a small count cannot be protected at all', () => {
    // Four parts "<5" under a total "<5": each part must be 1 and the total 4, whatever else is hidden.
    const cells = [cell('T', 4), cell('a', 1), cell('b', 1), cell('c', 1), cell('d', 1), cell('z', 0)];
    expect(() => suppressSmallCells(cells, [group('T', 'a', 'b', 'c', 'd', 'z')])).toThrow(/cannot protect the small count in cell "T"/);
  });
});

describe('suppressSmallCells: invalid input', () => {
  const cells = [cell('T', 10), cell('a', 3), cell('b', 7)];

  it('rejects a group whose equation does not hold', () => {
    expect(() => suppressSmallCells(cells, [group('T', 'a')])).toThrow(/group 0 does not add up: "T" is 10 but its parts sum to 3/);
  });

  it('rejects unknown ids, as total or as part', () => {
    expect(() => suppressSmallCells(cells, [group('X', 'a', 'b')])).toThrow(/unknown cell "X"/);
    expect(() => suppressSmallCells(cells, [group('T', 'a', 'Y')])).toThrow(/unknown cell "Y"/);
  });

  it('rejects negative, fractional and non-numeric values', () => {
    expect(() => suppressSmallCells([cell('a', -1)], [])).toThrow(/cell "a" has value -1; counts must be non-negative integers/);
    expect(() => suppressSmallCells([cell('a', 1.5)], [])).toThrow(/non-negative integers/);
    expect(() => suppressSmallCells([cell('a', NaN)], [])).toThrow(/non-negative integers/);
  });

  it('rejects duplicate ids, a cell twice in one group, an empty group and a bad threshold', () => {
    expect(() => suppressSmallCells([cell('a', 1), cell('a', 2)], [])).toThrow(/duplicate cell id "a"/);
    expect(() => suppressSmallCells([cell('T', 6), cell('a', 3)], [group('T', 'a', 'a')])).toThrow(/appears twice/);
    expect(() => suppressSmallCells([cell('T', 0)], [group('T')])).toThrow(/has no parts/);
    expect(() => suppressSmallCells(cells, [], { threshold: 2 })).toThrow(/threshold/);
    expect(() => suppressSmallCells(cells, [], { threshold: 4.5 })).toThrow(/threshold/);
  });
});

// ---- Property test -------------------------------------------------------------------------------------------------

/** Mulberry32: a small seeded PRNG, so every run sees the same cases. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  cells: SuppressionCell[];
  groups: SuppressionGroup[];
  threshold: number;
}

const between = (rng: () => number, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
// Counts 0..12, with small ones (and zeros) more common than uniform.
const count = (rng: () => number): number => (rng() < 0.5 ? between(rng, 0, 12) : between(rng, 0, 5));
// Ids whose order differs from the order of creation, so tie-breaks by id are exercised.
const makeId = (rng: () => number, n: number): string => `${String.fromCharCode(97 + between(rng, 0, 25))}${n}`;

/** A hierarchy: each cell is a part of at most one group and the total of at most one group. */
function randomTree(rng: () => number): Case {
  for (;;) {
    const cells: SuppressionCell[] = [];
    const groups: SuppressionGroup[] = [];
    const node = (depth: number): SuppressionCell => {
      const c = cell(makeId(rng, cells.length), 0, depth === 0 || rng() < 0.8);
      cells.push(c);
      if (depth === 0 || (depth < 3 && rng() < 0.45)) {
        const parts = Array.from({ length: between(rng, 2, depth === 0 ? 4 : 3) }, () => node(depth + 1));
        c.value = parts.reduce((s, p) => s + p.value, 0);
        groups.push(group(c.id, ...parts.map((p) => p.id)));
      } else {
        c.value = count(rng);
      }
      return c;
    };
    node(0);
    if (cells.length <= 13) return { cells, groups, threshold: rng() < 0.8 ? 5 : 3 };
  }
}

/** A rows x columns table with row and column margins and a grand total (not tree-shaped: every cell is in two groups). */
function randomTable(rng: () => number): Case {
  const rows = between(rng, 2, 4);
  const cols = between(rng, 2, 4);
  const id = (name: string): string => `${name}${between(rng, 0, 9)}`;
  const x = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => cell(id(`x${i}${j}_`), count(rng), rng() < 0.92)));
  const rowTotals = x.map((row, i) =>
    cell(
      id(`r${i}_`),
      row.reduce((s, c) => s + c.value, 0),
      rng() < 0.95,
    ),
  );
  const colTotals = Array.from({ length: cols }, (_, j) =>
    cell(
      id(`k${j}_`),
      x.reduce((s, row) => s + row[j].value, 0),
      rng() < 0.95,
    ),
  );
  const all = cell(
    'all',
    rowTotals.reduce((s, c) => s + c.value, 0),
  );
  const groups = [
    ...x.map((row, i) => group(rowTotals[i].id, ...row.map((c) => c.id))),
    ...colTotals.map((k, j) => group(k.id, ...x.map((row) => row[j].id))),
    group('all', ...rowTotals.map((c) => c.id)),
    group('all', ...colTotals.map((c) => c.id)),
  ];
  return { cells: [...x.flat(), ...rowTotals, ...colTotals, all], groups, threshold: 5 };
}

function shuffled<T>(rng: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = between(rng, 0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Checks one case and returns what happened. On success: primary exactly for the small cells, secondary only for published
 * cells of at least the threshold (so never a zero, never an unpublished cell), every small cell has a second value the
 * reader cannot rule out (brute force), and the same answer for the input in another order. On a throw: the cell named
 * cannot be protected even with every published non-zero cell hidden.
 */
function check(c: Case, rng: () => number): 'protected' | 'secondary' | 'impossible' {
  const { cells, groups, threshold } = c;
  const small = (v: number): boolean => v >= 1 && v < threshold;
  let result: Result;
  try {
    result = suppressSmallCells(cells, groups, { threshold });
  } catch (error) {
    const match = /cannot protect the small count in cell "([^"]+)"/.exec((error as Error).message);
    if (!match) throw error;
    const everything = new Map<string, Suppression>(cells.filter((x) => x.value > 0).map((x): [string, Suppression] => [x.id, small(x.value) ? 'primary' : 'secondary']));
    const target = cells.findIndex((x) => x.id === match[1]);
    expect(small(cells[target].value)).toBe(true);
    expect(hasAlternative(cells, groups, readerBox(cells, everything, threshold), target)).toBe(false);
    return 'impossible';
  }
  for (const x of cells) {
    const s = result.get(x.id);
    if (small(x.value)) expect([x.id, s]).toEqual([x.id, 'primary']);
    else if (s !== undefined) expect([x.id, s, x.published, x.value >= threshold]).toEqual([x.id, 'secondary', true, true]);
  }
  const box = readerBox(cells, result, threshold);
  cells.forEach((x, i) => {
    if (small(x.value)) expect([x.id, hasAlternative(cells, groups, box, i)]).toEqual([x.id, true]);
  });
  const again = suppressSmallCells(shuffled(rng, cells), shuffled(rng, groups), { threshold });
  expect(sorted(again)).toEqual(sorted(result));
  return [...result.values()].includes('secondary') ? 'secondary' : 'protected';
}

describe('suppressSmallCells: property test against brute force', () => {
  const tally = (outcomes: string[]): Record<string, number> => outcomes.reduce<Record<string, number>>((t, o) => ({ ...t, [o]: (t[o] ?? 0) + 1 }), {});

  it('protects every small cell in random tree-shaped hierarchies', () => {
    const rng = prng(20240611);
    const outcomes = Array.from({ length: 300 }, () => check(randomTree(rng), rng));
    const t = tally(outcomes);
    // Not vacuous: plenty of cases needed complementary suppression.
    expect(t.secondary).toBeGreaterThan(60);
    expect(t.impossible ?? 0).toBeLessThan(30);
  });

  it('protects every small cell in random tables with margins', () => {
    const rng = prng(7);
    const outcomes = Array.from({ length: 400 }, () => check(randomTable(rng), rng));
    const t = tally(outcomes);
    expect(t.secondary).toBeGreaterThan(40);
    expect(t.impossible ?? 0).toBeLessThan(15);
  });
});
