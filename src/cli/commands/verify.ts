/**
 * `latprune verify`.
 */
import { initBackend } from '../../backend/index.js';
import { verifyOnnx } from '../../verify/index.js';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

/** Registers `latprune verify`. */
export function registerVerify(program: Command, ctx: CommandContext): void {
  const { io, setExit, num } = ctx;
  program
    .command('verify')
    .description(
      "measure an ONNX model's FPS with ONNX Runtime against a target (exit 1 if not met), a latency table, and the speed-up over a baseline model timed in alternation",
    )
    .argument('<model.onnx>', 'ONNX model')
    .option('--target-fps <n>', 'required throughput (images/s)', num)
    .option('--batch <n>', "batch size (default: the export's table batch, else 1)", num)
    .option('--ep <name>', 'execution provider: cpu, webgpu (GPU through Dawn/Vulkan) or cuda', 'cpu')
    .option('--threads <n>', 'intra-op threads (default: one per core)', num)
    .option('--lut <file>', 'latency table to compare the prediction with')
    .option(
      '--baseline <model.onnx>',
      'also time this model (e.g. the dense export) in alternation with the first and report the speed-up over it',
    )
    .option('--target-speedup <x>', 'required speed-up over --baseline (exit 1 if not met)', num)
    .option('--json', 'print one JSON object')
    .addOption(ctx.backendOption())
    .action(
      async (
        file: string,
        o: {
          targetFps?: number;
          batch?: number;
          ep: string;
          threads?: number;
          lut?: string;
          baseline?: string;
          targetSpeedup?: number;
          json?: boolean;
          backend?: string;
        },
      ) => {
        if (o.lut) await initBackend({ requested: o.backend });
        const r = await verifyOnnx(
          {
            model: file,
            ep: o.ep,
            ...(o.targetFps !== undefined ? { targetFps: o.targetFps } : {}),
            ...(o.batch !== undefined ? { batch: o.batch } : {}),
            ...(o.threads !== undefined ? { threads: o.threads } : {}),
            ...(o.lut ? { lut: o.lut } : {}),
            ...(o.baseline ? { baseline: o.baseline } : {}),
            ...(o.targetSpeedup !== undefined ? { targetSpeedup: o.targetSpeedup } : {}),
          },
          (l) => io.err(l),
        );
        io.out(o.json ? JSON.stringify(r) : r.verdict);
        setExit(r.met === false ? 1 : 0);
      },
    );
}
