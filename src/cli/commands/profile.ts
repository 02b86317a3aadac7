/**
 * `latprune profile / lut`.
 */
import { mergeCommand, parseInput, parseShard, profileCommand, showCommand } from '../profile.js';
import { parseProfileOptions, type ProfileTableOptions } from '../../latency/index.js';
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
    .action(
      async (o: {
        model: string;
        batch: number;
        input?: string;
        classes?: number;
        runtime: string;
        ep: string;
        threads?: number;
        step: number;
        points: number;
        refine: number;
        referenceEvery: number;
        calibrate: number;
        recalibrate: boolean;
        shard?: string;
        out?: string;
        backend?: string;
      }) => {
        const options: ProfileTableOptions = {
          model: o.model,
          batch: o.batch,
          ...(o.input !== undefined ? { input: parseInput(o.input) } : {}),
          ...(o.classes !== undefined ? { classes: o.classes } : {}),
          // checked by profileOptionsSchema, which names the flag
          runtime: o.runtime as ProfileTableOptions['runtime'],
          ep: o.ep,
          ...(o.threads !== undefined ? { threads: o.threads } : {}),
          grid: { step: o.step, points: o.points, refine: o.refine },
          referenceEvery: o.referenceEvery,
          calibrate: o.calibrate,
          recalibrate: o.recalibrate,
          ...(o.shard !== undefined ? { shard: parseShard(o.shard) } : {}),
          ...(o.out !== undefined ? { out: o.out } : {}),
          tablesRoot: 'latency-tables',
        };
        // bad options are refused before the backend is set up
        parseProfileOptions(options);
        await backend(o.backend);
        setExit(await profileCommand(options, (l) => io.err(l)));
      },
    );
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
