/**
 * Latency lookup tables: schema (validated with zod), file IO (atomic), and
 * the device check. A table holds, per layer signature, measured latencies
 * of the layer in context at (cin, cout) points, the runtime's layout rules,
 * reorder costs, and the calibration of the whole-network estimate.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { LatpruneError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { deviceFingerprint } from './device.js';
import { gpuFingerprint, isWebGpu } from './gpu.js';

/** Current schema identifier. */
export const LUT_SCHEMA = 'latprune.lut/1';

const opKind = z.enum(['conv', 'dwconv', 'gemm']);

/*
 * Numbers are checked for what they can physically be: every number finite
 * (JSON cannot hold NaN, but `1e999` parses to Infinity and a table built in
 * memory can hold either), latencies and measured times positive, counts and
 * sizes whole. Fitted calibration terms are left as free as the fit leaves
 * them: the constant `overheadMs` is fitted unconstrained and is negative on
 * real tables (-0.35 ms on ResNet-50), so only its finiteness is checked.
 */

/** A finite number; `rule` words the message of every failure ("must be <rule>"). */
const finite = (rule = 'a finite number') =>
  z
    .number({ invalid_type_error: `must be ${rule}`, required_error: `is missing (must be ${rule})` })
    .finite({ message: `must be ${rule}` });
/** A finite number > 0. */
const positive = (rule = 'a finite number > 0') => finite(rule).positive({ message: `must be ${rule}` });
/** A finite number >= 0. */
const nonnegative = (rule = 'a finite number >= 0') => finite(rule).nonnegative({ message: `must be ${rule}` });
/** A whole number >= `min`. */
const whole = (min: number, rule = `a whole number >= ${min}`) =>
  finite(rule)
    .int({ message: `must be ${rule}` })
    .min(min, { message: `must be ${rule}` });
/** A latency or measured time in ms: positive and finite. */
const latencyMs = () => positive('a positive, finite time in ms');

const layoutRule = z.object({ below: whole(1), align: whole(1), outPad: whole(1), outAlign: whole(1).optional() });

const signatureSchema = z.object({
  op: opKind,
  kernel: z.tuple([whole(1), whole(1)]),
  stride: z.tuple([whole(1), whole(1)]),
  /** ONNX pads [top, left, bottom, right]. */
  pads: z.tuple([whole(0), whole(0), whole(0), whole(0)]),
  inH: whole(1),
  inW: whole(1),
  outH: whole(1),
  outW: whole(1),
  /** What the runtime fuses into the layer: none, relu, relu6, add+relu, add. */
  epilogue: z.enum(['none', 'relu', 'relu6', 'add', 'add_relu']),
  /** Largest input / output widths the model has at this signature. */
  cinMax: whole(1),
  coutMax: whole(1),
  /** Model layers with this signature. */
  layers: z.array(z.string()).min(1),
  /** Measured points [cin, cout, ms]. */
  points: z.array(
    z.tuple([whole(1, 'a whole number of input channels >= 1'), whole(1, 'a whole number of output channels >= 1'), latencyMs()]),
  ),
});

/** Coefficients of one calibration model (see `calibration` below). */
const coefficientsSchema = z.object({
  scale: positive(),
  plainScale: positive().optional(),
  otherMsPerMElem: nonnegative(),
  /** Fitted without a sign constraint: may be negative. */
  overheadMs: finite(),
});

/**
 * Coefficients for networks with plain-kernel layers, and where they take
 * over: `fromPlainShare` is the share of plain-kernel time (plain / parts)
 * from which they apply alone, the smallest among the networks they were
 * fitted on; below it the estimate moves linearly from the all-blocked
 * coefficients to these, so one small plain layer does not switch a
 * network's pricing.
 */
const mixedSchema = coefficientsSchema.extend({
  fromPlainShare: finite('a share between 0 and 1')
    .min(0, { message: 'must be a share between 0 and 1' })
    .max(1, { message: 'must be a share between 0 and 1' }),
});

/** One measured network of the calibration. */
const sampleSchema = z
  .object({
    keep: z.record(z.string(), whole(1, 'a whole number of kept channels >= 1')),
    measuredMs: latencyMs(),
    /** The estimator's layer look-ups plus conversions: a sum of positive latencies. */
    partsMs: latencyMs(),
    plainMs: nonnegative().optional(),
    otherMElems: nonnegative(),
  })
  .superRefine((s, ctx) => {
    // the plain-kernel look-ups are a part of partsMs (allow rounding)
    if (s.plainMs !== undefined && s.plainMs > s.partsMs * (1 + 1e-6) + 1e-9)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['plainMs'],
        message: `must be at most partsMs (${s.partsMs}): plain-kernel layers are a part of all layers`,
      });
  });

