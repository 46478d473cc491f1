/**
 * Seeded schedules for race tests: RACE_SEEDS picks the seeds (`1-40`, or a list `3,17`) so a
 * failing interleaving can be replayed, and `rng` turns a seed into a repeatable generator.
 */
export function seeds(fallback: string): number[] {
  const s = process.env.RACE_SEEDS ?? fallback;
  const m = /^(\d+)-(\d+)$/.exec(s);
  if (m) return Array.from({ length: Number(m[2]) - Number(m[1]) + 1 }, (_, i) => Number(m[1]) + i);
  return s.split(',').map(Number);
}

/** mulberry32: a small seeded generator, enough to make a schedule repeatable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
