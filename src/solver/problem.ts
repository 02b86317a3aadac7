/**
 * The separable channel-selection problem: pure, JSON-serialisable data.
 *
 * A problem has channel groups; for each group the solver picks how many
 * channels stay (`k`, from the group's kept-count domain). Channels are kept in
 * importance order, so the value of keeping `k` is a prefix sum of the group's
 * descending importance list. Each allowed `k` has a latency cost; the total
 * latency `baseLatency + Σ cost_g(k_g)` must fit the budget.
 *
 * The same shape serves both halves of an IEE step:
 * - prune: `fixed = 0`, `values` are the scores of the active channels;
 * - grow: `fixed` = the active channels (always kept), `values` are the
 *   exploration candidates, and `k` counts fixed + returned candidates.
 *
 * @packageDocumentation
 */

import { LatpruneError } from '../errors.js';

/** Format tag written into every serialised problem. */
export const PROBLEM_FORMAT = 'latprune.knapsack/1';

/**
 * Allowed kept counts of one group: every `k` with `min <= k <= max` and
 * `(k - min) % step === 0`.
 */
export interface KeepDomain {
  /** Smallest kept count (>= the group's `fixed`). */
  readonly min: number;
  /** Largest kept count (<= `fixed + values.length`). */
  readonly max: number;
  /** Granularity (>= 1): 8 keeps channel counts on multiples of 8 when `min` is one. */
  readonly step: number;
}

/** One channel group of a {@link KnapsackProblem}. */
export interface ProblemGroup {
  /** Unique group id (e.g. the graph's group name). */
  readonly id: string;
  /**
   * Importance of the candidate channels, sorted descending. Keeping `k`
   * channels is worth `sum(values[0 .. k - fixed))`.
   */
  readonly values: readonly number[];
  /** Channels that always stay (the active set when growing). Default 0. */
  readonly fixed?: number;
  /** The allowed kept counts `k` (fixed channels included). */
  readonly domain: KeepDomain;
  /**
   * Latency cost of each allowed `k`, in domain order (`costs[i]` is the cost of
   * `k = domain.min + i * domain.step`). Any finite number: costs may be
   * negative (marginal costs) and need not be monotone in `k`.
   */
  readonly costs: readonly number[];
}

/** A separable multiple-choice knapsack over channel groups. */
export interface KnapsackProblem {
  /** Format tag; {@link PROBLEM_FORMAT} when serialised. Optional in memory. */
  readonly format?: typeof PROBLEM_FORMAT;
  /** Latency budget: a choice is feasible when `baseLatency + Σ cost <= budget`. */
  readonly budget: number;
  /** Latency not modelled by the groups (added to every choice). Default 0. */
  readonly baseLatency?: number;
  /** The channel groups. */
  readonly groups: readonly ProblemGroup[];
  /** Free-form provenance (step, checkpoint, device...). */
  readonly meta?: Readonly<Record<string, string | number | boolean>>;
}

/** Number of kept counts in a domain. */
export function domainSize(d: KeepDomain): number {
  return Math.floor((d.max - d.min) / d.step) + 1;
}

/** The `i`-th kept count of a domain. */
export function domainValue(d: KeepDomain, i: number): number {
  return d.min + i * d.step;
}

/** All kept counts of a domain, ascending. */
export function domainValues(d: KeepDomain): number[] {
  const n = domainSize(d);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = d.min + i * d.step;
  return out;
}

/**
 * Value of each allowed `k` of a group: `prefix(values)[k - fixed]`.
 *
 * @param g - a valid group
 * @returns a Float64Array aligned with `costs`
 */
export function choiceValues(g: Pick<ProblemGroup, 'values' | 'fixed' | 'domain'>): Float64Array {
  const fixed = g.fixed ?? 0;
  const n = domainSize(g.domain);
  const out = new Float64Array(n);
  let acc = 0;
  let taken = 0;
  for (let i = 0; i < n; i++) {
    const upto = g.domain.min + i * g.domain.step - fixed;
    while (taken < upto) acc += g.values[taken++]!;
    out[i] = acc;
  }
  return out;
}

/** Value of keeping `k` channels of a group (prefix sum of its candidates). */
export function keepValue(g: Pick<ProblemGroup, 'values' | 'fixed'>, k: number): number {
  let acc = 0;
  const upto = k - (g.fixed ?? 0);
  for (let i = 0; i < upto; i++) acc += g.values[i]!;
  return acc;
}

/** Serialises a problem as JSON text (with the format tag), ready to save next to a checkpoint. */
export function problemToJson(p: KnapsackProblem, indent = 0): string {
  const out: KnapsackProblem = { format: PROBLEM_FORMAT, ...p };
  return JSON.stringify(out, null, indent);
}

const fail = (source: string, field: string, what: string): never => {
  throw new LatpruneError('SCHEMA', `${source}: ${field}: ${what}`);
};

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

const isInt = (x: unknown): x is number => finite(x) && Number.isInteger(x);

/**
 * Validates the shared group fields (id, values, fixed, domain) and returns
 * the domain size.
 */
