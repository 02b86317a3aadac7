/**
 * Error type used across latprune.
 *
 * Every error carries a stable machine-readable {@link LatpruneErrorCode} and a
 * message that names the offending file, layer or flag and says what to do.
 */

/** Stable error codes; callers may switch on them. */
export type LatpruneErrorCode =
  | 'BAD_ARGUMENT'
  | 'BAD_FILE'
  | 'BACKEND_UNAVAILABLE'
  | 'UNSUPPORTED_LAYER'
  | 'SCHEMA'
  | 'RUNTIME'
  | 'DIVERGED'
  | 'INFEASIBLE'
  | 'NOT_FOUND';

/** The error class thrown by latprune for user-facing problems. */
export class LatpruneError extends Error {
  /** Stable code describing the class of problem. */
  readonly code: LatpruneErrorCode;

  /**
   * @param code - stable error code
   * @param message - what went wrong, naming the file/layer/flag, and what to do
   * @param options - standard `ErrorOptions` (e.g. `cause`)
   */
  constructor(code: LatpruneErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LatpruneError';
    this.code = code;
  }
}

/**
 * Throws a {@link LatpruneError} when `cond` is false. The message is built lazily.
 *
 * @param cond - condition that must hold
 * @param code - error code used when it does not
 * @param message - thunk producing the message
 */
export function check(cond: unknown, code: LatpruneErrorCode, message: () => string): asserts cond {
  if (!cond) throw new LatpruneError(code, message());
}
