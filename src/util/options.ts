/**
 * Validating a command's options against its zod schema before any work,
 * with messages that name each bad option by its flag.
 */
import type { z } from 'zod';
import { LatpruneError } from '../errors.js';

/** The value at `path` of `input` (undefined when absent). */
function valueAt(input: unknown, path: ReadonlyArray<string | number>): unknown {
  let cur = input;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

/** `--flag (path)` for the longest prefix of `path` with a flag, else the path. */
function optionName(path: ReadonlyArray<string | number>, flags: Readonly<Record<string, string>>): string {
  const key = path.join('.');
  for (let n = path.length; n > 0; n--) {
    const flag = flags[path.slice(0, n).join('.')];
    // a top-level option is named by its flag alone; a nested one also by its path
    if (flag !== undefined) return path.length === 1 ? flag : `${flag} (${key})`;
  }
  return key || 'options';
}

/**
 * Validates `input` against `schema` and fills in its defaults.
 *
 * @param schema - the command's options schema
 * @param input - the options as given (flags mapped onto the schema's keys, or library input)
 * @param flags - the CLI flag of each option path (e.g. `{ targetFps: '--target-fps' }`)
 * @param origin - the command or file the options came from, first in the message
 * @throws LatpruneError `BAD_ARGUMENT` naming every bad option by its flag, with the value given
 */
export function parseOptions<S extends z.ZodTypeAny>(
  schema: S,
  input: unknown,
  flags: Readonly<Record<string, string>>,
  origin: string,
): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data as z.output<S>;
  const lines = r.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    if (issue.code === 'invalid_type' && issue.received === 'undefined') return `${optionName(issue.path, flags)} is required`;
    // a rule over several options says which in its message
    if (issue.path.length === 0) return issue.message;
    const got = valueAt(input, issue.path);
    return `${optionName(issue.path, flags)}: ${issue.message}${got !== undefined && typeof got !== 'object' ? `, got ${JSON.stringify(got)}` : ''}`;
  });
  throw new LatpruneError('BAD_ARGUMENT', `${origin}: ${[...new Set(lines)].join('; ')}.`);
}