const tableSchema = z.object({
  schema: z.literal(LUT_SCHEMA),
  model: z.string().min(1),
  /** The model file the table was profiled from (a path as given to `--model`); absent for zoo models, whose name is `model`. */
  source: z.string().min(1).optional(),
  batch: whole(1, 'a whole batch size >= 1'),
  input: z.tuple([
    whole(1, 'a whole input height >= 1'),
    whole(1, 'a whole input width >= 1'),
    whole(1, 'a whole number of input channels >= 1'),
  ]),
  precision: z.literal('fp32'),
  device: z.object({
    fingerprint: z.string().min(1),
    description: z.string(),
    cpuModel: z.string(),
    cores: whole(1),
    /** The GPU of a WebGPU table (see `gpu.ts`); the fingerprint is then the GPU's. */
    gpu: z
      .object({
        vendor: z.string(),
        architecture: z.string(),
        device: z.string(),
        driver: z.string(),
        backend: z.string(),
        icd: z.string().optional(),
        pciIds: z.array(z.string()),
      })
      .optional(),
  }),
  runtime: z.object({
    name: z.enum(['ort', 'tfjs']),
    version: z.string(),
    ep: z.string(),
    threads: whole(0),
  }),
  createdAt: z.string(),
  updatedAt: z.string(),
  complete: z.boolean(),
  /** Profiling grid options used (for resume: a re-run must match). */
  grid: z.object({ step: whole(1), points: whole(1), refine: whole(0) }),
  shard: z
    .object({ index: whole(0), count: whole(1) })
    .superRefine((s, ctx) => {
      if (s.index >= s.count)
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['index'], message: `must be below the shard count ${s.count}` });
    })
    .optional(),
  layout: z.record(opKind, layoutRule),
  signatures: z.record(z.string(), signatureSchema),
  /**
   * Least-squares sums of observed layout conversions: x = million elements,
   * y = ms (see {@link reorderCost}); sums of non-negative sizes and times.
   */
  reorder: z.object({ n: whole(0), sx: nonnegative(), sy: nonnegative(), sxx: nonnegative(), sxy: nonnegative() }).optional(),
  /**
   * Whole-network calibration: measured = scale * (layers + reorders - plain)
   * + plainScale * plain + otherMsPerMElem * other + overheadMs, where `plain`
   * is the look-ups of layers on the runtime's plain (unblocked) kernels
   * (`plainScale` absent: the same scale); `mixed` holds separate
   * coefficients for networks that have plain-kernel layers.
   */
  calibration: coefficientsSchema
    .extend({
      /**
       * Coefficients for networks with plain-kernel layers (the ones above
       * then serve networks without); absent: one fit for all.
       */
      mixed: mixedSchema.optional(),
      /** Median and p90 relative error of the calibrated estimate on the samples (in-sample). */
      medianError: nonnegative(),
      p90Error: nonnegative(),
      samples: z.array(sampleSchema),
    })
    .optional(),
  /**
   * Drift reference of the build: one fixed entry (`signature` at `cin` ->
   * `cout`) re-measured after every `every` entries. Each entry is scaled by
   * `ms` (the reference's first measurement) over the mean of the references
   * measured just before and after it, so entries measured while the machine
   * ran faster or slower (other tenants on a shared host) land on one scale.
   * `minFactor`/`maxFactor`: the range of reference / `ms` seen. Absent: a
   * table built without one.
   */
  reference: z
    .object({
      signature: z.string().min(1),
      cin: whole(1),
      cout: whole(1),
      ms: latencyMs(),
      every: whole(1),
      n: whole(0),
      minFactor: positive(),
      maxFactor: positive(),
    })
    .superRefine((r, ctx) => {
      if (r.minFactor > r.maxFactor)
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['minFactor'], message: `must not exceed maxFactor (${r.maxFactor})` });
    })
    .optional(),
  /** Profiling statistics. */
  stats: z.object({ entries: whole(0), seconds: nonnegative(), ruleViolations: whole(0) }),
});

