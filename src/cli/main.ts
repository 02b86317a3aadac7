/**
 * The `latprune` command line. Parsing with commander; each command's work
 * lives in its module and returns an exit code.
 */
import os from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { LatpruneError } from '../errors.js';
import { BACKEND_NAMES, initBackend } from '../backend/index.js';
import { doctorReport, formatDoctor, latpruneVersion } from './doctor.js';
import { parseDataFlag } from './data-flag.js';
import { aboutChance, evaluate, resolveModel, runTraining } from '../train/index.js';
import { defaultNormalization, loadDataset } from '../data/index.js';
import { modelStats, zooNames, buildZooModel } from '../zoo/index.js';
import { solveCommand } from '../solver/index.js';
import { mergeCommand, profileCommand, showCommand } from './profile.js';
import { GROW_RULES, runPrune, type GrowRule, type LatencyTarget } from '../prune/index.js';
import { exportOnnx } from '../export/index.js';
import { verifyOnnx } from '../verify/index.js';
import { compareRuns } from '../report/index.js';
import { DEMO_ITERATIONS, runDemo } from './demo.js';

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
export function buildProgram(io: CliIO, setExit: (code: number) => void, argvForCard: readonly string[] = []): Command {
  /** Initialises the tfjs backend (flag or environment) and prints which one is active. */
  const backend = async (requested: string | undefined) => {
    const info = await initBackend({ requested });
    io.err(info.summary);
    return info;
  };
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

  const num = (v: string) => Number(v);
  program
    .command('train')
    .description('train a zoo model or a tfjs model.json on a dataset (checkpoints, --resume, metrics JSONL)')
    .requiredOption('--model <name|path>', `zoo name (${zooNames().join(', ')}) or tfjs model.json / folder`)
    .option('--data <name|dir>', 'dataset name (fashion-mnist, mnist, cifar10) or directory; default: LATPRUNE_DATA, Debian\'s, the shipped subset')
    .option('--dataset <name>', 'which dataset --data DIR holds', 'fashion-mnist')
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
    .addOption(backendOption())
    .action(async (o: Record<string, unknown>) => {
      const info = await backend(o['backend'] as string | undefined);
      const data = parseDataFlag(o['data'] as string | undefined, o['dataset'] as string | undefined);
      const r = await runTraining(
        {
          model: o['model'] as string,
          dataset: data.dataset,
          ...(data.dir ? { dataDir: data.dir } : {}),
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
          command: ['latprune', ...argvForCard].join(' '),
        },
        info.tfjsName,
        (l) => io.err(l),
      );
      io.out(JSON.stringify({ ...r, test_top1: r.testTop1 }));
      // a finished run that ends about chance learned nothing: say so and exit 1 (a short run's
      // batch-norm statistics, a too-high --lr, or labels that do not match the images)
      if (r.finished && r.testTop1 !== undefined && aboutChance(r.testTop1, r.numClasses)) {
        io.out(`FAIL: the model learned nothing: test top-1 ${(100 * r.testTop1).toFixed(2)}%, chance ${(100 / r.numClasses).toFixed(0)}% after ${r.steps} steps. Train longer (--epochs), lower --lr, or check the data.`);
        setExit(1);
      } else setExit(0);
    });

  program
    .command('eval')
    .description('top-1 accuracy of a model on a dataset\'s test split')
    .requiredOption('--model <name|path>', 'tfjs model.json / folder (or a zoo name, untrained)')
    .option('--data <name|dir>', 'dataset name or directory', 'fashion-mnist')
    .option('--dataset <name>', 'which dataset --data DIR holds', 'fashion-mnist')
    .option('--json', 'print one JSON object')
    .addOption(backendOption())
    .action(async (o: { model: string; data?: string; dataset?: string; json?: boolean; backend?: string }) => {
      await backend(o.backend);
      const choice = parseDataFlag(o.data, o.dataset);
      const data = await loadDataset(choice.dataset, choice.dir ? { dir: choice.dir } : {});
      const { model, source } = await resolveModel(o.model, { inputShape: [data.test.height, data.test.width, data.test.channels], numClasses: data.test.classNames.length });
      const r = evaluate(model, data.test, { normalization: defaultNormalization(data.name) });
      if (o.json) io.out(JSON.stringify({ model: source, dataset: data.name, data_dir: data.dir, origin: data.origin, ...r }));
      else io.out(`${source} on ${data.name} test (${r.count} images from ${data.dir}): top-1 ${(100 * r.top1).toFixed(2)}%, loss ${r.loss.toFixed(4)}`);
      setExit(0);
    });

  program
    .command('zoo')
    .description('list the model zoo with parameters and MACs')
    .option('--input <HxWxC>', 'input shape', '32x32x3')
    .option('--json', 'print JSON')
    .addOption(backendOption())
    .action(async (o: { input: string; json?: boolean; backend?: string }) => {
      await initBackend({ requested: o.backend });
      const shape = o.input.split('x').map(Number);
      if (shape.length !== 3 || shape.some((v) => !Number.isInteger(v) || v <= 0)) {
        throw new LatpruneError('BAD_ARGUMENT', `--input must look like 32x32x3, got '${o.input}'.`);
      }
      const rows = zooNames().map((name) => {
        const input = name === 'resnet50' || name === 'mobilenet_v1' ? ([224, 224, 3] as const) : (shape as [number, number, number]);
        const m = buildZooModel(name, { inputShape: input });
        const s = modelStats(m);
        m.dispose();
        return { name, input: input.join('x'), params: s.params, trainable: s.trainableParams, macs: s.macs };
      });
      if (o.json) io.out(JSON.stringify(rows));
      else for (const r of rows) io.out(`${r.name.padEnd(14)} input ${r.input.padEnd(10)} params ${(r.params / 1e6).toFixed(3).padStart(8)}M  MACs ${(r.macs / 1e6).toFixed(1).padStart(8)}M`);
      setExit(0);
    });

  program
    .command('solve')
    .description('solve a saved knapsack problem (keep/grow channels within a latency budget); exit 1 if infeasible')
    .requiredOption('--problem <file>', 'problem JSON (the pruning engine saves one per step)')
    .option('--json', 'print one JSON object')
    .action(async (o: { problem: string; json?: boolean }) => {
      setExit(await solveCommand({ problem: o.problem, json: o.json === true, out: (l) => io.out(l) }));
    });

  program
    .command('profile')
    .description('build a latency lookup table for a model on this device (resumable; --shard i/n to split)')
    .requiredOption('--model <name|path>', 'zoo name or tfjs model.json / folder')
    .option('--batch <n>', 'batch size', num, 1)
    .option('--input <HxWxC>', 'input shape for a zoo model (default: the zoo model\'s)')
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
    .addOption(backendOption())
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
    .action(async (file: string) => setExit(await showCommand(file, (l) => io.err(l), (l) => io.out(l))));

  program
    .command('prune')
    .description(
      'prune a model to a latency target with IEE or the HALP baseline (checkpoints each step, --resume). ' +
        "Defaults are the best setting of bench/RESULTS.md (2x FPS, 8 epochs of Fashion-MNIST): IEE from HALP's descent with " +
        '--omega 0.05 and distillation from the model (93.28% vs HALP 93.17%, dense 93.60%); the schedule is planned for the ' +
        'run length and printed before training. Last line: the verdict; exit 0 target met, 1 missed, not timed (UNCHECKED) or nothing learned, 2 error.',
    )
    .requiredOption('--model <name|path>', 'zoo name or tfjs model.json / folder (e.g. models/resnet20-fashion-mnist)')
    .option('--data <name|dir>', 'dataset name or directory', 'fashion-mnist')
    .option('--dataset <name>', 'which dataset --data DIR holds', 'fashion-mnist')
    .requiredOption('--lut <file>', 'latency table (latprune profile)')
    .option('--target-fps <n>', 'target throughput (images/s at the table batch)', num)
    .option('--target-latency-ms <x>', 'target latency (ms per batch of the table)', num)
    .option('--speedup <x>', 'target speed-up over the dense model, e.g. 2 or 2x')
    .option('--method <m>', 'iee or halp', 'iee')
    .option('--from-scratch', 'start from random weights (zoo architectures)', false)
    .option('--criterion <c>', 'taylor or magnitude', 'taylor')
    .option('--epochs <n>', 'total training epochs (pruning phases + fine-tuning)', num, 3)
    .option('--iterations <n>', 'total training iterations (overrides --epochs)', num)
    .option('--batch <n>', 'batch size', num, 128)
    .option('--lr <x>', 'peak learning rate (cosine decay)', num, 0.02)
    .option('--weight-decay <x>', 'weight decay', num, 5e-4)
    .option('--seed <n>', 'seed', num, 1)
    .option('--workers <n>', 'threads per batch', num, Math.min(2, os.cpus().length))
    .option('--H <n>', 'IEE: importance-estimation iterations (default: planned for the run length, at most 100)', num)
    .option('--J <n>', 'IEE: accuracy-improvement iterations (default: as --H)', num)
    .option('--Q <n>', 'IEE: exploration iterations (default: as --H)', num)
    .option('--T <n>', 'IEE: steps (default: 5, fewer when they do not fit)', num)
    .option('--omega <x>', 'IEE: initial update budget (fraction of the latency budget)', num, 0.05)
    .option('--schedule <s>', 'IEE: update-budget decay: cosine, linear, constant', 'cosine')
    .option('--ramp <k>', "IEE: reach the budget in k prunes along HALP's geometric path (default: 30, fewer on short runs; 1 = the paper's one-shot prune after --H iterations)", num)
    .option('--ramp-interval <n>', 'IEE: scoring iterations before each prune of that descent (default: the descent spread over about a third of the run, at most 40 per prune)', num)
    .option('--grow <rule>', "IEE: stage 5's rule: explored (the paper's: the best explored channels join the active set), no-regrow (channels pruned at this step stay out of its grow), joint (re-select among all channels by the exploration scores), evaluated (the knapsack's grow and, per group it leaves short, one with that group at full width: the lowest measured training loss wins)", 'explored')
    .option('--eval-batches <n>', 'IEE --grow evaluated: training batches each candidate grow is measured on', num, 2)
    .option('--evaluate-prune', 'IEE with --grow evaluated: decide each step\'s prune by the measured loss too', false)
    .option('--no-explore', 'IEE ablation: skip reactivation/exploration (grow by stale scores)')
    .option('--no-freeze', 'IEE ablation: train active channels during exploration too')
    .option('--zero-init', 'IEE ablation: revive channels with zero filters and fresh batch norm instead of their MRU values', false)
    .option('--steps <n>', 'HALP: pruning steps (default: 30, fewer on short runs)', num)
    .option('--interval <n>', 'HALP: iterations between pruning steps (default: the descent spread over about a third of the run)', num)
    .option('--granularity <n|auto>', "kept channel counts are multiples of n; 'auto' = the table's channel multiple (ORT CPU: keeps every layer on the blocked kernels)", 'auto')
    .option('--min-keep-fraction <x>', 'fraction of each channel group always kept (0: at least one channel)', num, 0)
    .option('--train-subset <n>', 'use only the first n training images (at most the training split)', num)
    .option('--no-check-latency', 'skip timing the selected network with ONNX Runtime after pruning (and re-solving when it lands more than 3% off the aim)')
    .option('--distill [teacher]', 'knowledge distillation from a frozen teacher model (on by default for a model file: the --model itself, i.e. the dense pretrained model)')
    .option('--no-distill', 'train on the labels only')
    .option('--distill-alpha <x>', 'weight of the distillation term (the label term gets 1 - x)', num, 0.5)
    .option('--distill-temperature <x>', 'distillation softmax temperature', num, 4)
    .option('--margin <x>', 'safety margin: aim the selection at (1 - x) x the target latency, so that timing noise keeps it above the target FPS', num, 0.05)
    .option('--max-iterations <n>', 'stop after n iterations in this invocation (continue with --resume)', num)
    .requiredOption('--out <dir>', 'run directory (runs/<name>)')
    .option('--resume', 'continue the run in --out', false)
    .addOption(backendOption())
    .action(async (o: Record<string, unknown>) => {
      const info = await backend(o['backend'] as string | undefined);
      const targets = [o['targetFps'] !== undefined, o['targetLatencyMs'] !== undefined, o['speedup'] !== undefined].filter(Boolean).length;
      if (targets !== 1) throw new LatpruneError('BAD_ARGUMENT', 'give exactly one of --target-fps, --target-latency-ms, --speedup.');
      let target: LatencyTarget;
      if (o['targetFps'] !== undefined) target = { fps: o['targetFps'] as number };
      else if (o['targetLatencyMs'] !== undefined) target = { latencyMs: o['targetLatencyMs'] as number };
      else {
        const s = Number(String(o['speedup']).replace(/x$/i, ''));
        if (!(s > 1)) throw new LatpruneError('BAD_ARGUMENT', `--speedup must be a number above 1 (e.g. 2x), got '${String(o['speedup'])}'.`);
        target = { speedup: s };
      }
      for (const [flag, v, allowed] of [['--method', o['method'], ['iee', 'halp']], ['--criterion', o['criterion'], ['taylor', 'magnitude']], ['--schedule', o['schedule'], ['cosine', 'linear', 'constant']], ['--grow', o['grow'], GROW_RULES]] as const) {
        if (!(allowed as readonly unknown[]).includes(v)) throw new LatpruneError('BAD_ARGUMENT', `${flag} must be one of ${allowed.join(', ')}, got '${String(v)}'.`);
      }
      const data = parseDataFlag(o['data'] as string | undefined, o['dataset'] as string | undefined);
      const r = await runPrune(
        {
          model: o['model'] as string,
          fromScratch: o['fromScratch'] as boolean,
          dataset: data.dataset,
          ...(data.dir ? { dataDir: data.dir } : {}),
          lut: o['lut'] as string,
          target,
          method: o['method'] as 'iee' | 'halp',
          criterion: o['criterion'] as 'taylor' | 'magnitude',
          epochs: o['epochs'] as number,
          batchSize: o['batch'] as number,
          lr: o['lr'] as number,
          weightDecay: o['weightDecay'] as number,
          seed: o['seed'] as number,
          workers: o['workers'] as number,
          H: o['H'] as number | undefined,
          J: o['J'] as number | undefined,
          Q: o['Q'] as number | undefined,
          T: o['T'] as number | undefined,
          omega: o['omega'] as number,
          ramp: o['ramp'] as number | undefined,
          rampInterval: o['rampInterval'] as number | undefined,
          ...(o['iterations'] !== undefined ? { iterations: o['iterations'] as number } : {}),
          grow: o['grow'] as GrowRule,
          evalBatches: o['evalBatches'] as number,
          evaluatePrune: o['evaluatePrune'] as boolean,
          schedule: o['schedule'] as 'cosine' | 'linear' | 'constant',
          explore: o['explore'] as boolean,
          freeze: o['freeze'] as boolean,
          zeroInit: o['zeroInit'] as boolean,
          steps: o['steps'] as number | undefined,
          interval: o['interval'] as number | undefined,
          granularity: parseGranularity(o['granularity']),
          minKeepFraction: o['minKeepFraction'] as number,
          ...(o['trainSubset'] !== undefined ? { trainSubset: o['trainSubset'] as number } : {}),
          out: o['out'] as string,
          resume: o['resume'] as boolean,
          checkLatency: o['checkLatency'] as boolean,
          margin: o['margin'] as number,
          ...distillOption(o),
          ...(o['maxIterations'] !== undefined ? { maxIterations: o['maxIterations'] as number } : {}),
          command: ['latprune', ...argvForCard].join(' '),
        },
        info.tfjsName,
        (l) => io.err(l),
      );
      io.out(JSON.stringify(r));
      // the last line is the verdict; a missed target, a model that learned nothing, or a check that could
      // not time the device (UNCHECKED) exits 1, errors 2
      io.out(r.verdict);
      setExit(r.target_met === false || (r.finished && r.target_met === null) ? 1 : 0);
    });

  program
    .command('export')
    .description('compact a pruning run (or export a tfjs model) to ONNX, checked against tfjs on real images')
    .option('--run <dir>', 'a latprune prune run directory')
    .option('--model <path>', 'or a tfjs model.json / folder')
    .requiredOption('--out <file>', 'ONNX file to write')
    .option('--opset <n>', 'ONNX opset', num, 13)
    .option('--no-fold-bn', 'keep BatchNormalization nodes instead of folding them into convolutions')
    .option('--data <name|dir>', 'dataset for the parity check (default: the run\'s)')
    .option('--dataset <name>', 'which dataset --data DIR holds')
    .option('--json', 'print one JSON object')
    .addOption(backendOption())
    .action(async (o: { run?: string; model?: string; out: string; opset: number; foldBn: boolean; data?: string; dataset?: string; json?: boolean; backend?: string }) => {
      await backend(o.backend);
      const data = o.data || o.dataset ? parseDataFlag(o.data, o.dataset) : undefined;
      const r = await exportOnnx({
        ...(o.run ? { run: o.run } : {}),
        ...(o.model ? { model: o.model } : {}),
        out: o.out,
        opset: o.opset,
        foldBn: o.foldBn,
        ...(data ? { dataset: data.dataset, ...(data.dir ? { dataDir: data.dir } : {}) } : {}),
        producerVersion: latpruneVersion(),
      });
      const line = `wrote ${r.out}: ${r.params} parameters; parity on ${r.parity.images} images: max abs diff ${r.parity.maxAbsDiff.toExponential(2)} (${r.parity.relDiff.toExponential(2)} relative), top-1 agreement ${(100 * r.parity.top1Agreement).toFixed(1)}%`;
      io.out(o.json ? JSON.stringify(r) : line);
      setExit(0);
    });

  program
    .command('verify')
    .description('measure an ONNX model\'s FPS with ONNX Runtime against a target (exit 1 if not met), a latency table, and the speed-up over a baseline model timed in alternation')
    .argument('<model.onnx>', 'ONNX model')
    .option('--target-fps <n>', 'required throughput (images/s)', num)
    .option('--batch <n>', 'batch size (default: the export\'s table batch, else 1)', num)
    .option('--ep <name>', 'execution provider: cpu, webgpu (GPU through Dawn/Vulkan) or cuda', 'cpu')
    .option('--threads <n>', 'intra-op threads (default: one per core)', num)
    .option('--lut <file>', 'latency table to compare the prediction with')
    .option('--baseline <model.onnx>', 'also time this model (e.g. the dense export) in alternation with the first and report the speed-up over it')
    .option('--target-speedup <x>', 'required speed-up over --baseline (exit 1 if not met)', num)
    .option('--json', 'print one JSON object')
    .addOption(backendOption())
    .action(async (file: string, o: { targetFps?: number; batch?: number; ep: string; threads?: number; lut?: string; baseline?: string; targetSpeedup?: number; json?: boolean; backend?: string }) => {
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
    });

  program
    .command('compare')
    .description('compare finished runs: Markdown table and SVG plot of accuracy against FPS')
    .argument('<runs...>', 'run directories')
    .requiredOption('--out <dir>', 'report directory')
    .action(async (runs: string[], o: { out: string }) => {
      io.out(await compareRuns(runs, o.out));
      setExit(0);
    });

  program
    .command('demo')
    .description('end to end on the pretrained ResNet-20 + Fashion-MNIST: table, IEE to 2x FPS, ONNX export, FPS check, report (runs/demo)')
    .option('--out <dir>', 'output directory', 'runs/demo')
    .option('--iterations <n>', 'training iterations of the pruning run (batch 128)', num, DEMO_ITERATIONS)
    .option('--workers <n>', 'threads per batch', num, Math.min(2, os.cpus().length))
    .addOption(backendOption())
    .action(async (o: { out: string; iterations: number; workers: number; backend?: string }) => {
      const info = await backend(o.backend);
      setExit(await runDemo({ out: o.out, iterations: o.iterations, workers: o.workers, backend: info.tfjsName }, (l) => io.err(l), (l) => io.out(l)));
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
    io.err(`latprune: error: ${e.message}${process.env['LATPRUNE_DEBUG'] ? `\n${e.stack ?? ''}` : ' (set LATPRUNE_DEBUG=1 for the stack)'}`);
    return 2;
  }
}

/** `--distill [teacher]` with its alpha and temperature; the teacher defaults to `--model` (a model file). */
function distillOption(o: Record<string, unknown>): { distill?: { teacher: string; alpha: number; temperature: number } } {
  const d = o['distill'];
  if (d === false) return {};
  const isFile = (p: string) => /[/\\]|\.json$/.test(p);
  // default: distil from the starting model when it is a trained model file (bench/RESULTS.md: +0.2-0.4 points)
  if (d === undefined && (o['fromScratch'] || !isFile(String(o['model'])))) return {};
  const teacher = typeof d === 'string' ? d : String(o['model']);
  if (typeof d !== 'string' && (o['fromScratch'] || !isFile(teacher))) {
    throw new LatpruneError('BAD_ARGUMENT', `--distill needs a teacher model file when --model is a zoo architecture (${teacher}); give it as --distill <model.json or directory>.`);
  }
  return { distill: { teacher, alpha: o['distillAlpha'] as number, temperature: o['distillTemperature'] as number } };
}

/** `--granularity`: a positive integer, or 'auto' (0: the table's channel multiple). */
function parseGranularity(v: unknown): number {
  if (v === 'auto' || v === undefined) return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new LatpruneError('BAD_ARGUMENT', `--granularity must be a positive integer or 'auto', got '${String(v)}'.`);
  return n;
}
