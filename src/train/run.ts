/**
 * `latprune train`: train a zoo model or a user's tfjs model on a dataset,
 * with checkpoints every few minutes, `--resume`, metrics as JSONL and a
 * progress bar; optionally save the trained model with a model card.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LatpruneError } from '../errors.js';
import { runDataSpec, type BatchCursor, type BatchSource, type RunDataOptions } from '../data/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { openRunCheckpoint, restoreWeights, saveCheckpoint } from './checkpoint.js';
import { saveModel } from '../model/index.js';
import { startProgress } from '../util/progress.js';
import { Trainer, evaluateTestSplit, type TrainerConfig } from './trainer.js';
import { describePreprocess, noBatchNormAdvice, openModelAndData } from './setup.js';

/** Options of {@link runTraining} (the CLI flags). */
export interface TrainRunOptions extends RunDataOptions {
  /** Zoo name, or the path of a tfjs model.json / folder or an ONNX file. */
  readonly model: string;
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  readonly warmupEpochs: number;
  readonly labelSmoothing: number;
  readonly seed: number;
  readonly workers: number;
  /** Run directory (checkpoint, metrics, config). */
  readonly out: string;
  readonly resume: boolean;
  /** Save the final model (tfjs format + MODEL_CARD.md) here. */
  readonly saveModel?: string;
  /** Checkpoint every this many steps (and at each epoch end). */
  readonly checkpointEvery: number;
  /** Stop after this many steps in this invocation (for tests; resume continues). */
  readonly maxSteps?: number;
  /** The command line, recorded in the model card. */
  readonly command: string;
}

/** What a finished (or stopped) run reports. */
export interface TrainRunResult {
  readonly steps: number;
  readonly totalSteps: number;
  readonly finished: boolean;
  readonly testTop1?: number;
  readonly testLoss?: number;
  readonly trainSeconds: number;
  readonly imagesSeen: number;
  /** Where the model was saved (`--save-model`), when it was. */
  readonly savedModel?: string;
  /** Classes of the dataset (chance is 1 / numClasses). */
  readonly numClasses: number;
}

interface CheckpointMeta {
  readonly options: Omit<TrainRunOptions, 'resume' | 'maxSteps' | 'command'>;
  readonly cursor: BatchCursor;
  readonly step: number;
  readonly imagesSeen: number;
  readonly trainSeconds: number;
  readonly lastEval?: { epoch: number; top1: number; loss: number };
}

/** Options that must match between a run and its resumption. */
const RESUME_KEYS = [
  'model',
  'dataset',
  'trainSubset',
  'input',
  'mean',
  'std',
  'augment',
  'valFraction',
  'dataOrder',
  'epochs',
  'batchSize',
  'lr',
  'momentum',
  'nesterov',
  'weightDecay',
  'warmupEpochs',
  'labelSmoothing',
  'seed',
  'workers',
] as const;

function checkOptions(o: TrainRunOptions): void {
  const flag = (cond: boolean, name: string, v: unknown, want: string) => {
    if (!cond) throw new LatpruneError('BAD_ARGUMENT', `--${name} must be ${want}, got ${String(v)}.`);
  };
  flag(Number.isInteger(o.epochs) && o.epochs > 0, 'epochs', o.epochs, 'a positive integer');
  flag(Number.isInteger(o.batchSize) && o.batchSize > 0, 'batch', o.batchSize, 'a positive integer');
  flag(o.labelSmoothing >= 0 && o.labelSmoothing < 1, 'label-smoothing', o.labelSmoothing, 'in [0, 1)');
  flag(o.warmupEpochs >= 0 && o.warmupEpochs < o.epochs, 'warmup-epochs', o.warmupEpochs, 'in [0, epochs)');
  flag(Number.isInteger(o.checkpointEvery) && o.checkpointEvery > 0, 'checkpoint-every', o.checkpointEvery, 'a positive integer');
}