/** A layer signature entry. */
export type LutSignature = z.infer<typeof signatureSchema>;
/** A latency table. */
export type LatencyTable = z.infer<typeof tableSchema>;
/** Coefficients of one calibration model: measured = scale x (blocked parts) + plainScale x (plain parts) + otherMsPerMElem x other + overheadMs. */
export type CalibrationCoefficients = z.infer<typeof coefficientsSchema>;
/** Coefficients for networks with plain-kernel layers (see the schema's `calibration.mixed`). */
export type MixedCalibration = z.infer<typeof mixedSchema>;

/**
 * Validates parsed JSON as a table: its shape, and that every number is
 * physically possible (finite; latencies and measured times positive; counts,
 * sizes and channel widths whole and at least 1 where 0 cannot be).
 *
 * @throws LatpruneError `SCHEMA` naming the file, the first bad field and the
 *   entry it belongs to (signature and point, calibration network, ...), the
 *   value found, and how to rebuild the table
 */
export function validateTable(data: unknown, source: string): LatencyTable {
  const r = tableSchema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.length ? issue.path.join('.') : '(root)';
    const entry = describeEntry(data, issue.path);
    const others = new Set(r.error.issues.map((i) => i.path.join('.'))).size - 1;
    const got =
      issue.code === z.ZodIssueCode.invalid_type && issue.received === 'undefined' ? '' : `, got ${formatValue(valueAt(data, issue.path))}`;
    const more = others > 0 ? ` (${others} more field${others > 1 ? 's are' : ' is'} invalid)` : '';
    const how =
      issue.path[0] === 'calibration'
        ? `Delete its "calibration" field and run \`${profileCommandLine(data, source)}\` to measure a new one (the layer entries are kept), or delete the file and rebuild it with that command.`
        : `Delete it and rebuild it with \`${profileCommandLine(data, source)}\`.`;
    throw new LatpruneError(
      'SCHEMA',
      `${source}: invalid latency table at '${field}'${entry ? ` (${entry})` : ''}: ${issue.message}${got}${more}. ${how}`,
    );
  }
  return r.data;
}

type PathKey = string | number;

/** The value at `path` in `data`, or undefined. */
function valueAt(data: unknown, path: readonly PathKey[]): unknown {
  let cur = data;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PathKey, unknown>)[k];
  }
  return cur;
}

/** A short rendering of a bad value (NaN and Infinity as such, long JSON cut). */
function formatValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Names the entry of the table that `path` points into, in words; undefined for top-level fields. */
function describeEntry(data: unknown, path: readonly PathKey[]): string | undefined {
  const [top, a, b, c, d] = path;
  const rest = (from: number) => path.slice(from).join('.');
  if (top === 'signatures' && a !== undefined) {
    const layers = valueAt(data, ['signatures', a, 'layers']);
    const of =
      Array.isArray(layers) && layers.length
        ? ` (layer${layers.length > 1 ? 's' : ''} ${layers.slice(0, 3).join(', ')}${layers.length > 3 ? ', ...' : ''})`
        : '';
    if (b === 'points' && typeof c === 'number') {
      const p = valueAt(data, ['signatures', a, 'points', c]);
      const at = Array.isArray(p) ? ` at cin ${formatValue(p[0])}, cout ${formatValue(p[1])}` : '';
      const what = d === 0 ? 'its input channels' : d === 1 ? 'its output channels' : d === 2 ? 'its latency (ms)' : 'the point';
      return `signature ${a}${of}, measured point #${c}${at}: ${what}`;
    }
    return `signature ${a}${of}${b !== undefined ? `: ${rest(2)}` : ''}`;
  }
  if (top === 'calibration') {
    if (a === 'samples' && typeof b === 'number') {
      const n = valueAt(data, ['calibration', 'samples']);
      return `calibration network #${b}${Array.isArray(n) ? ` of ${n.length}` : ''}${c !== undefined ? `: ${rest(3)}` : ''}`;
    }
    if (a === 'mixed') return `calibration coefficients of networks with plain-kernel layers${b !== undefined ? `: ${rest(2)}` : ''}`;
    return `calibration${a !== undefined ? `: ${rest(1)}` : ''}`;
  }
  if (top === 'reorder') return `layout-conversion fit${a !== undefined ? `: ${rest(1)}` : ''}`;
  if (top === 'reference') return `drift reference${a !== undefined ? `: ${rest(1)}` : ''}`;
  if (top === 'layout' && a !== undefined) return `layout rule of ${a}${b !== undefined ? `: ${rest(2)}` : ''}`;
  return undefined;
}

