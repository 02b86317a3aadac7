/**
 * Validating a command's options against its zod schema before any work,
 * with messages that name each bad option by its flag.
 */
import { z } from 'zod';
import { LatpruneError } from '../errors.js';

/**
 * A whole-number option of at least `min`: the one rule every command's
 * schema uses for counts, sizes and indices, so each says alike what is wrong
 * (`must be a number` for a flag that is not one, `must be a whole number`
 * for 1.5, `must be <what>` below the bound).
 *
 * @param min - the smallest value allowed
 * @param what - how the bound reads after "must be" (default `at least <min>`)
 */
export function wholeNumber(min: number, what = `at least ${min}`): z.ZodNumber {
  return z.number({ invalid_type_error: 'must be a number' }).int('must be a whole number').min(min, `must be ${what}`);
}

/** How {@link parseOptions} names options in its message. */
export interface OptionNaming {
  /** The CLI flag of each option path (e.g. `{ targetFps: '--target-fps', 'iee.omega': '--omega' }`). */
  readonly flags: Readonly<Record<string, string>>;
  /**
   * Also give each option's path, as a `--config` file addresses it
   * (`--omega (iee.omega)`; unnamed root issues read `options: ...`).
   * Default false: the flag alone for a top-level option.
   */
  readonly paths?: boolean;
  /** A missing section named by the field it needs (e.g. `{ latency: ['latency', 'table'] }`). */
  readonly required?: Readonly<Record<string, ReadonlyArray<string>>>;
  /** A message of the caller's own for an issue (unions, discriminators), or undefined for the default. */
  readonly message?: (issue: z.ZodIssue) => string | undefined;
}

/** The value at `path` of `input` (undefined when absent). */
function valueAt(input: unknown, path: ReadonlyArray<string | number>): unknown {
  let cur = input;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

/** The flag of the longest prefix of `path` that has one, with the path where asked; else the path. */
function optionName(path: ReadonlyArray<string | number>, n: OptionNaming): string {
  const key = path.join('.');
  for (let i = path.length; i > 0; i--) {
    const flag = n.flags[path.slice(0, i).join('.')];
    if (flag === undefined) continue;
    // a top-level option is named by its flag alone unless paths are asked for; a nested one also by its path
    return n.paths || path.length > 1 ? `${flag} (${key})` : flag;
  }
  return key || 'options';
}

function issueText(issue: z.ZodIssue, input: unknown, n: OptionNaming): string {
  const own = n.message?.(issue);
  if (own !== undefined) return own;
  // an issue at the root (a rule over several options) says which in its message
  const prefix = issue.path.length > 0 || n.paths ? `${optionName(issue.path, n)}: ` : '';
  if (issue.code === 'unrecognized_keys') return `${prefix}unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
  if (issue.code === 'invalid_type' && issue.received === 'undefined')
    return `${optionName(n.required?.[issue.path.join('.')] ?? issue.path, n)} is required`;
  const got = valueAt(input, issue.path);
  // NaN (a flag that is not a number) would print as null
  const shown = typeof got === 'number' && !Number.isFinite(got) ? String(got) : JSON.stringify(got);
  return `${prefix}${issue.message}${got !== undefined && typeof got !== 'object' ? `, got ${shown}` : ''}`;
}

/**
 * Validates `input` against `schema` and fills in its defaults.
 *
 * @param schema - the command's options schema
 * @param input - the options as given (flags mapped onto the schema's keys, a `--config` file, or library input)
 * @param naming - how options are named in the message (see {@link OptionNaming})
 * @param origin - the command or file the options came from, first in the message
 * @throws LatpruneError `BAD_ARGUMENT` naming every bad option by its flag, with the value given
 */
export function parseOptions<S extends z.ZodTypeAny>(schema: S, input: unknown, naming: OptionNaming, origin: string): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data as z.output<S>;
  const lines = r.error.issues.map((issue) => issueText(issue, input, naming));
  throw new LatpruneError('BAD_ARGUMENT', `${origin}: ${[...new Set(lines)].join('; ')}.`);
}
