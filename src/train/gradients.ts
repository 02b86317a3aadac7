/**
 * Loss and gradients of one training batch, on the main thread or split over
 * worker threads (data parallelism).
 *
 * Why workers: tfjs disables its threaded wasm build in Node (forcing it fails
 * when Emscripten creates a Worker from a `blob:` URL), so one process uses
 * one core. Each gradient worker runs its own wasm backend with a replica of
 * the model; per step the main thread posts the current trainable weights and
 * a shard of the batch to each worker, computes its own shard meanwhile, and
 * combines the shard gradients weighted by shard size (the gradient of the
 * full-batch mean loss). Batch-norm statistics are per shard ("ghost batch
 * norm", as in data-parallel training without SyncBN), so results depend on
 * the worker count, which is therefore recorded with a run.
 */
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import { classificationLoss, type LossConfig } from './loss.js';

/** One batch as plain arrays (NHWC images, integer labels). */
export interface HostBatch {
  readonly x: Float32Array;
  readonly shape: readonly [number, number, number, number];
  readonly labels: Int32Array | Uint8Array;
}

/** Loss and gradients (of the batch-mean loss) keyed by trainable variable name. */
export interface GradientResult {
  readonly loss: number;
  /** Gradients as tensors on the main thread's backend; the caller disposes them. */
  readonly grads: tf.NamedTensorMap;
}

/** Computes loss and gradients of a model for a batch. */
export interface GradientEngine {
  /** Number of threads sharing each batch (1 = main thread only). */
  readonly replicas: number;
  /** Loss and gradients for `batch`, in training mode (batch norm uses batch statistics). */
  compute(batch: HostBatch): Promise<GradientResult>;
  /** Stops the workers. */
  dispose(): Promise<void>;
}

/** Messages to and from gradient workers. */
export type WorkerRequest =
  | {
      readonly kind: 'init';
      readonly topology: string;
      readonly backend: string;
      readonly loss: LossConfig;
      readonly teacher?: TeacherSpec;
    }
  | { readonly kind: 'step'; readonly weights: Float32Array[]; readonly batch: HostBatch };
/** See {@link WorkerRequest}. */
export type WorkerReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'grads'; readonly loss: number; readonly grads: Float32Array[] }
  | { readonly kind: 'error'; readonly message: string };

/** A frozen teacher as plain data for a worker: topology and every weight, in `model.weights` order. */
export interface TeacherSpec {
  readonly topology: string;
  readonly weights: Float32Array[];
}

/** A model's topology as JSON text, to post to a worker. */
function topologyOf(model: tf.LayersModel): string {
  return JSON.stringify(model.toJSON(undefined, false));
}

/** Builds a model (fresh weights) from {@link topologyOf} text. */
export function modelFromTopology(topology: string): Promise<tf.LayersModel> {
  return tf.models.modelFromJSON(JSON.parse(topology) as tf.io.ModelJSON['modelTopology'] as never);
}

/** A teacher model as a {@link TeacherSpec} (its weights read asynchronously, as a GPU backend needs). */
export async function teacherSpec(teacher: tf.LayersModel): Promise<TeacherSpec> {
  const weights = await Promise.all(teacher.weights.map(async (w) => ((await w.read().data()) as Float32Array).slice()));
  return { topology: topologyOf(teacher), weights };
}

/** Rebuilds a teacher from a {@link TeacherSpec} (in a worker). */
export async function teacherFromSpec(spec: TeacherSpec): Promise<tf.LayersModel> {
  const m = await modelFromTopology(spec.topology);
  m.setWeights(m.weights.map((w, i) => tf.tensor(spec.weights[i]!, w.shape as number[])));
  return m;
}

/**
 * How the loss reads a model's output. The loss wants logits; a model whose
 * output layer applies softmax (a Dense/Conv with `activation: 'softmax'`,
 * an `Activation('softmax')` or a `Softmax` layer) gives probabilities, and
 * cross-entropy on top of them trains badly (the loss cannot fall below
 * about 1.46 on 10 classes). For such a model, {@link OutputView.run} runs
 * a forward pass with that final softmax switched off for its duration, so
 * the same layers and variables give the pre-softmax logits; the model
 * itself (saved files, export, `predict` outside `run`) is unchanged.
 * Workers rebuild the model from its topology and derive the same view.
 */
export interface OutputView {
  /** The output layer's name when the model ends in softmax. */
  readonly softmaxLayer?: string;
  /** One line saying what is trained on, when the model ends in softmax. */
  readonly note?: string;
  /** Runs `forward` (e.g. `() => model.apply(x)` or `model.predict`) so that it yields logits. */
  run<T>(forward: () => T): T;
}