/** Runs (or resumes) a training run; see {@link TrainRunOptions}. */
export async function runTraining(opts: TrainRunOptions, backend: string, log: (line: string) => void): Promise<TrainRunResult> {
  checkOptions(opts);
  const ckptPath = join(opts.out, 'checkpoint.ckpt');
  const metricsPath = join(opts.out, 'metrics.jsonl');
  const resumed = await openRunCheckpoint<CheckpointMeta>(
    ckptPath,
    opts.out,
    opts.resume,
    opts as unknown as Record<string, unknown>,
    RESUME_KEYS,
  );

  const opened = await openModelAndData(opts.model, runDataSpec(opts), {
    seed: opts.seed,
    ...(opts.preprocess !== undefined ? { preprocessFile: opts.preprocess } : {}),
  });
  const { model, source, data } = opened;
  log(data.describe());
  log(describePreprocess(opened));
  const bnAdvice = noBatchNormAdvice(model, opts.lr);
  if (bnAdvice) log(bnAdvice.line);
  const numClasses = data.classNames.length;
  // everything from here runs under the finally below: the trainer may own worker
  // threads, and an error anywhere (a checkpoint that does not fit, a full disk, a
  // failed step) must not leave them running, or the process never exits
  let trainer: Trainer | undefined;
  let bar: ReturnType<typeof startProgress> | undefined;
  let stop = false;
  const onSignal = () => {
    stop = true;
    log('interrupt: finishing the current step and saving a checkpoint (Ctrl-C again to abort)');
    process.off('SIGINT', onSignal);
  };
  let iter: BatchSource | undefined;
  try {
    iter = data.openTrain({ batchSize: opts.batchSize, seed: opts.seed, ...(resumed ? { cursor: resumed.meta.cursor } : {}) });
    const it = iter;
    const totalSteps = opts.epochs * it.batchesPerEpoch;
    const config: TrainerConfig = {
      loss: { numClasses, labelSmoothing: opts.labelSmoothing },
      sgd: { momentum: opts.momentum, nesterov: opts.nesterov, weightDecay: opts.weightDecay },
      schedule: { baseLr: opts.lr, totalSteps, warmupSteps: Math.round(opts.warmupEpochs * it.batchesPerEpoch) },
      workers: opts.workers,
    };
    const tr = await Trainer.create(model, config, backend);
    trainer = tr;
    for (const note of tr.notes) log(note);
    let trainSeconds = 0;
    let lastEval = resumed?.meta.lastEval;
    if (resumed) {
      restoreWeights(model, resumed.weights, ckptPath);
      tr.setState({ step: resumed.meta.step, imagesSeen: resumed.meta.imagesSeen, optimizer: resumed.optimizer });
      trainSeconds = resumed.meta.trainSeconds;
      log(`resumed ${ckptPath} at step ${tr.step}/${totalSteps}`);
    } else {
      await mkdir(opts.out, { recursive: true });
      const { resume: _r, maxSteps: _m, ...saved } = opts;
      await writeFileAtomic(join(opts.out, 'config.json'), JSON.stringify({ ...saved, source, backend, trainer: config }, null, 2));
    }
    const { resume: _r, maxSteps: _m, command: _c, ...optionsForMeta } = opts;
    const checkpoint = async () =>
      saveCheckpoint<CheckpointMeta>(ckptPath, model, (await tr.readState()).optimizer, {
        options: optionsForMeta,
        cursor: it.cursor(),
        step: tr.step,
        imagesSeen: tr.imagesSeen,
        trainSeconds,
        ...(lastEval ? { lastEval } : {}),
      });

    process.on('SIGINT', onSignal);
    const stepLimit = opts.maxSteps === undefined ? totalSteps : Math.min(totalSteps, tr.step + opts.maxSteps);
    bar = startProgress(`train ${opts.model}`, totalSteps, tr.step, ['epoch', 'loss', 'lr', 'speed']);
    let window = { loss: 0, n: 0, images: 0, ms: 0 };
    while (tr.step < stepLimit && !stop) {
      const b = await it.next();
      let r;
      try {
        r = await tr.trainStep({ x: b.x, shape: b.shape, labels: b.labels });
      } catch (err) {
        if (err instanceof LatpruneError && err.code === 'DIVERGED') {
          throw new LatpruneError(
            'DIVERGED',
            `${err.message} The last good checkpoint is kept at ${ckptPath} (step ${resumed?.meta.step ?? 0} or later).${bnAdvice ? ` Note: ${bnAdvice.reason}` : ''}`,
          );
        }
        throw err;
      }
      trainSeconds += r.ms / 1000;
      window = { loss: window.loss + r.loss, n: window.n + 1, images: window.images + r.images, ms: window.ms + r.ms };
      const epoch = Math.floor(tr.step / it.batchesPerEpoch);
      if (window.n === 20 || tr.step === stepLimit) {
        const rate = (window.images * 1000) / window.ms;
        await appendFile(
          metricsPath,
          `${JSON.stringify({ kind: 'train', step: tr.step, epoch: tr.step / it.batchesPerEpoch, loss: window.loss / window.n, lr: r.lr, img_per_s: rate, images_seen: tr.imagesSeen, train_seconds: trainSeconds })}\n`,
        );
        bar.update(tr.step, {
          epoch: `${Math.min(epoch + 1, opts.epochs)}/${opts.epochs}`,
          loss: (window.loss / window.n).toFixed(4),
          lr: r.lr.toPrecision(3),
          speed: `${rate.toFixed(0)} img/s`,
        });
        window = { loss: 0, n: 0, images: 0, ms: 0 };
      }
      const epochEnd = tr.step % it.batchesPerEpoch === 0;
      if (epochEnd) {
        const ev = await evaluateTestSplit(model, data);
        lastEval = { epoch: tr.step / it.batchesPerEpoch, top1: ev.top1, loss: ev.loss };
        await appendFile(
          metricsPath,
          `${JSON.stringify({ kind: 'eval', split: 'test', step: tr.step, epoch: lastEval.epoch, top1: ev.top1, loss: ev.loss })}\n`,
        );
        log(`\nepoch ${lastEval.epoch}: test top-1 ${(100 * ev.top1).toFixed(2)}%, loss ${ev.loss.toFixed(4)}`);
      }
      if (epochEnd || tr.step % opts.checkpointEvery === 0 || tr.step === stepLimit || stop) await checkpoint();
    }
    bar.stop();
    bar = undefined;

    const finished = tr.step >= totalSteps;
    let savedModel: string | undefined;
    if (opts.saveModel && !finished && stop) {
      // an interrupt is not a request for a model: keep whatever --save-model holds
      log(
        `not saving the model to ${resolve(opts.saveModel)}: the run was interrupted at step ${tr.step}/${totalSteps}; continue it with --resume (the checkpoint is ${ckptPath}) and it is saved when it finishes, or use --max-steps to save a partly trained model on purpose.`,
      );
    } else if (opts.saveModel) {
      // stopped by --max-steps (or finished): save what was trained, and evaluate it
      // when the last evaluation was of earlier weights, so the model card is of this model
      let ev = lastEval;
      const epochNow = tr.step / it.batchesPerEpoch;
      if (!finished && ev?.epoch !== epochNow) {
        const e = await evaluateTestSplit(model, data);
        ev = { epoch: epochNow, top1: e.top1, loss: e.loss };
        log(`\nstep ${tr.step}: test top-1 ${(100 * e.top1).toFixed(2)}%, loss ${e.loss.toFixed(4)} (the model being saved)`);
      }
      await saveModel(model, opts.saveModel, {
        latprune: {
          dataset: data.name,
          preprocess: opened.preprocess,
          epochs: opts.epochs,
          seed: opts.seed,
          test_top1: ev?.top1,
          command: opts.command,
          images_seen: tr.imagesSeen,
          steps: tr.step,
          total_steps: totalSteps,
          finished,
        },
      });
      await writeFileAtomic(
        join(opts.saveModel, 'MODEL_CARD.md'),
        modelCard(opts, source, data.name, data.origin, data.trainCount, data.testCount, ev, trainSeconds, tr.imagesSeen, backend, {
          step: tr.step,
          total: totalSteps,
        }),
      );
      savedModel = resolve(opts.saveModel);
      log(
        finished
          ? `saved model to ${savedModel}`
          : `saved the partly trained model (step ${tr.step} of ${totalSteps}, stopped by --max-steps) to ${savedModel}; --resume continues the run and saves it again when it finishes`,
      );
    }
    return {
      steps: tr.step,
      totalSteps,
      finished,
      ...(lastEval ? { testTop1: lastEval.top1, testLoss: lastEval.loss } : {}),
      trainSeconds,
      imagesSeen: tr.imagesSeen,
      numClasses,
      ...(savedModel ? { savedModel } : {}),
    };
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
    await trainer?.dispose();
    await iter?.close();
    model.dispose();
  }
}