export function validateGroupShape(g: unknown, at: string, source: string): number {
  if (!isRecord(g)) return fail(source, at, 'expected an object');
  if (typeof g['id'] !== 'string' || g['id'] === '') fail(source, `${at}.id`, 'expected a non-empty string');
  const values = g['values'];
  if (!Array.isArray(values)) return fail(source, `${at}.values`, 'expected an array of numbers');
  for (let i = 0; i < values.length; i++) {
    if (!finite(values[i])) fail(source, `${at}.values[${i}]`, `expected a finite number, got ${JSON.stringify(values[i])}`);
    if (i > 0 && (values[i] as number) > (values[i - 1] as number)) {
      fail(
        source,
        `${at}.values[${i}]`,
        `values must be sorted descending (importance order), but ${values[i]} > ${values[i - 1]}; sort the candidates before building the problem`,
      );
    }
  }
  const fixed = g['fixed'] ?? 0;
  if (!isInt(fixed) || fixed < 0) fail(source, `${at}.fixed`, `expected a non-negative integer, got ${JSON.stringify(g['fixed'])}`);
  const d = g['domain'];
  if (!isRecord(d)) return fail(source, `${at}.domain`, 'expected {min, max, step}');
  for (const key of ['min', 'max', 'step'] as const) {
    if (!isInt(d[key])) fail(source, `${at}.domain.${key}`, `expected an integer, got ${JSON.stringify(d[key])}`);
  }
  const { min, max, step } = d as unknown as KeepDomain;
  const f = fixed as number;
  if (step < 1) fail(source, `${at}.domain.step`, `expected >= 1, got ${step}`);
  if (min < f) fail(source, `${at}.domain.min`, `${min} is below fixed=${f}; the fixed channels always stay`);
  if (max < min) fail(source, `${at}.domain.max`, `${max} is below domain.min=${min}`);
  if (max > f + values.length) {
    fail(
      source,
      `${at}.domain.max`,
      `${max} exceeds fixed + values.length = ${f + values.length}; add the missing candidates' scores or lower max`,
    );
  }
  return domainSize({ min, max, step });
}

/**
 * Validates an untrusted object (e.g. parsed JSON) as a {@link KnapsackProblem}.
 *
 * @param x - the candidate object
 * @param source - name used in error messages (the file name when loading)
 * @returns the same object, typed
 * @throws LatpruneError with code `SCHEMA`, naming the offending field
 */
export function validateProblem(x: unknown, source = 'problem'): KnapsackProblem {
  if (!isRecord(x)) return fail(source, '(root)', 'expected a JSON object with budget and groups');
  if (x['format'] !== undefined && x['format'] !== PROBLEM_FORMAT) {
    fail(source, 'format', `expected "${PROBLEM_FORMAT}", got ${JSON.stringify(x['format'])}`);
  }
  if (!finite(x['budget'])) fail(source, 'budget', `expected a finite number, got ${JSON.stringify(x['budget'])}`);
  if (x['baseLatency'] !== undefined && !finite(x['baseLatency'])) {
    fail(source, 'baseLatency', `expected a finite number, got ${JSON.stringify(x['baseLatency'])}`);
  }
  const meta = x['meta'];
  if (meta !== undefined) {
    if (!isRecord(meta)) fail(source, 'meta', 'expected an object of strings, numbers and booleans');
    for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
      if (typeof v !== 'string' && typeof v !== 'boolean' && !finite(v))
        fail(source, `meta.${k}`, 'expected a string, finite number or boolean');
    }
  }
  const groups = x['groups'];
  if (!Array.isArray(groups)) return fail(source, 'groups', 'expected an array');
  const ids = new Set<string>();
  groups.forEach((g: unknown, gi) => {
    const at = `groups[${gi}]`;
    const n = validateGroupShape(g, at, source);
    const gr = g as Record<string, unknown>;
    const id = gr['id'] as string;
    if (ids.has(id)) fail(source, `${at}.id`, `duplicate group id "${id}"`);
    ids.add(id);
    const costs = gr['costs'];
    if (!Array.isArray(costs)) return fail(source, `${at}.costs`, 'expected an array of numbers');
    if (costs.length !== n) {
      const d = gr['domain'] as KeepDomain;
      fail(
        source,
        `${at}.costs`,
        `expected ${n} entries (one per allowed k in domain {min:${d.min},max:${d.max},step:${d.step}}), got ${costs.length}`,
      );
    }
    costs.forEach((c: unknown, i) => {
      if (!finite(c)) fail(source, `${at}.costs[${i}]`, `expected a finite number, got ${JSON.stringify(c)}`);
    });
    return undefined;
  });
  return x as unknown as KnapsackProblem;
}

/**
 * Parses and validates problem JSON text.
 *
 * @param text - JSON text
 * @param source - name used in error messages (the file name)
 * @throws LatpruneError `BAD_FILE` for invalid JSON, `SCHEMA` for a bad field
 */
export function parseProblem(text: string, source = 'problem'): KnapsackProblem {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (e) {
    throw new LatpruneError('BAD_FILE', `${source}: not valid JSON (${(e as Error).message}); regenerate the problem file`, { cause: e });
  }
  return validateProblem(x, source);
}
