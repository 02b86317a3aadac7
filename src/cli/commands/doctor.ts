/**
 * `latprune doctor`.
 */
import { initBackend } from '../../backend/index.js';
import { doctorReport, formatDoctor } from '../doctor.js';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

/** Registers `latprune doctor`. */
export function registerDoctor(program: Command, ctx: CommandContext): void {
  const { io, setExit } = ctx;
  program
    .command('doctor')
    .description("report the tfjs backend, ONNX Runtime, CPU and this device's fingerprint")
    .addOption(ctx.backendOption())
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
}