/** The view of a model whose output is already logits. */
export const PLAIN_VIEW: OutputView = { run: (forward) => forward() };
const views = new WeakMap<tf.LayersModel, OutputView>();

/** The linear activation swapped in (a new tensor: tfjs' executor may dispose the layer's input). */
const LINEAR_ACTIVATION = { apply: (x: tf.Tensor) => tf.clone(x), getClassName: () => 'linear' };

interface FinalSoftmax {
  readonly layer: tf.layers.Layer;
  /** The layer's field holding the softmax, and its identity replacement. */
  readonly field: 'activation' | 'softmax';
  readonly replacement: unknown;
  readonly what: string;
}

/** The layer applying the model's final softmax, if any (looks into a nested model that is the output layer). */
function findFinalSoftmax(model: tf.LayersModel, where: string): FinalSoftmax | undefined {
  if (model.outputs.length !== 1) return undefined;
  const layer = model.outputs[0]!.sourceLayer as tf.layers.Layer;
  if (layer instanceof tf.LayersModel) return findFinalSoftmax(layer, where);
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as Record<string, unknown>;
  const refuse = (why: string) =>
    new LatpruneError(
      'UNSUPPORTED_LAYER',
      `${where} ends in softmax (layer "${layer.name}", ${cls}), and ${why}, so latprune cannot train on its pre-softmax logits. Make the last layer linear (activation 'linear', no Softmax layer) and save the model again; latprune's loss applies the softmax itself.`,
    );
  let found: FinalSoftmax | undefined;
  if (cls === 'Softmax') {
    const axis = Array.isArray(cfg['axis']) && cfg['axis'].length === 1 ? (cfg['axis'][0] as number) : cfg['axis'];
    const rank = model.outputs[0]!.shape.length;
    if (axis !== -1 && axis !== rank - 1) throw refuse(`its softmax runs over axis ${JSON.stringify(cfg['axis'])}, not the class axis`);
    if (typeof (layer as unknown as Record<string, unknown>)['softmax'] !== 'function')
      throw refuse("this tfjs version does not expose the layer's softmax");
    found = {
      layer,
      field: 'softmax',
      replacement: (x: tf.Tensor) => tf.clone(x),
      what: `its last layer "${layer.name}" is a Softmax layer`,
    };
  } else if (cfg['activation'] === 'softmax') {
    const act = (layer as unknown as Record<string, unknown>)['activation'] as { apply?: unknown } | undefined;
    if (typeof act?.apply !== 'function') throw refuse("this tfjs version does not expose the layer's activation");
    found = {
      layer,
      field: 'activation',
      replacement: LINEAR_ACTIVATION,
      what:
        cls === 'Activation'
          ? `its last layer "${layer.name}" is Activation('softmax')`
          : `its last layer "${layer.name}" (${cls}) has activation 'softmax'`,
    };
  }
  if (found && layer.inboundNodes.length > 1) throw refuse('that layer is used more than once in the network');
  return found;
}

/**
 * The {@link OutputView} of `model` (cached per model). `name` names the
 * model in messages (e.g. "the model", "the teacher").
 *
 * @throws LatpruneError `UNSUPPORTED_LAYER` for a final softmax latprune
 *   cannot switch off (over another axis, or a layer used twice)
 */
export function outputView(model: tf.LayersModel, name = 'the model'): OutputView {
  const cached = views.get(model);
  if (cached) return cached;
  const f = findFinalSoftmax(model, name);
  let view = PLAIN_VIEW;
  if (f) {
    const holder = f.layer as unknown as Record<string, unknown>;
    view = {
      softmaxLayer: f.layer.name,
      note: `${name} ends in softmax (${f.what}): training on its pre-softmax logits; saved and exported models keep the softmax`,
      run<T>(forward: () => T): T {
        const saved = holder[f.field];
        holder[f.field] = f.replacement;
        try {
          return forward();
        } finally {
          holder[f.field] = saved;
        }
      },
    };
  }
  views.set(model, view);
  return view;
}

/** Trainable variables of a model, in a stable order. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
}

/**
 * Loss and gradients of `vars` on this thread; the grads are keyed by
 * variable name. With a `teacher` (and `loss.distill`), its inference-mode
 * logits on the same batch enter the loss as constants.
 */