/**
 * The `latprune profile` command line that rebuilds or continues the table at
 * `path`, from whatever of (possibly invalid) `data` is usable: its model (a
 * zoo model's input suffix as `--input`), batch, runtime and grid (a resumed
 * build must repeat them).
 */
export function profileCommandLine(data: unknown, path: string): string {
  const get = (...p: PathKey[]) => valueAt(data, p);
  const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  const input = get('input');
  const dims = Array.isArray(input) && input.length === 3 && input.every((v) => isCount(v) && v > 0) ? input.join('x') : undefined;
  const model = get('model');
  const source = get('source');
  let flags = '--model <model>';
  if (typeof source === 'string' && source) flags = `--model ${source}`;
  else if (typeof model === 'string' && model) {
    const zoo = dims !== undefined && model.endsWith(`-${dims}`) ? model.slice(0, -dims.length - 1) : undefined;
    flags = zoo ? `--model ${zoo} --input ${dims}` : `--model ${model}`;
  }
  const batch = get('batch');
  if (isCount(batch) && batch > 0) flags += ` --batch ${batch}`;
  const runtime = get('runtime', 'name');
  if (runtime === 'tfjs') flags += ' --runtime tfjs';
  const ep = get('runtime', 'ep');
  if (runtime === 'ort' && typeof ep === 'string' && ep !== 'cpu' && /^[\w-]+$/.test(ep)) flags += ` --ep ${ep}`;
  const threads = get('runtime', 'threads');
  if (runtime === 'ort' && isCount(threads) && threads > 0) flags += ` --threads ${threads}`;
  for (const k of ['step', 'points', 'refine'] as const) {
    const v = get('grid', k);
    if (isCount(v)) flags += ` --${k} ${v}`;
  }
  return `latprune profile ${flags} --out ${path}`;
}

/** Reads and validates a table file. */
export async function loadTable(path: string): Promise<LatencyTable> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new LatpruneError('NOT_FOUND', `latency table ${path} does not exist; build one with \`latprune profile --model <model>\`.`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new LatpruneError(
      'BAD_FILE',
      `${path}: not JSON (${err instanceof Error ? err.message : String(err)}); regenerate it with \`latprune profile\`.`,
    );
  }
  return validateTable(data, path);
}

/** Writes a table atomically (pretty-printed, points one per line would be too long: compact). */
export async function saveTable(path: string, table: LatencyTable): Promise<void> {
  validateTable(table, path);
  await writeFileAtomic(path, `${JSON.stringify(table)}\n`, 'latency table');
}

/** Cost of one layout conversion of `elems` elements from the table's fit (0 when none was seen). */
export function reorderCost(table: LatencyTable, elems: number): number {
  const r = table.reorder;
  if (!r || r.n === 0) return 0;
  const mx = r.sx / r.n;
  const my = r.sy / r.n;
  const vx = r.sxx / r.n - mx * mx;
  const slope = vx > 1e-12 ? Math.max(0, (r.sxy / r.n - mx * my) / vx) : my / Math.max(mx, 1e-9);
  const fixed = Math.max(0, my - slope * mx);
  return fixed + (slope * elems) / 1e6;
}

/**
 * Returns a loud warning when the table was built on another kind of device
 * (different fingerprint), or undefined when it matches this one.
 */
export function deviceMismatchWarning(table: LatencyTable, path: string, current = currentFingerprint(table)): string | undefined {
  if (table.device.fingerprint === current) return undefined;
  return (
    `WARNING: ${path} was profiled on '${table.device.fingerprint}' (${table.device.description}), ` +
    `but this device is '${current}'. Its latencies may not hold here: rebuild it with \`latprune profile\`.`
  );
}

/**
 * This machine's fingerprint for the kind of device `table` was built on:
 * the GPU's for a WebGPU table (its `device.gpu`), else the CPU's.
 */
export function currentFingerprint(table: Pick<LatencyTable, 'device' | 'runtime'>): string {
  return table.device.gpu || isWebGpu(table.runtime.ep) ? gpuFingerprint() : deviceFingerprint();
}

/** Default location of a table: latency-tables/<fingerprint>/<model>-b<batch>-<runtime>.json. */
export function defaultTablePath(root: string, fingerprint: string, model: string, batch: number, runtime: string): string {
  const safe = model.replace(/[^A-Za-z0-9_.-]+/g, '_');
  return `${root}/${fingerprint}/${safe}-b${batch}-${runtime}.json`;
}
