/**
 * Small-cell suppression, with complementary suppression, for the aggregate reports the TTP gives to health insurers.
 *
 * The rule. A count of 1 to threshold-1 people (by default 1 to 4) is never published: the report prints "<5" instead
 * (primary suppression). Zero is printed as 0. Hiding the small count alone is not enough, because a report also prints
 * totals: "distinct 50, also on another list 48" gives away "only on this list 2". So further published cells are hidden
 * (secondary or complementary suppression) until no small count can be worked out from what is still printed.
 *
 * The reader (attacker model). A reader sees every published cell that is not suppressed, knows every additive relation
 * between cells (a group: total = sum of parts) and knows this rule, so the reader also knows that
 *   - a primary cell lies in [1, threshold-1];
 *   - a secondary cell lies in [threshold, +inf): it is not small (else it would be primary) and never 0 (zeros are never
 *     hidden here);
 *   - a cell the report never prints (published: false; derivable from an equation, e.g. "only on this list" = distinct -
 *     others) lies in [0, +inf). If such a cell is small it is primary and we let the reader know [1, threshold-1]: more
 *     knowledge than a real reader has, which only makes the check stricter. A slack cell (slack: true) is such an
 *     unknown that is not protected itself: it stands for the rest of an inequality between outputs ("the entries of a
 *     provider are at least its cleaned counts"), so the reader knows it only as [0, +inf).
 * The guarantee: for every cell with a value in 1..threshold-1, the integer values consistent with all group equations and
 * all these bounds are at least two. The reader only gets the intervals above; what else a reader might infer from how the
 * cells were chosen (e.g. "they hid the smallest neighbour") is out of scope.
 *
 * The check. Interval constraint propagation over all groups jointly: each cell starts with the bounds above (a printed
 * cell: its value); for each group and each member the bounds are tightened from the equation and the other members'
 * bounds, until nothing changes. A small cell whose interval collapses to one value is disclosed. Propagation is an outer
 * approximation of what a reader can derive. It is exact when the cell-group incidence graph has no cycle — the tree-shaped
 * relations the report uses, where a cell is a part of at most one group and the total of at most one group (e.g. national
 * entries = sum of provider entries; provider entries = distinct + repeats; distinct = also elsewhere + only here): every
 * value inside a propagated interval is then part of a full solution. For general tables (a cell in a row and a column)
 * propagation alone is only a heuristic and can miss a disclosure, so there each small cell also needs a witness: a
 * complete integer solution, found by a bounded search, in which that cell has another value. If the search finds none
 * within its budget the cell is treated as disclosed (fail closed). The same applies to a tree whose propagation stopped on
 * its budget before the fixpoint. The incidence graph is checked per connected part, not assumed.
 *
 * The repair. While some small cell is disclosed (the one with the smallest id first), one more published, non-suppressed,
 * non-zero cell is hidden: taken from the groups that pin it down (if no single group does, all groups it is in), then
 * from groups sharing a member with those, and so on outwards; nearer groups first, within that parts before totals, the
 * smallest value first, ties by id. Of these the first that on its own stops the disclosure is taken (up to a few tries),
 * otherwise simply the first. Greedy, so not a minimal pattern, but deterministic: same input, same output. If no cell is
 * left to hide (everything related is already hidden, zero or unpublished), the function throws rather than return a
 * report that still discloses a count: e.g. a total "<5" with four parts "<5" must be 1+1+1+1.
 *
 * Cost: every repair step propagates the whole relation again, so time grows with (complements needed) x (cells): measured
 * here about 0.03 s for 100 providers (500 cells), 0.6 s for 1,000 and 7 s for 3,000. Pure and dependency-free.
 */

export interface SuppressionCell {
  id: string;
  /** A non-negative integer count. */
  value: number;
  /** false: never printed in the report but derivable from an equation, so unknown to a reader yet still protected if small. */
  published: boolean;
  /**
   * How much the report would rather keep this cell visible when a complement must be chosen (default 0): among
   * candidates equally close to the cell to protect, lower `keep` is hidden first.
   */
  keep?: number;
  /**
   * true: an unknown the reader cannot see and that needs no protection of its own — e.g. the entries a published figure
   * leaves out for reasons no reader sees (repeats, people in care elsewhere), so that a relation between two outputs can
   * be written as an equation. The reader knows it only as [0, +inf); it is never primary, never hidden as a complement.
   */
  slack?: boolean;
}