export async function localGradients(
  model: tf.LayersModel,
  vars: tf.Variable[],
  batch: HostBatch,
  loss: LossConfig,
  teacher?: tf.LayersModel,
): Promise<GradientResult> {
  const x = tf.tensor4d(batch.x, batch.shape as [number, number, number, number]);
  const y = tf.tensor1d(batch.labels, 'int32');
  // both give logits: a final softmax is switched off for the pass (see OutputView)
  const t =
    teacher && loss.distill
      ? tf.tidy(() => outputView(teacher, 'the teacher').run(() => teacher.apply(x, { training: false }) as tf.Tensor))
      : undefined;
  const view = outputView(model);
  let result: { value: tf.Scalar; grads: tf.NamedTensorMap };
  try {
    result = tf.variableGrads(
      () =>
        classificationLoss(
          view.run(() => model.apply(x, { training: true }) as tf.Tensor),
          y,
          loss,
          t,
        ),
      vars,
    );
  } finally {
    tf.dispose([x, y, ...(t ? [t] : [])]);
  }
  // an asynchronous read: a GPU backend cannot read synchronously in Node
  try {
    return { loss: (await result.value.data())[0]!, grads: result.grads };
  } catch (err) {
    tf.dispose(result.grads);
    throw err;
  } finally {
    result.value.dispose();
  }
}

/** Splits a batch into `parts` contiguous shards of near-equal size (none empty). */
export function shardBatch(batch: HostBatch, parts: number): HostBatch[] {
  const [n, h, w, c] = batch.shape;
  const k = Math.max(1, Math.min(parts, n));
  const per = h * w * c;
  const shards: HostBatch[] = [];
  let start = 0;
  for (let i = 0; i < k; i++) {
    const end = start + Math.floor(n / k) + (i < n % k ? 1 : 0);
    shards.push({ x: batch.x.slice(start * per, end * per), shape: [end - start, h, w, c], labels: batch.labels.slice(start, end) });
    start = end;
  }
  return shards;
}

/** Main-thread-only engine. */
export class LocalGradientEngine implements GradientEngine {
  readonly replicas = 1;
  private readonly vars: tf.Variable[];

  /** @param model - the model to differentiate; @param loss - loss configuration */
  constructor(
    private readonly model: tf.LayersModel,
    private readonly loss: LossConfig,
    private readonly teacher?: tf.LayersModel,
  ) {
    this.vars = trainableVariables(model);
  }

  /** {@inheritDoc GradientEngine.compute} */
  compute(batch: HostBatch): Promise<GradientResult> {
    return localGradients(this.model, this.vars, batch, this.loss, this.teacher);
  }

  /** {@inheritDoc GradientEngine.dispose} */
  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

/** Gradient worker threads alive in this process (tests assert that every error path ends them). */
const liveWorkers = new Set<Worker>();

/** Number of gradient worker threads started and not yet exited. */
export function liveGradientWorkers(): number {
  return liveWorkers.size;
}

class WorkerHandle {
  private pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(readonly worker: Worker) {
    liveWorkers.add(worker);
    worker.on('message', (m: WorkerReply) => {
      const p = this.pending;
      this.pending = undefined;
      p?.resolve(m);
    });
    const fail = (e: Error) => {
      this.failure = e;
      const p = this.pending;
      this.pending = undefined;
      p?.reject(e);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      liveWorkers.delete(worker);
      if (code !== 0) fail(new Error(`gradient worker exited with code ${code}`));
    });
  }

  request(msg: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(msg, transfer);
    });
  }
}

/**
 * Data-parallel engine: the main thread plus `replicas - 1` worker threads.
 * Create with {@link createGradientEngine}.
 */
export class DataParallelGradientEngine implements GradientEngine {
  private readonly vars: tf.Variable[];

  private constructor(
    private readonly model: tf.LayersModel,
    private readonly loss: LossConfig,
    private readonly workers: WorkerHandle[],
    private readonly teacher?: tf.LayersModel,
  ) {
    this.vars = trainableVariables(model);
  }

  /** Number of threads sharing each batch. */
  get replicas(): number {
    return this.workers.length + 1;
  }

