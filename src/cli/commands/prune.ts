/**
 * `latprune prune`: its flags map onto the pruning options schema
 * (`src/prune/options.ts`); `--config run.json` gives any option as JSON
 * (flags win over the file). `--help` shows the options most runs need;
 * `--help-all` lists every flag with its path in a config file.
 */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { LatpruneError } from '../../errors.js';
import { DATA_FLAGS, dataSpecFromFlags, type DataFlagValues } from '../data-flag.js';
import { PRUNE_FLAGS, parsePruneOptions, runPrune, toRunOptions } from '../../prune/index.js';
import type { CommandContext } from '../context.js';

/** How a flag's text becomes a value. */
type FlagKind = 'number' | 'string' | 'true' | 'negated';

/** The flag's name (`--omega <x>` -> `--omega`). */
const flagName = (flags: string): string => flags.split(' ')[0]!;

/** Options path of each flag: the inverse of {@link PRUNE_FLAGS} (the first path named by a flag). */
const PATH_OF: ReadonlyMap<string, string> = new Map(
  Object.entries(PRUNE_FLAGS)
    .reverse()
    .map(([path, flag]) => [flag, path]),
);

/** One flag of `prune`; its path in the options schema comes from {@link PRUNE_FLAGS}. */
interface FlagSpec {
  /** commander's flag syntax. */
  readonly flags: string;
  /** How its text becomes a value; `separate` flags (targets, data, distillation) are read by {@link pruneInputFromFlags} itself. */
  readonly kind: FlagKind | 'separate';
  readonly help: string;
  /** Listed under `--help-all` only. */
  readonly advanced?: boolean;
}

