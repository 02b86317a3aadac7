/**
 * The `latprune` command line: commander parses, each command lives in its own
 * module under `commands/` and reports an exit code.
 */
import { Command, CommanderError } from 'commander';
import { LatpruneError } from '../errors.js';
import { latpruneVersion } from './doctor.js';
import { commandContext, type CliIO } from './context.js';
import { registerDoctor } from './commands/doctor.js';
import { registerTrain } from './commands/train.js';
import { registerEval } from './commands/eval.js';
import { registerZoo } from './commands/zoo.js';
import { registerSolve } from './commands/solve.js';
import { registerProfile } from './commands/profile.js';
import { registerPrune } from './commands/prune.js';
import { registerExport } from './commands/export.js';
import { registerVerify } from './commands/verify.js';
import { registerCompare } from './commands/compare.js';
import { registerDemo } from './commands/demo.js';

export type { CliIO } from './context.js';

const stdio: CliIO = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

/** Builds the command tree; `setExit` receives each action's exit code. */
export function buildProgram(io: CliIO, setExit: (code: number) => void, argvForCard: readonly string[] = []): Command {
  const program = new Command('latprune')
    .description('Latency-aware structured pruning of CNNs: profile, score, solve, train (IEE/HALP), export, verify')
    .version(latpruneVersion())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  const ctx = commandContext(io, setExit, argvForCard);
  for (const register of [
    registerDoctor,
    registerTrain,
    registerEval,
    registerZoo,
    registerSolve,
    registerProfile,
    registerPrune,
    registerExport,
    registerVerify,
    registerCompare,
    registerDemo,
  ]) {
    register(program, ctx);
  }
  return program;
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and returns the
 * process exit code: 0 success, 1 a check failed (e.g. FPS target not met),
 * 2 bad input or an error.
 */
export async function main(argv: string[], io: CliIO = stdio): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => (code = c), argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof LatpruneError) {
      io.err(`latprune: error: ${err.message}`);
      return 2;
    }
    // not one of ours (a runtime, the file system, a bug): still a prompt, non-zero exit
    const e = err instanceof Error ? err : new Error(String(err));
    io.err(
      `latprune: error: ${e.message}${process.env['LATPRUNE_DEBUG'] ? `\n${e.stack ?? ''}` : ' (set LATPRUNE_DEBUG=1 for the stack)'}`,
    );
    return 2;
  }
}