/** An additive relation: value(total) = sum of value(parts); ids refer to cells. */
export interface SuppressionGroup {
  total: string;
  parts: string[];
}

export type Suppression = 'primary' | 'secondary';

export interface SuppressionOptions {
  /** Counts from 1 to threshold-1 are small. Default 5. */
  threshold?: number;
}

const DEFAULT_THRESHOLD = 5;
/** Search nodes allowed per witness search (only used for cyclic relations, such as tables with margins). */
const WITNESS_NODE_BUDGET = 20_000;
/** Moves and nodes of a local witness search (see localWitness). */
const LOCAL_DEPTH = 12;
const LOCAL_BUDGET = 4_000;
/** Components larger than this get no full witness search (fail closed: a cell without a local witness gets a complement). */
const FULL_SEARCH_MAX_CELLS = 400;
/** Candidates tried on their own per repair step before falling back to the best-ranked one. */
const EVALUATION_LIMIT = 16;

// Cell states.
const SHOWN = 0;
const PRIMARY = 1;
const SECONDARY = 2;
const UNPUBLISHED = 3;

// Results of propagate().
const EMPTY = 0;
const FIXPOINT = 1;
const PARTIAL = 2;

interface Model {
  threshold: number;
  ids: string[];
  values: number[];
  keep: number[];
  totals: number[];
  parts: number[][];
  /** Groups each cell is a member of (as total or part). */
  groupsOf: number[][];
  component: number[];
  componentCells: number[][];
  componentGroups: number[][];
  /** Whether the cell-group incidence graph of a component has a cycle: then propagation is not exact. */
  cyclic: boolean[];
  /** Group revisions one propagation may do before it gives up (its bounds are then still sound, just not tightest). */
  propagationBudget: number;
}

interface Fixpoint {
  lo: Float64Array;
  hi: Float64Array;
  converged: boolean;
}

function byId(ids: readonly string[]): (a: number, b: number) => number {
  return (a, b) => (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0);
}

