/**
 * An in-memory {@link CliIO} for running `main()` in-process: the lines the
 * command printed to stdout and stderr.
 */
import type { CliIO } from '../../src/cli/main.js';

/** A {@link CliIO} collecting its lines. */
export interface CapturedIO extends CliIO {
  readonly outLines: string[];
  readonly errLines: string[];
}

/** A fresh {@link CapturedIO}. */
export function capture(): CapturedIO {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return { outLines, errLines, out: (l) => outLines.push(l), err: (l) => errLines.push(l) };
}
