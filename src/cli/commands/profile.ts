/**
 * `latprune profile / lut`.
 */
import { mergeCommand, profileCommand, showCommand } from '../profile.js';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

/** Registers `latprune profile / lut`. */
export function registerProfile(program: Command, ctx: CommandContext): void {
  const { io, setExit, backend, num } = ctx;
  program
    .command('profile')
    .description('build a latency lookup table for a model on this device (resumable; --shard i/n to split)')
    .requiredOption('--model <name|path>', 'zoo name, tfjs model.json / folder, or ONNX file')
    .option('--batch <n>', 'batch size', num, 1)
    .option('--input <HxWxC>', "input shape for a zoo model (default: the zoo model's)")
    .option('--classes <n>', 'classes for a zoo model', num)
    .option('--runtime <name>', 'ort (ONNX Runtime) or tfjs (the active tfjs backend)', 'ort')
    .option('--ep <name>', 'ONNX Runtime execution provider: cpu, webgpu (GPU through Dawn/Vulkan) or cuda', 'cpu')
    .option('--threads <n>', 'intra-op threads (default: one per core)', num)
    .option('--step <n>', 'smallest channel step of the grid', num, 8)
    .option('--points <n>', 'grid values per axis and layout regime', num, 8)
    .option('--refine <n>', 'adaptive refinement passes', num, 2)
    .option('--reference-every <n>', 'time the drift reference after every n entries and put entries on its scale (0: off)', num, 4)
    .option('--calibrate <n>', 'whole networks measured to calibrate the estimate (0: skip)', num, 32)
    .option('--recalibrate', 'measure whole networks again and refit the calibration of a finished table', false)
    .option('--shard <i/n>', 'profile only shard i of n (join with `latprune lut merge`)')
    .option('--out <file>', 'table file (default latency-tables/<device>/<model>-b<batch>-<runtime>.json)')
    .addOption(ctx.backendOption())
    .action(async (o: Record<string, unknown>) => {
      await backend(o['backend'] as string | undefined);
      setExit(
        await profileCommand(
          {
            model: o['model'] as string,
            batch: o['batch'] as number,
            ...(o['input'] ? { input: o['input'] as string } : {}),
            ...(o['classes'] ? { classes: o['classes'] as number } : {}),
            runtime: o['runtime'] as string,
            ep: o['ep'] as string,
            ...(o['threads'] !== undefined ? { threads: o['threads'] as number } : {}),
            step: o['step'] as number,
            points: o['points'] as number,
            refine: o['refine'] as number,
            referenceEvery: o['referenceEvery'] as number,
            calibrate: o['calibrate'] as number,
            recalibrate: o['recalibrate'] as boolean,
            ...(o['shard'] ? { shard: o['shard'] as string } : {}),
            ...(o['out'] ? { out: o['out'] as string } : {}),
            tablesRoot: 'latency-tables',
          },
          (l) => io.err(l),
        ),
      );
    });
  const lut = program.command('lut').description('latency table utilities');
  lut
    .command('merge')
    .description('join shard tables of one build (refuses shards from another device)')
    .requiredOption('--out <file>', 'merged table')
    .argument('<shards...>', 'shard tables')
    .action(async (shards: string[], o: { out: string }) => setExit(await mergeCommand(o.out, shards, (l) => io.err(l))));
  lut
    .command('show')
    .description('summarise a table and check it against this device')
    .argument('<file>', 'table')
    .action(async (file: string) =>
      setExit(
        await showCommand(
          file,
          (l) => io.err(l),
          (l) => io.out(l),
        ),
      ),
    );
}