const FLAGS: readonly FlagSpec[] = [
  {
    flags: '--model <name|path>',
    kind: 'string',
    help: 'zoo name, tfjs model.json / folder, or ONNX file (e.g. models/resnet20-fashion-mnist)',
  },
  { flags: '--lut <file>', kind: 'string', help: 'latency table of the target device (latprune profile)' },
  { flags: '--speedup <x>', kind: 'separate', help: 'target: speed-up over the dense model, e.g. 2 or 2x' },
  { flags: '--target-fps <n>', kind: 'separate', help: 'target: throughput (images/s at the table batch)' },
  { flags: '--target-latency-ms <x>', kind: 'separate', help: 'target: latency (ms per batch of the table)' },
  ...DATA_FLAGS.map((f) => ({ flags: f.flags, kind: 'separate' as const, help: f.help, advanced: f.advanced })),
  { flags: '--method <m>', kind: 'string', help: "iee (default: IEE from HALP's descent) or halp" },
  { flags: '--epochs <n>', kind: 'number', help: 'training epochs, pruning and fine-tuning together (default 3)' },
  { flags: '--iterations <n>', kind: 'number', help: 'training iterations instead of --epochs' },
  { flags: '--out <dir>', kind: 'string', help: 'run directory (checkpoint, metrics, model/, result.json)' },
  { flags: '--resume', kind: 'true', help: 'continue the run in --out' },
  // advanced: the research knobs (one place: `--help-all`, docs/pruning.md)
  { flags: '--from-scratch', kind: 'true', help: 'start from random weights (zoo architectures)', advanced: true },
  { flags: '--criterion <c>', kind: 'string', help: 'channel importance: taylor (default) or magnitude', advanced: true },
  { flags: '--batch <n>', kind: 'number', help: 'batch size (default 128)', advanced: true },
  { flags: '--lr <x>', kind: 'number', help: 'peak learning rate, cosine decay (default 0.02)', advanced: true },
  { flags: '--weight-decay <x>', kind: 'number', help: 'weight decay (default 5e-4)', advanced: true },
  { flags: '--seed <n>', kind: 'number', help: 'seed (default 1)', advanced: true },
  { flags: '--workers <n>', kind: 'number', help: 'threads per batch (default: min(2, cores))', advanced: true },
  { flags: '--train-subset <n>', kind: 'number', help: 'use only the first n training images', advanced: true },
  {
    flags: '--distill [teacher]',
    kind: 'separate',
    help: 'distil from a frozen teacher (default on for a model file: the --model itself)',
    advanced: true,
  },
  { flags: '--no-distill', kind: 'separate', help: 'train on the labels only', advanced: true },
  { flags: '--distill-alpha <x>', kind: 'number', help: 'weight of the distillation term (default 0.5)', advanced: true },
  { flags: '--distill-temperature <x>', kind: 'number', help: 'distillation temperature (default 4)', advanced: true },
  { flags: '--margin <x>', kind: 'number', help: 'aim at (1 - x) x the target latency (default 0.05)', advanced: true },
  {
    flags: '--no-check-latency',
    kind: 'negated',
    help: 'skip timing the selection with ONNX Runtime (and re-solving when it is off the aim)',
    advanced: true,
  },
  {
    flags: '--granularity <n|auto>',
    kind: 'string',
    help: "kept channel counts are multiples of n; auto (default) = the table's channel multiple",
    advanced: true,
  },
  {
    flags: '--min-keep-fraction <x>',
    kind: 'number',
    help: 'fraction of each channel group always kept (default 0: at least one channel)',
    advanced: true,
  },
  { flags: '--H <n>', kind: 'number', help: 'IEE: importance-estimation iterations (default: planned, at most 100)', advanced: true },
  { flags: '--J <n>', kind: 'number', help: 'IEE: accuracy-improvement iterations (default: as --H)', advanced: true },
  { flags: '--Q <n>', kind: 'number', help: 'IEE: exploration iterations (default: as --H)', advanced: true },
  { flags: '--T <n>', kind: 'number', help: 'IEE: steps (default 5, fewer when they do not fit)', advanced: true },
  {
    flags: '--omega <x>',
    kind: 'number',
    help: 'IEE: initial update budget, a fraction of the latency budget (default 0.05)',
    advanced: true,
  },
  { flags: '--schedule <s>', kind: 'string', help: 'IEE: update-budget decay: cosine (default), linear, constant', advanced: true },
  {
    flags: '--ramp <k>',
    kind: 'number',
    help: "IEE: reach the budget in k prunes along HALP's path (default: planned, up to 30; 1 = one-shot)",
    advanced: true,
  },
  {
    flags: '--ramp-interval <n>',
    kind: 'number',
    help: 'IEE: scoring iterations before each prune of that descent (default: planned, at most 40)',
    advanced: true,
  },
  {
    flags: '--grow <rule>',
    kind: 'string',
    help: "IEE: stage 5: explored (default, the paper's), no-regrow, joint, evaluated (docs/pruning.md)",
    advanced: true,
  },
  {
    flags: '--eval-batches <n>',
    kind: 'number',
    help: 'IEE --grow evaluated: batches each candidate is measured on (default 2)',
    advanced: true,
  },
  {
    flags: '--evaluate-prune',
    kind: 'true',
    help: "IEE --grow evaluated: decide each step's prune by the measured loss too",
    advanced: true,
  },
  { flags: '--no-explore', kind: 'negated', help: 'IEE ablation: no reactivation/exploration', advanced: true },
  { flags: '--no-freeze', kind: 'negated', help: 'IEE ablation: train active channels while exploring', advanced: true },
  { flags: '--zero-init', kind: 'true', help: 'IEE ablation: revive channels with zero filters', advanced: true },
  { flags: '--steps <n>', kind: 'number', help: 'HALP: pruning steps (default: planned, up to 30)', advanced: true },
  { flags: '--interval <n>', kind: 'number', help: 'HALP: iterations between prunes (default: planned, at most 40)', advanced: true },
  {
    flags: '--max-iterations <n>',
    kind: 'number',
    help: 'stop after n iterations in this invocation (continue with --resume)',
    advanced: true,
  },
];

