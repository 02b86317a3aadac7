/**
 * Numeric comparisons for tests: relative error against a reference, and an
 * element-wise closeness assertion naming the first element off.
 */
import assert from 'node:assert/strict';

/** max |a - b| over max(|b|, 1e-12): the error relative to the reference `b`'s scale. Asserts equal lengths. */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let scale = 1e-12;
  let err = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
  }
  return err / scale;
}

/** Asserts |actual - expected| <= atol + rtol * |expected| element-wise (and equal lengths), naming `what` and the index. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-4, atol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    assert.ok(Math.abs(a - e) <= atol + rtol * Math.abs(e), `${what}[${i}]: got ${a}, expected ${e}`);
  }
}
