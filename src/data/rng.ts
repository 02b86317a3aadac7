/**
 * Seeded pseudo-random number generator (xoshiro128**) whose whole state is a
 * small JSON-serialisable value, so a trainer can checkpoint and restore it.
 *
 * The seed is expanded into the 128-bit state with splitmix32, so nearby seeds
 * (0, 1, 2, ...) give unrelated streams.
 */

import { LatpruneError } from '../errors.js';

/** Serialisable state of an {@link Rng}: four unsigned 32-bit words. */
export interface RngState {
  /** Algorithm tag, checked on restore. */
  readonly algorithm: 'xoshiro128**';
  /** The four state words, each an unsigned 32-bit integer. */
  readonly s: readonly [number, number, number, number];
}

/** splitmix32 step: returns the next output and the advanced counter. */
function splitmix32(x: number): [out: number, next: number] {
  const next = (x + 0x9e3779b9) >>> 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  z = (z ^ (z >>> 16)) >>> 0;
  return [z, next];
}

/**
 * Mixes two unsigned 32-bit integers into one seed (used to derive per-epoch /
 * per-batch sub-streams from a parent draw).
 *
 * @param a - first word
 * @param b - second word
 * @returns a well-mixed unsigned 32-bit integer
 */
export function mixSeeds(a: number, b: number): number {
  const [x] = splitmix32((a >>> 0) ^ Math.imul(b >>> 0, 0x27d4eb2d));
  const [y] = splitmix32(x ^ (b >>> 0));
  return y;
}

/** xoshiro128** generator with save/restore of its state. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(s: readonly [number, number, number, number]) {
    [this.s0, this.s1, this.s2, this.s3] = s.map((v) => v >>> 0) as [number, number, number, number];
  }

  /**
   * Creates a generator from an integer seed.
   *
   * @param seed - any finite integer (taken modulo 2^32)
   * @throws LatpruneError `BAD_ARGUMENT` when the seed is not a finite integer
   */
  static fromSeed(seed: number): Rng {
    if (!Number.isInteger(seed)) {
      throw new LatpruneError('BAD_ARGUMENT', `Rng seed must be a finite integer, got ${seed}; pass e.g. --seed 0.`);
    }
    let x = seed >>> 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [out, next] = splitmix32(x);
      words.push(out);
      x = next;
    }
    // The all-zero state is the only invalid one; splitmix32 cannot emit four zeros
    // in a row, but guard anyway.
    if (!words.some((w) => w !== 0)) words[0] = 1;
    return new Rng(words as [number, number, number, number]);
  }

  /**
   * Restores a generator from a state returned by {@link Rng.getState}.
   *
   * @param state - a previously saved state (e.g. from a checkpoint JSON)
   * @throws LatpruneError `SCHEMA` when the state is malformed
   */
  static fromState(state: RngState): Rng {
    const ok =
      state !== null &&
      typeof state === 'object' &&
      state.algorithm === 'xoshiro128**' &&
      Array.isArray(state.s) &&
      state.s.length === 4 &&
      state.s.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) &&
      state.s.some((w) => w !== 0);
    if (!ok) {
      throw new LatpruneError(
        'SCHEMA',
        `Invalid RNG state ${JSON.stringify(state)}: expected {algorithm: "xoshiro128**", s: [4 non-all-zero uint32]}; ` +
          'the checkpoint may be corrupt or from another version.',
      );
    }
    return new Rng(state.s);
  }

  /** Returns a copy of the current state; restoring it replays the identical stream. */
  getState(): RngState {
    return { algorithm: 'xoshiro128**', s: [this.s0, this.s1, this.s2, this.s3] };
  }

  /** Returns an independent generator with the same state. */
  clone(): Rng {
    return Rng.fromState(this.getState());
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Next float uniformly distributed in [0, 1) with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /**
   * Uniform integer in [0, n) without modulo bias (rejection sampling).
   *
   * @param n - exclusive upper bound, 1 <= n <= 2^32
   */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) {
      throw new LatpruneError('BAD_ARGUMENT', `Rng.nextInt bound must be an integer in [1, 2^32], got ${n}.`);
    }
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Next boolean with probability 1/2. */
  nextBool(): boolean {
    return (this.nextUint32() & 0x80000000) !== 0;
  }

  /**
   * Shuffles `arr` in place (Fisher-Yates) and returns it.
   *
   * @param arr - array or typed array to permute
   */
  shuffle<T extends { length: number; [i: number]: number }>(arr: T): T;
  shuffle<U>(arr: U[]): U[];
  shuffle(arr: { length: number; [i: number]: unknown }): unknown {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = arr[i];
      arr[i] = arr[j];
      arr[j] = tmp;
    }
    return arr;
  }

  /**
   * A random permutation of 0..n-1.
   *
   * @param n - length of the permutation
   */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