function buildModel(cells: readonly SuppressionCell[], groups: readonly SuppressionGroup[], threshold: number): Model {
  if (!Number.isInteger(threshold) || threshold < 3) {
    throw new Error(`suppressSmallCells: threshold must be an integer of at least 3 (with 2, "<2" would itself reveal 1), got ${String(threshold)}`);
  }
  const index = new Map<string, number>();
  const ids: string[] = [];
  const values: number[] = [];
  for (const cell of cells) {
    if (typeof cell.id !== 'string' || cell.id === '') throw new Error('suppressSmallCells: every cell needs a non-empty string id');
    if (index.has(cell.id)) throw new Error(`suppressSmallCells: duplicate cell id "${cell.id}"`);
    if (!Number.isSafeInteger(cell.value) || cell.value < 0) {
      throw new Error(`suppressSmallCells: cell "${cell.id}" has value ${String(cell.value)}; counts must be non-negative integers`);
    }
    index.set(cell.id, ids.length);
    ids.push(cell.id);
    values.push(cell.value);
  }
  const n = ids.length;
  const lookup = (id: string, g: number): number => {
    const i = index.get(id);
    if (i === undefined) throw new Error(`suppressSmallCells: group ${g} refers to unknown cell "${String(id)}"`);
    return i;
  };
  const totals: number[] = [];
  const parts: number[][] = [];
  const groupsOf: number[][] = ids.map(() => []);
  groups.forEach((group, g) => {
    const total = lookup(group.total, g);
    if (!Array.isArray(group.parts) || group.parts.length === 0) throw new Error(`suppressSmallCells: group ${g} ("${group.total}") has no parts`);
    const ps = group.parts.map((id) => lookup(id, g));
    const seen = new Set<number>([total]);
    for (const p of ps) {
      if (seen.has(p)) throw new Error(`suppressSmallCells: cell "${ids[p]}" appears twice in group ${g} ("${group.total}")`);
      seen.add(p);
    }
    const sum = ps.reduce((s, p) => s + values[p], 0);
    if (sum !== values[total]) {
      throw new Error(`suppressSmallCells: group ${g} does not add up: "${group.total}" is ${values[total]} but its parts sum to ${sum}`);
    }
    totals.push(total);
    parts.push(ps);
    for (const member of seen) groupsOf[member].push(g);
  });

  // Union-find over cells and groups (group g is node n + g). An edge that joins two nodes already connected closes a cycle.
  const parent = Array.from({ length: n + totals.length }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]];
    return x;
  };
  const cycleRoots: number[] = [];
  totals.forEach((total, g) => {
    for (const member of [total, ...parts[g]]) {
      const a = find(member);
      const b = find(n + g);
      if (a === b) cycleRoots.push(a);
      else parent[a] = b;
    }
  });
  const componentOfRoot = new Map<number, number>();
  const component: number[] = [];
  const componentCells: number[][] = [];
  for (let i = 0; i < n; i++) {
    const root = find(i);
    let c = componentOfRoot.get(root);
    if (c === undefined) {
      c = componentCells.length;
      componentOfRoot.set(root, c);
      componentCells.push([]);
    }
    component.push(c);
    componentCells[c].push(i);
  }
  const cyclic = componentCells.map(() => false);
  for (const root of cycleRoots) cyclic[componentOfRoot.get(find(root))!] = true;
  const componentGroups: number[][] = componentCells.map(() => []);
  totals.forEach((total, g) => componentGroups[component[total]].push(g));
  const memberCount = parts.reduce((s, ps) => s + ps.length + 1, 0);
  return {
    threshold,
    ids,
    values,
    keep: cells.map((c) => c.keep ?? 0),
    totals,
    parts,
    groupsOf,
    component,
    componentCells,
    componentGroups,
    cyclic,
    propagationBudget: 1000 + 64 * memberCount,
  };
}

/**
 * Tightens lo/hi in place to the interval fixpoint of all group equations, starting from the groups in `start` (all if
 * null; when lo/hi are a fixpoint already except for the cells of those groups, that is enough).
 */
function propagate(m: Model, lo: Float64Array, hi: Float64Array, start: readonly number[] | null): number {
  const queued = new Uint8Array(m.totals.length);
  const queue: number[] = [];
  const push = (g: number): void => {
    if (!queued[g]) {
      queued[g] = 1;
      queue.push(g);
    }
  };
  if (start) start.forEach(push);
  else for (let g = 0; g < m.totals.length; g++) push(g);
  // Returns false when the cell's interval became empty.
  const tighten = (cell: number, newLo: number, newHi: number): boolean => {
    let changed = false;
    if (newLo > lo[cell]) {
      lo[cell] = newLo;
      changed = true;
    }
    if (newHi < hi[cell]) {
      hi[cell] = newHi;
      changed = true;
    }
    if (changed) m.groupsOf[cell].forEach(push);
    return lo[cell] <= hi[cell];
  };
  let budget = m.propagationBudget;
  for (let head = 0; head < queue.length; head++) {
    if (--budget < 0) return PARTIAL;
    const g = queue[head];
    queued[g] = 0;
    const total = m.totals[g];
    const ps = m.parts[g];
    // Sums over the parts; infinite upper bounds are counted rather than added.
    let sumLo = 0;
    let sumHi = 0;
    let infinite = 0;
    for (const p of ps) {
      sumLo += lo[p];
      if (hi[p] === Infinity) infinite++;
      else sumHi += hi[p];
    }
    if (!tighten(total, sumLo, infinite ? Infinity : sumHi)) return EMPTY;
    // Each part = total - the others. The sums above may be a little stale once earlier parts are tightened: still sound.
    for (const p of ps) {
      const othersLo = sumLo - lo[p];
      const othersInfinite = infinite - (hi[p] === Infinity ? 1 : 0);
      const othersHi = sumHi - (hi[p] === Infinity ? 0 : hi[p]);
      if (!tighten(p, othersInfinite ? -Infinity : lo[total] - othersHi, hi[total] - othersLo)) return EMPTY;
    }
  }
  return FIXPOINT;
}