  /** Starts `replicas - 1` workers, each with a replica of `model` (and of `teacher`, when given) on `backend`. */
  static async start(
    model: tf.LayersModel,
    loss: LossConfig,
    replicas: number,
    backend: string,
    teacher?: tf.LayersModel,
  ): Promise<DataParallelGradientEngine> {
    const topology = topologyOf(model);
    const spec = teacher ? await teacherSpec(teacher) : undefined;
    const handles: WorkerHandle[] = [];
    try {
      for (let i = 1; i < replicas; i++) {
        handles.push(new WorkerHandle(new Worker(new URL('./grad-worker.js', import.meta.url))));
      }
      const replies = await Promise.all(
        handles.map((h) => h.request({ kind: 'init', topology, backend, loss, ...(spec ? { teacher: spec } : {}) })),
      );
      for (const r of replies) if (r.kind === 'error') throw new Error(r.message);
    } catch (err) {
      await Promise.all(handles.map((h) => h.worker.terminate()));
      throw new LatpruneError(
        'RUNTIME',
        `could not start gradient workers: ${err instanceof Error ? err.message : String(err)}. Use --workers 1 to train on the main thread only.`,
        { cause: err },
      );
    }
    return new DataParallelGradientEngine(model, loss, handles, teacher);
  }

  /** {@inheritDoc GradientEngine.compute} */
  async compute(batch: HostBatch): Promise<GradientResult> {
    const shards = shardBatch(batch, this.replicas);
    const total = batch.shape[0];
    const weights = (await Promise.all(this.vars.map((v) => v.data()))) as Float32Array[];
    // Post to the workers first, then compute the main thread's shard meanwhile.
    const remote = this.workers.slice(0, shards.length - 1).map((h, i) => {
      const copy = weights.map((w) => w.slice());
      const shard = shards[i + 1]!;
      return h.request({ kind: 'step', weights: copy, batch: shard }, [
        ...copy.map((w) => w.buffer as ArrayBuffer),
        shard.x.buffer as ArrayBuffer,
      ]);
    });
    let local: GradientResult | undefined;
    let replies: WorkerReply[];
    let localGrads: Float32Array[];
    try {
      local = await localGradients(this.model, this.vars, shards[0]!, this.loss, this.teacher);
      const grads = local.grads;
      localGrads = (await Promise.all(this.vars.map((v) => grads[v.name]!.data()))) as Float32Array[];
      replies = await Promise.all(remote);
    } catch (err) {
      // every worker's reply is awaited before the workers are used again
      await Promise.allSettled(remote);
      throw new LatpruneError('RUNTIME', `gradient worker failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    } finally {
      if (local) tf.dispose(local.grads);
    }
    const w0 = shards[0]!.shape[0] / total;
    let loss = local.loss * w0;
    const sums = localGrads.map((g) => {
      const acc = new Float32Array(g.length);
      for (let j = 0; j < g.length; j++) acc[j] = g[j]! * w0;
      return acc;
    });
    replies.forEach((r, i) => {
      if (r.kind !== 'grads') throw new LatpruneError('RUNTIME', `gradient worker failed: ${r.kind === 'error' ? r.message : r.kind}`);
      const wi = shards[i + 1]!.shape[0] / total;
      loss += r.loss * wi;
      r.grads.forEach((g, k) => {
        const acc = sums[k]!;
        for (let j = 0; j < g.length; j++) acc[j]! += g[j]! * wi;
      });
    });
    const grads: tf.NamedTensorMap = {};
    this.vars.forEach((v, k) => (grads[v.name] = tf.tensor(sums[k]!, v.shape)));
    return { loss, grads };
  }

  /** {@inheritDoc GradientEngine.dispose} */
  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((h) => h.worker.terminate()));
  }
}

/**
 * A gradient engine with `replicas` threads (1 = main thread only). Workers
 * run `backend` (use the main thread's backend name: 'wasm' or 'cpu'). A
 * `teacher` (used when `loss.distill` is set) is replicated to every worker,
 * so each thread distils on its own shard.
 */
export async function createGradientEngine(
  model: tf.LayersModel,
  loss: LossConfig,
  replicas: number,
  backend: string,
  teacher?: tf.LayersModel,
): Promise<GradientEngine> {
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new LatpruneError('BAD_ARGUMENT', `--workers must be a positive integer, got ${replicas}.`);
  }
  if (loss.distill && !teacher) throw new LatpruneError('BAD_ARGUMENT', 'distillation is configured but no teacher model was given.');
  if (replicas > 1 && backend === 'webgpu') {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `--workers ${replicas}: gradient worker threads split a batch over CPU cores (backends wasm and cpu); on webgpu the GPU takes the whole batch. Use --workers 1.`,
    );
  }
  // a final softmax latprune cannot switch off is refused here, before any worker starts
  outputView(model);
  if (teacher && loss.distill) outputView(teacher, 'the teacher');
  if (replicas === 1) return new LocalGradientEngine(model, loss, teacher);
  return DataParallelGradientEngine.start(model, loss, replicas, backend, teacher);
}
