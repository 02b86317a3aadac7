/**
 * What every command of the CLI receives: where output goes, how it reports
 * its exit code, and the shared set-up (tfjs backend, the `--backend` flag).
 */
import { Option } from 'commander';
import { BACKEND_NAMES, initBackend, type BackendInfo } from '../backend/index.js';

/** Where command output goes (replaceable in tests). */
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
}

/** The shared context of the commands. */
export interface CommandContext {
  readonly io: CliIO;
  /** Receives the command's exit code. */
  readonly setExit: (code: number) => void;
  /** Initialises the tfjs backend (flag or environment) and prints which one is active. */
  readonly backend: (requested: string | undefined) => Promise<BackendInfo>;
  /** The `--backend` option. */
  readonly backendOption: () => Option;
  /** A numeric flag's parser. */
  readonly num: (v: string) => number;
  /** The command line, as recorded in run files and model cards. */
  readonly command: string;
}

/** The context of one CLI invocation. */
export function commandContext(io: CliIO, setExit: (code: number) => void, argv: readonly string[]): CommandContext {
  return {
    io,
    setExit,
    backend: async (requested) => {
      const info = await initBackend({ requested });
      io.err(info.summary);
      return info;
    },
    backendOption: () =>
      new Option('--backend <name>', `tfjs backend (${BACKEND_NAMES.join(', ')}); default: fastest available, or LATPRUNE_BACKEND`),
    num: (v) => Number(v),
    command: ['latprune', ...argv].join(' '),
  };
}