/** The reader's bounds for the current states, propagated. */
function readerFixpoint(m: Model, state: Uint8Array): Fixpoint {
  const n = m.ids.length;
  const lo = new Float64Array(n);
  const hi = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = state[i];
    lo[i] = s === SHOWN ? m.values[i] : s === PRIMARY ? 1 : s === SECONDARY ? m.threshold : 0;
    hi[i] = s === SHOWN ? m.values[i] : s === PRIMARY ? m.threshold - 1 : Infinity;
  }
  const result = propagate(m, lo, hi, null);
  // The true values satisfy every equation and every bound, so this cannot happen.
  if (result === EMPTY) throw new Error('suppressSmallCells: internal error, the true values were ruled out');
  return { lo, hi, converged: result === FIXPOINT };
}

/**
 * A complete integer solution of c's component within the reader's bounds in which c differs from its true value, or null
 * if there is none or the search ran out of budget. Depth-first: the unknown cell with the narrowest interval is fixed
 * first, to its true value if allowed (else the nearest bound), then to values below, then above; propagation after each step.
 */
function findWitness(m: Model, c: number, base: Fixpoint): Float64Array | null {
  const comp = m.component[c];
  const unknown = m.componentCells[comp].filter((i) => base.lo[i] < base.hi[i]).sort(byId(m.ids));
  let nodes = 0;
  const search = (lo: Float64Array, hi: Float64Array, start: readonly number[] | null): Float64Array | null => {
    if (++nodes > WITNESS_NODE_BUDGET || propagate(m, lo, hi, start) === EMPTY) return null;
    let pick = -1;
    for (const i of unknown) if (lo[i] < hi[i] && (pick < 0 || hi[i] - lo[i] < hi[pick] - lo[pick])) pick = i;
    if (pick < 0) {
      // Everything is fixed: check the equations exactly (propagation may have stopped early on its budget).
      const holds = m.componentGroups[comp].every((g) => m.parts[g].reduce((s, p) => s + lo[p], 0) === lo[m.totals[g]]);
      return holds ? lo : null;
    }
    const at = Math.min(Math.max(m.values[pick], lo[pick]), hi[pick]);
    for (const [a, b] of [
      [at, at],
      [lo[pick], at - 1],
      [at + 1, hi[pick]],
    ]) {
      if (a > b) continue;
      const lo2 = lo.slice();
      const hi2 = hi.slice();
      lo2[pick] = a;
      hi2[pick] = b;
      const found = search(lo2, hi2, m.groupsOf[pick]);
      if (found || nodes > WITNESS_NODE_BUDGET) return found;
    }
    return null;
  };
  const start = base.converged ? m.groupsOf[c] : null;
  for (const [a, b] of [
    [base.lo[c], m.values[c] - 1],
    [m.values[c] + 1, base.hi[c]],
  ]) {
    if (a > b) continue;
    const lo = base.lo.slice();
    const hi = base.hi.slice();
    lo[c] = a;
    hi[c] = b;
    const found = search(lo, hi, start);
    if (found || nodes > WITNESS_NODE_BUDGET) return found;
  }
  return null;
}

/**
 * Whether the reader cannot pin down small cell c under the current states. A witness found on the way also protects the
 * other small cells it changes; they are recorded in `proven`, which stays valid because hiding more only widens the
 * set of solutions.
 */
function isProtected(m: Model, state: Uint8Array, c: number, base: Fixpoint, proven: Uint8Array, small: readonly number[]): boolean {
  if (base.lo[c] === base.hi[c]) return false;
  if (proven[c] || (base.converged && !m.cyclic[m.component[c]])) return true;
  const local = localWitness(m, state, c);
  if (local) {
    for (const s of local.keys()) if (state[s] === PRIMARY) proven[s] = 1;
    return true;
  }
  // The full search copies the bounds of the whole component at every node: only for small components.
  if (m.componentCells[m.component[c]].length > FULL_SEARCH_MAX_CELLS) return false;
  const witness = findWitness(m, c, base);
  if (!witness) return false;
  for (const s of small) if (m.component[s] === m.component[c] && witness[s] !== m.values[s]) proven[s] = 1;
  return true;
}

