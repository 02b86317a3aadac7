/**
 * The `latprune` command line. Parsing with commander; each command's work
 * lives in its module and returns an exit code.
 */
import { Command, CommanderError, Option } from 'commander';
import { LatpruneError } from '../errors.js';
import { BACKEND_NAMES, initBackend } from '../backend/index.js';
import { doctorReport, formatDoctor, latpruneVersion } from './doctor.js';

/** Where command output goes (replaceable in tests). */
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
}

const stdio: CliIO = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

function backendOption(): Option {
  return new Option('--backend <name>', `tfjs backend (${BACKEND_NAMES.join(', ')}); default: fastest available, or LATPRUNE_BACKEND`);
}

/** Builds the command tree; `setExit` receives each action's exit code. */
export function buildProgram(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command('latprune')
    .description('Latency-aware structured pruning of CNNs: profile, score, solve, train (IEE/HALP), export, verify')
    .version(latpruneVersion())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  program
    .command('doctor')
    .description('report the tfjs backend, ONNX Runtime, CPU and this device\'s fingerprint')
    .addOption(backendOption())
    .option('--json', 'print one JSON object')
    .action(async (opts: { backend?: string; json?: boolean }) => {
      const info = await initBackend({ requested: opts.backend });
      const report = await doctorReport();
      if (opts.json) io.out(JSON.stringify(report));
      else {
        io.err(info.summary);
        for (const line of formatDoctor(report)) io.out(line);
      }
      setExit(0);
    });

  program
    .command('demo')
    .description('end to end on the embedded default: profile, prune with IEE to 2x FPS, export ONNX, verify')
    .action(() => {
      io.err('latprune demo: not yet available (the end-to-end demo lands with the export/verify issue).');
      setExit(0);
    });

  return program;
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and returns the
 * process exit code: 0 success, 1 a check failed (e.g. FPS target not met),
 * 2 bad input or an error.
 */
export async function main(argv: string[], io: CliIO = stdio): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof LatpruneError) {
      io.err(`latprune: error: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
