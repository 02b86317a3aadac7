/**
 * The built-in pruning methods, by name: IEE (the default) and the HALP
 * baseline. A new method implements {@link PruneMethod} and is passed to
 * `PruneEngine.start` like these.
 */
import { LatpruneError } from '../errors.js';
import { HALP } from './halp.js';
import { IEE } from './iee.js';
import type { PruneMethod } from './method.js';

/** Names of the built-in methods. */
export type MethodName = 'iee' | 'halp';

/** The built-in methods by name. */
export const BUILTIN_METHODS: Readonly<Record<MethodName, PruneMethod>> = { iee: IEE, halp: HALP };

/**
 * The built-in method called `name`.
 *
 * @throws LatpruneError `BAD_ARGUMENT` naming the known methods
 */
export function pruneMethod(name: string): PruneMethod {
  const m = (BUILTIN_METHODS as Record<string, PruneMethod | undefined>)[name];
  if (!m)
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `--method: unknown pruning method "${name}"; use one of ${Object.keys(BUILTIN_METHODS).join(', ')}.`,
    );
  return m;
}