/**
 * A witness close to the truth: the true values are a solution, so are the true values plus a change vector that moves
 * c by one and keeps every group balanced, every hidden cell within its reader bounds and every printed cell as it is.
 * Searched depth-first from c: an unbalanced group is balanced by moving one more of its hidden members by one (members
 * in fewer groups first, e.g. an unseen rest, which closes the chain at once), up to LOCAL_DEPTH moves and LOCAL_BUDGET
 * nodes. Cheap, and sparse; returns the moved cells and their changes, or null (then the caller may search in full).
 */
function localWitness(m: Model, state: Uint8Array, c: number): Map<number, number> | null {
  const delta = new Map<number, number>();
  const imbalance = new Map<number, number>();
  const inBounds = (cell: number, v: number): boolean => {
    const s = state[cell];
    if (s === SHOWN) return false;
    if (s === PRIMARY) return v >= 1 && v <= m.threshold - 1;
    if (s === SECONDARY) return v >= m.threshold;
    return v >= 0;
  };
  const move = (cell: number, d: number): void => {
    const now = (delta.get(cell) ?? 0) + d;
    if (now === 0) delta.delete(cell);
    else delta.set(cell, now);
    for (const g of m.groupsOf[cell]) {
      const x = (imbalance.get(g) ?? 0) + (m.totals[g] === cell ? d : -d);
      if (x === 0) imbalance.delete(g);
      else imbalance.set(g, x);
    }
  };
  let nodes = 0;
  const search = (depth: number): boolean => {
    if (imbalance.size === 0) return true;
    if (depth === 0 || ++nodes > LOCAL_BUDGET) return false;
    // The unbalanced group with the fewest ways out first.
    let best = -1;
    let bestOptions: [number, number][] = [];
    for (const [g, x] of imbalance) {
      const options: [number, number][] = [];
      const sign = x > 0 ? 1 : -1;
      // Imbalance = change of the total - change of the parts: lower the total, or raise a part.
      const total = m.totals[g];
      if (!delta.has(total) && inBounds(total, m.values[total] - sign)) options.push([total, -sign]);
      for (const p of m.parts[g]) if (!delta.has(p) && inBounds(p, m.values[p] + sign)) options.push([p, sign]);
      if (best < 0 || options.length < bestOptions.length || (options.length === bestOptions.length && g < best)) {
        best = g;
        bestOptions = options;
      }
      if (options.length === 0) return false;
    }
    bestOptions.sort((a, b) => m.groupsOf[a[0]].length - m.groupsOf[b[0]].length || a[0] - b[0]);
    for (const [cell, d] of bestOptions) {
      move(cell, d);
      if (search(depth - 1)) return true;
      move(cell, -d);
      if (nodes > LOCAL_BUDGET) return false;
    }
    return false;
  };
  for (const d of [1, -1]) {
    if (!inBounds(c, m.values[c] + d)) continue;
    move(c, d);
    if (search(LOCAL_DEPTH)) return delta;
    move(c, -d);
  }
  return null;
}

/** Whether group g on its own (with the others' current bounds and c's own reader bounds) leaves c a single value. */
function pinsDown(m: Model, g: number, c: number, base: Fixpoint): boolean {
  const total = m.totals[g];
  let lo: number;
  let hi: number;
  if (total === c) {
    lo = m.parts[g].reduce((s, p) => s + base.lo[p], 0);
    hi = m.parts[g].reduce((s, p) => s + base.hi[p], 0);
  } else {
    const others = m.parts[g].filter((p) => p !== c);
    lo = base.lo[total] - others.reduce((s, p) => s + base.hi[p], 0);
    hi = base.hi[total] - others.reduce((s, p) => s + base.lo[p], 0);
  }
  return Math.max(lo, 1) === Math.min(hi, m.threshold - 1);
}

