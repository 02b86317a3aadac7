/**
 * `latprune demo`.
 */
import os from 'node:os';
import { DEMO_ITERATIONS, runDemo } from '../demo.js';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

/** Registers `latprune demo`. */
export function registerDemo(program: Command, ctx: CommandContext): void {
  const { io, setExit, backend, num } = ctx;
  program
    .command('demo')
    .description(
      'end to end on the pretrained ResNet-20 + Fashion-MNIST: table, HALP with distillation to 2x FPS, ONNX export, FPS check, report (runs/demo)',
    )
    .option('--out <dir>', 'output directory', 'runs/demo')
    .option('--iterations <n>', 'training iterations of the pruning run (batch 128)', num, DEMO_ITERATIONS)
    .option('--workers <n>', 'threads per batch', num, Math.min(2, os.cpus().length))
    .addOption(ctx.backendOption())
    .action(async (o: { out: string; iterations: number; workers: number; backend?: string }) => {
      const info = await backend(o.backend);
      setExit(
        await runDemo(
          { out: o.out, iterations: o.iterations, workers: o.workers, backend: info.tfjsName },
          (l) => io.err(l),
          (l) => io.out(l),
        ),
      );
    });
}
