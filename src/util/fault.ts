/**
 * Fault injection for the clean-up tests: `LATPRUNE_FAULT=<point>[@<n>]` makes
 * the n-th pass (default the first) through the named point throw. Points:
 * `grad-worker-step` (inside a data-parallel gradient worker's step),
 * `decode-worker-task` (inside an image-folder decode worker's task) and
 * `prune-boundary` (in `prune`, between two engine steps). Worker threads
 * inherit the variable. Unset, a point costs one environment lookup.
 */

const hits = new Map<string, number>();

/** Throws an `Error` naming `point` when `LATPRUNE_FAULT` selects this pass through it. */
export function faultPoint(point: string): void {
  const spec = process.env['LATPRUNE_FAULT'];
  if (!spec) return;
  const [name, nth] = spec.split('@');
  if (name !== point) return;
  const n = (hits.get(point) ?? 0) + 1;
  hits.set(point, n);
  if (n === Number(nth ?? 1)) throw new Error(`injected fault at ${point} (LATPRUNE_FAULT=${spec})`);
}