/** Cells that may still be hidden to protect c, best first (see the header comment). */
function rankCandidates(m: Model, state: Uint8Array, c: number, base: Fixpoint): number[] {
  const pinning = m.groupsOf[c].filter((g) => pinsDown(m, g, c, base));
  let frontier = pinning.length ? pinning : m.groupsOf[c];
  const visited = new Uint8Array(m.totals.length);
  frontier.forEach((g) => (visited[g] = 1));
  // Key per candidate: [distance in groups, keep, 0 for a part / 1 for a total, value]; ties by id.
  const keys = new Map<number, [number, number, number]>();
  const offer = (cell: number, level: number, rank: number): void => {
    if (state[cell] !== SHOWN || m.values[cell] === 0) return;
    const old = keys.get(cell);
    if (!old || level < old[0] || (level === old[0] && rank < old[1])) keys.set(cell, [level, rank, m.values[cell]]);
  };
  for (let level = 0; frontier.length; level++) {
    const next: number[] = [];
    for (const g of frontier) {
      for (const p of m.parts[g]) offer(p, level, 0);
      offer(m.totals[g], level, 1);
      for (const member of [m.totals[g], ...m.parts[g]]) {
        for (const g2 of m.groupsOf[member]) {
          if (!visited[g2]) {
            visited[g2] = 1;
            next.push(g2);
          }
        }
      }
    }
    frontier = next;
  }
  const idOrder = byId(m.ids);
  return [...keys.keys()].sort((a, b) => {
    const ka = keys.get(a)!;
    const kb = keys.get(b)!;
    return ka[0] - kb[0] || m.keep[a] - m.keep[b] || ka[1] - kb[1] || ka[2] - kb[2] || idOrder(a, b);
  });
}

/**
 * Hides small counts (1..threshold-1) and, where a reader could still work one out from the equations, as few further
 * published cells as this greedy method manages. Returns only the suppressed cells: 'primary' for every small cell
 * (published or not), 'secondary' for a published cell hidden only to protect another. Zero is never suppressed.
 * Throws on invalid input (unknown id, a value that is not a non-negative integer, a group that does not add up) and
 * when a small count cannot be protected at all by hiding non-zero published cells.
 */
export function suppressSmallCells(cells: readonly SuppressionCell[], groups: readonly SuppressionGroup[], options: SuppressionOptions = {}): Map<string, Suppression> {
  const m = buildModel(cells, groups, options.threshold ?? DEFAULT_THRESHOLD);
  const n = m.ids.length;
  const state = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    state[i] = cells[i].slack ? UNPUBLISHED : m.values[i] >= 1 && m.values[i] < m.threshold ? PRIMARY : cells[i].published ? SHOWN : UNPUBLISHED;
  }
  const small = [...Array(n).keys()].filter((i) => state[i] === PRIMARY).sort(byId(m.ids));
  const proven = new Uint8Array(n);

  for (;;) {
    const base = readerFixpoint(m, state);
    // Cells pinned by propagation first (cheap), then those whose protection needs a witness.
    let target = small.find((c) => base.lo[c] === base.hi[c]) ?? -1;
    if (target < 0) target = small.find((c) => !isProtected(m, state, c, base, proven, small)) ?? -1;
    if (target < 0) break;

    const candidates = rankCandidates(m, state, target, base);
    if (!candidates.length) {
      throw new Error(
        `suppressSmallCells: cannot protect the small count in cell "${m.ids[target]}": every related cell is already hidden, zero or unpublished, ` +
          `and a reader can still work it out (for example a total "<${m.threshold}" with ${m.threshold - 1} parts "<${m.threshold}" must be 1 + 1 + ...)`,
      );
    }
    let chosen = candidates[0];
    for (const candidate of candidates.slice(0, EVALUATION_LIMIT)) {
      state[candidate] = SECONDARY;
      const works = isProtected(m, state, target, readerFixpoint(m, state), proven, small);
      state[candidate] = SHOWN;
      if (works) {
        chosen = candidate;
        break;
      }
    }
    state[chosen] = SECONDARY;
  }

  const result = new Map<string, Suppression>();
  for (let i = 0; i < n; i++) {
    if (state[i] === PRIMARY) result.set(m.ids[i], 'primary');
    else if (state[i] === SECONDARY) result.set(m.ids[i], 'secondary');
  }
  return result;
}