function modelCard(
  o: TrainRunOptions,
  source: string,
  dataset: string,
  origin: string,
  nTrain: number,
  nTest: number,
  ev: { top1: number; loss: number } | undefined,
  seconds: number,
  images: number,
  backend: string,
  progress: { step: number; total: number },
): string {
  const partial = progress.step < progress.total;
  return `# ${o.model} on ${dataset}${partial ? ' (partly trained)' : ''}

| | |
|---|---|
| architecture | ${source} |
| training | ${partial ? `stopped at step ${progress.step} of ${progress.total} (--max-steps): partly trained; \`--resume\` on the run directory continues it` : `complete (${progress.total} steps)`} |
| data | ${dataset} (${origin}): ${nTrain} training images, evaluated on the ${nTest}-image test split |
| test top-1 | ${ev ? `${(100 * ev.top1).toFixed(2)}%` : 'not evaluated'} |
| test loss | ${ev ? ev.loss.toFixed(4) : '-'} |
| epochs | ${o.epochs} (batch ${o.batchSize}, ${images} images seen) |
| optimiser | SGD momentum ${o.momentum}${o.nesterov ? ' (Nesterov)' : ''}, lr ${o.lr} cosine with ${o.warmupEpochs} warm-up epochs, weight decay ${o.weightDecay}, label smoothing ${o.labelSmoothing} |
| seed | ${o.seed} |
| threads | ${o.workers} (batch-norm statistics per shard of ${Math.ceil(o.batchSize / o.workers)}) |
| backend | tfjs ${backend} |
| training time | ${(seconds / 60).toFixed(1)} min |

Reproduce:

\`\`\`sh
${o.command}
\`\`\`

Check: \`npx latprune eval --model ${o.saveModel ?? '<dir>'} --data ${o.dataDir ?? dataset}\` (the input size and normalisation are saved with the model).
`;
}

/** Reads the JSONL metrics of a run (for reports and tests). */
export async function readMetrics(runDir: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(join(runDir, 'metrics.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