/** commander's attribute name of a flag (`--target-fps <n>` -> `targetFps`, `--no-explore` -> `explore`). */
function attributeName(flags: string): string {
  const long = /--([A-Za-z][\w-]*)/.exec(flags)![1]!.replace(/^no-/, '');
  return long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Sets `value` at a dotted `path` of `obj`, creating sections. */
function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (next === undefined || next === false || typeof next !== 'object') cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
}

/** Reads a `--config` JSON file (an object shaped like the options schema). */
function readConfig(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new LatpruneError('NOT_FOUND', `--config ${file}: cannot read it (${(e as Error).message}).`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LatpruneError(
      'BAD_FILE',
      `--config ${file}: not valid JSON (${(e as Error).message}); see docs/pruning.md#options-and-options-file for its shape.`,
    );
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new LatpruneError(
      'BAD_FILE',
      `--config ${file}: must hold one JSON object of options (see docs/pruning.md#options-and-options-file).`,
    );
  return json as Record<string, unknown>;
}

/**
 * The options object of `prune`'s flags, merged over a `--config` file.
 *
 * @param o - commander's parsed flags
 * @returns the options as a user writes them, and whether distillation was asked for explicitly
 */
export function pruneInputFromFlags(o: Record<string, unknown>): {
  input: Record<string, unknown>;
  distillExplicit: boolean;
  origin: string;
} {
  const config = typeof o['config'] === 'string' ? readConfig(o['config']) : {};
  const input: Record<string, unknown> = structuredClone(config);
  for (const f of FLAGS) {
    if (f.kind === 'separate') continue;
    const path = PATH_OF.get(flagName(f.flags));
    if (path === undefined) throw new Error(`prune flag ${f.flags} has no options path in PRUNE_FLAGS`);
    const v = o[attributeName(f.flags)];
    if (v === undefined) continue;
    if (f.kind === 'negated') {
      if (v === false) setPath(input, path, false);
      continue;
    }
    if (f.kind === 'true') {
      if (v === true) setPath(input, path, true);
      continue;
    }
    if (f.kind === 'number') {
      const n = Number(v);
      if (String(v).trim() === '' || !Number.isFinite(n))
        throw new LatpruneError('BAD_ARGUMENT', `${flagName(f.flags)} must be a number, got '${String(v)}'.`);
      setPath(input, path, n);
      continue;
    }
    if (path === 'latency.granularity' && v !== 'auto') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1)
        throw new LatpruneError('BAD_ARGUMENT', `--granularity must be a positive integer or 'auto', got '${String(v)}'.`);
      setPath(input, path, n);
      continue;
    }
    setPath(input, path, v);
  }
  // a target flag replaces the file's target (one form only)
  const targets = [
    ['speedup', 'speedup'],
    ['targetFps', 'fps'],
    ['targetLatencyMs', 'latencyMs'],
  ].filter(([k]) => o[k!] !== undefined);
  if (targets.length > 1) throw new LatpruneError('BAD_ARGUMENT', 'give exactly one of --target-fps, --target-latency-ms, --speedup.');
  if (targets.length === 1) {
    const [k, key] = targets[0]!;
    const text = String(o[k!]);
    const v = Number(k === 'speedup' ? text.replace(/x$/i, '') : text);
    if (text.trim() === '' || !Number.isFinite(v)) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        k === 'speedup'
          ? `--speedup must be a number above 1 (e.g. 2x), got '${text}'.`
          : `${PRUNE_FLAGS[`target.${key!}`]} must be a number, got '${text}'.`,
      );
    }
    input['target'] = { [key!]: v };
  }
  // the data flags share their parsing with train and eval (data-flag.ts); the options' data section
  // holds the same fields, with the normalisation as mean/std and the preprocessing file by name
  const { spec, preprocessFile } = dataSpecFromFlags(o as DataFlagValues);
  const { normalization, ...data } = spec;
  const section = {
    ...data,
    ...(normalization ? { mean: normalization.mean, std: normalization.std } : {}),
    ...(preprocessFile !== undefined ? { preprocess: preprocessFile } : {}),
  };
  for (const [key, value] of Object.entries(section)) setPath(input, `data.${key}`, value);
  const distill = o['distill'];
  if (distill === false) setPath(input, 'training.distill', false);
  else if (typeof distill === 'string') setPath(input, 'training.distill.teacher', distill);
  if (input['method'] === undefined) input['method'] = 'iee';
  // a flag of the other method is named, not silently dropped
  const other = input['method'] === 'halp' ? 'iee' : input['method'] === 'iee' ? 'halp' : undefined;
  if (other !== undefined && input[other] !== undefined) {
    const names = Object.keys(input[other] as object).map((k) => PRUNE_FLAGS[`${other}.${k}`] ?? `${other}.${k}`);
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `${names.join(', ')} ${names.length > 1 ? 'are options' : 'is an option'} of --method ${other}, but the run uses --method ${String(input['method'])}.`,
    );
  }
  return {
    input,
    distillExplicit: distill === true || typeof distill === 'string',
    origin: typeof o['config'] === 'string' ? `prune (--config ${o['config']} and flags)` : 'prune',
  };
}

