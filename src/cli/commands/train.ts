/**
 * `latprune train`.
 */
import { addDataOptions, dataSpecFromFlags, type DataFlagValues } from '../data-flag.js';
import { aboutChance, runTraining } from '../../train/index.js';
import { runDataOptions } from '../../data/index.js';
import { zooNames } from '../../zoo/index.js';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

/** Registers `latprune train`. */
export function registerTrain(program: Command, ctx: CommandContext): void {
  const { io, setExit, backend, num } = ctx;
  const cmd = program
    .command('train')
    .description('train a zoo model, a tfjs model or an ONNX file on a dataset or an image folder (checkpoints, --resume, metrics JSONL)')
    .requiredOption('--model <name|path>', `zoo name (${zooNames().join(', ')}), tfjs model.json / folder, or ONNX file`);
  addDataOptions(cmd, { training: true, hideAdvanced: false })
    .option('--train-subset <n>', 'use only the first n training images', num)
    .option('--epochs <n>', 'epochs', num, 10)
    .option('--batch <n>', 'batch size', num, 128)
    .option('--lr <x>', 'peak learning rate', num, 0.1)
    .option('--momentum <x>', 'SGD momentum', num, 0.9)
    .option('--nesterov', 'Nesterov momentum', false)
    .option('--weight-decay <x>', 'L2 weight decay (not on BN and biases)', num, 5e-4)
    .option('--warmup-epochs <x>', 'linear warm-up epochs before the cosine decay', num, 0.5)
    .option('--label-smoothing <x>', 'label smoothing', num, 0)
    .option('--seed <n>', 'seed (initialisation, shuffling)', num, 1)
    .option('--workers <n>', 'threads per batch (data parallel; 1 = main thread only)', num, 1)
    .option('--checkpoint-every <steps>', 'checkpoint interval in steps (also at each epoch end)', num, 100)
    .option('--max-steps <n>', 'stop after n steps in this invocation (continue with --resume)', num)
    .requiredOption('--out <dir>', 'run directory (checkpoint.ckpt, metrics.jsonl, config.json)')
    .option('--resume', 'continue the run in --out', false)
    .option('--save-model <dir>', 'save the trained model (tfjs format) and MODEL_CARD.md here')
    .addOption(ctx.backendOption())
    .action(async (o: Record<string, unknown>) => {
      const info = await backend(o['backend'] as string | undefined);
      const { spec, preprocessFile } = dataSpecFromFlags(o as DataFlagValues);
      const r = await runTraining(
        {
          model: o['model'] as string,
          ...runDataOptions(
            { ...spec, ...(o['trainSubset'] !== undefined ? { trainSubset: o['trainSubset'] as number } : {}) },
            preprocessFile,
          ),
          epochs: o['epochs'] as number,
          batchSize: o['batch'] as number,
          lr: o['lr'] as number,
          momentum: o['momentum'] as number,
          nesterov: o['nesterov'] as boolean,
          weightDecay: o['weightDecay'] as number,
          warmupEpochs: o['warmupEpochs'] as number,
          labelSmoothing: o['labelSmoothing'] as number,
          seed: o['seed'] as number,
          workers: o['workers'] as number,
          out: o['out'] as string,
          resume: o['resume'] as boolean,
          checkpointEvery: o['checkpointEvery'] as number,
          ...(o['saveModel'] ? { saveModel: o['saveModel'] as string } : {}),
          ...(o['maxSteps'] !== undefined ? { maxSteps: o['maxSteps'] as number } : {}),
          command: ctx.command,
        },
        info.tfjsName,
        (l) => io.err(l),
      );
      io.out(JSON.stringify({ ...r, test_top1: r.testTop1 }));
      // a finished run that ends about chance learned nothing: say so and exit 1 (a short run's
      // batch-norm statistics, a too-high --lr, or labels that do not match the images)
      if (r.finished && r.testTop1 !== undefined && aboutChance(r.testTop1, r.numClasses)) {
        io.out(
          `FAIL: the model learned nothing: test top-1 ${(100 * r.testTop1).toFixed(2)}%, chance ${(100 / r.numClasses).toFixed(0)}% after ${r.steps} steps. Train longer (--epochs), lower --lr, or check the data.`,
        );
        setExit(1);
      } else setExit(0);
    });
}
