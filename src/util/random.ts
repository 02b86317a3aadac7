/**
 * A tiny seeded PRNG (mulberry32) for synthetic data, test fixtures and
 * benchmarks. For streams whose state must be checkpointed, use the data
 * module's `Rng` (xoshiro128**) instead.
 */

/** Returns a function yielding floats in [0, 1), deterministic for `seed`. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` floats uniform in [lo, hi) from {@link seededRandom}. */
export function randomFloats(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const next = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * next();
  return out;
}