/** Every flag with its options path, for `--help-all`. */
export function pruneHelpAll(): string[] {
  const rows = FLAGS.map(
    (f) =>
      [
        f.flags,
        f.flags === '--no-distill' ? 'training.distill: false' : (PATH_OF.get(flagName(f.flags)) ?? '(flag only)'),
        f.help,
      ] as const,
  );
  const w = Math.max(...rows.map((r) => r[0].length));
  const pw = Math.max(...rows.map((r) => r[1].length));
  return [
    'Usage: latprune prune [--config run.json] [flags]',
    '',
    'Every option of a pruning run: flag, its path in a --config JSON file, meaning. Flags win over the file.',
    '',
    ...rows.map(([f, p, h]) => `  ${f.padEnd(w)}  ${p.padEnd(pw)}  ${h}`),
    `  ${'--backend <name>'.padEnd(w)}  ${'(flag only)'.padEnd(pw)}  tfjs backend; default: fastest available, or LATPRUNE_BACKEND`,
  ];
}

/** Registers `latprune prune`. */
export function registerPrune(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('prune')
    .description(
      "prune a model to a latency target on the table's device with IEE (default) or HALP, checkpointing as it goes. " +
        'The schedule is planned for the run length and printed first; the last line is the verdict. ' +
        'Exit 0 target met, 1 missed / not timed (UNCHECKED) / nothing learned, 2 error.',
    )
    .option('--config <run.json>', 'options file (any option of --help-all as JSON; flags win)');
  for (const f of FLAGS) {
    const opt = new Option(f.flags, f.help);
    if (f.advanced) opt.hideHelp();
    cmd.addOption(opt);
  }
  cmd
    .addOption(ctx.backendOption())
    .option('--help-all', 'list every option (the advanced ones too) and exit')
    .addHelpText(
      'after',
      '\nAdvanced options (training, distillation, margin, IEE/HALP schedules): latprune prune --help-all, docs/pruning.md.',
    )
    .action(async (o: Record<string, unknown>) => {
      if (o['helpAll']) {
        for (const l of pruneHelpAll()) ctx.io.out(l);
        ctx.setExit(0);
        return;
      }
      const { input, distillExplicit, origin } = pruneInputFromFlags(o);
      const options = parsePruneOptions(input, origin);
      const info = await ctx.backend(o['backend'] as string | undefined);
      const r = await runPrune(toRunOptions(options, ctx.command, distillExplicit), info.tfjsName, (l) => ctx.io.err(l));
      ctx.io.out(JSON.stringify(r));
      // the last line is the verdict; a missed target, a model that learned nothing, or a check that could
      // not time the device (UNCHECKED) exits 1, errors 2
      ctx.io.out(r.verdict);
      ctx.setExit(r.target_met === false || (r.finished && r.target_met === null) ? 1 : 0);
    });
}
