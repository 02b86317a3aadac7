/**
 * `batchNormTrain`: training-mode batch normalisation over the last axis with
 * an analytic gradient, and the patch that makes tfjs-layers'
 * `BatchNormalization` use it during training.
 */
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_KERNELS, BN_TRAIN, BN_TRAIN_GRAD } from './kernels.js';

/** Result of {@link batchNormTrain}. */
export interface BatchNormTrainResult {
  /** Normalised, scaled and shifted output (same shape as x). */
  readonly y: tf.Tensor;
  /** Batch mean per channel (kept: the caller disposes it). */
  readonly mean: tf.Tensor1D;
  /** Biased batch variance per channel, as tfjs-layers feeds its moving average (kept: the caller disposes it). */
  readonly variance: tf.Tensor1D;
}

/**
 * Backends on which the same analytic gradient runs as a few tfjs ops
 * ({@link batchNormTrainOps}) instead of a kernel: on webgpu, tfjs' own
 * training-mode batch norm and its autodiff gradient dispatch about 47 GPU
 * programs per layer and step (ResNet-20: 2,075 kernels per training step,
 * 988 of them for its 21 batch norms), the ops form 13.
 */
const OPS_BACKENDS: ReadonlySet<string> = new Set(['webgpu']);

/** Whether the fast path exists for the active backend (kernels on wasm and cpu, ops on webgpu). */
export function hasFastBatchNorm(): boolean {
  const b = tf.getBackend();
  return tf.getKernel(BN_TRAIN, b) !== undefined || OPS_BACKENDS.has(b);
}

/**
 * {@link batchNormTrain} as tfjs ops, for any backend: 6 passes over the
 * activations forward (mean, centre, square, mean, scale, shift) and 7
 * backward, against ~40 for tfjs' generic gradient. The normalised input
 * is kept for the backward pass.
 */
export function batchNormTrainOps(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): BatchNormTrainResult {
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | undefined;
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const f = tf.customGrad(((xIn: tf.Tensor, gIn: tf.Tensor1D, bIn: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const mean = tf.mean(xIn, axes) as tf.Tensor1D;
    const centred = tf.sub(xIn, mean);
    const variance = tf.mean(tf.square(centred), axes) as tf.Tensor1D;
    const invStd = tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor1D;
    const xhat = tf.mul(centred, invStd);
    const y = tf.add(tf.mul(xhat, gIn), bIn);
    stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
    save([xhat, invStd, gIn]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = dy as tf.Tensor;
        const [sxhat, sinv, sg] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
        const n = d.size / d.shape[d.rank - 1]!;
        const dbeta = tf.sum(d, axes) as tf.Tensor1D;
        const dgamma = tf.sum(tf.mul(d, sxhat), axes) as tf.Tensor1D;
        // dx = k (dy - dbeta/n - xhat dgamma/n), k = gamma invStd: per-channel factors first
        const k = tf.mul(sg, sinv);
        const shift = tf.mul(tf.neg(tf.div(k, n)), dbeta);
        const slope = tf.mul(tf.neg(tf.div(k, n)), dgamma);
        const dx = tf.add(tf.add(tf.mul(d, k), tf.mul(sxhat, slope)), shift);
        return [dx, dgamma, dbeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const y = f(x, gamma, beta);
  return { y, mean: stats!.mean, variance: stats!.variance };
}

/**
 * Training-mode batch norm over the last axis of `x`, differentiable with
 * respect to x, gamma and beta (the gradient includes the dependence of the
 * batch statistics on x). Requires the fast path ({@link hasFastBatchNorm}):
 * latprune's kernels where registered, else {@link batchNormTrainOps}.
 */
export function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): BatchNormTrainResult {
  if (tf.getKernel(BN_TRAIN, tf.getBackend()) === undefined) return batchNormTrainOps(x, gamma, beta, epsilon);
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | undefined;
  const f = tf.customGrad(((xIn: tf.Tensor, gIn: tf.Tensor, bIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, variance, invStd] = tf.engine().runKernel(BN_TRAIN, { x: xIn, gamma: gIn, beta: bIn }, { epsilon }) as tf.Tensor[];
    // customGrad disposes what its forward creates except the value and the
    // saved tensors; the statistics are kept and handed to the caller.
    stats = { mean: tf.keep(mean as tf.Tensor1D), variance: tf.keep(variance as tf.Tensor1D) };
    save([xIn, mean!, invStd!, gIn]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, smean, sinv, sg] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        return tf
          .engine()
          .runKernel(BN_TRAIN_GRAD, { dy: dy as tf.Tensor, x: sx, mean: smean, invStd: sinv, gamma: sg }, {}) as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const y = f(x, gamma, beta);
  return { y, mean: stats!.mean, variance: stats!.variance };
}

interface BnLayerInternals {
  axis: number;
  epsilon: number;
  momentum: number;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
  call: (this: BnLayerInternals, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
}

let patched = false;

/**
 * Makes every tfjs-layers `BatchNormalization` (zoo models and loaded user
 * models alike) use {@link batchNormTrain} in training mode when the active
 * backend has the fast kernels and the layer normalises the last axis. Other
 * cases, and inference, run tfjs' own code unchanged. Moving statistics are
 * updated exactly as tfjs-layers does (biased variance, `momentum` decay).
 * Idempotent.
 */
export function installFastBatchNorm(): void {
  for (const cfg of BATCH_NORM_KERNELS) {
    if (!tf.getKernel(cfg.kernelName, cfg.backendName)) tf.registerKernel(cfg);
  }
  if (patched) return;
  patched = true;
  const proto = Object.getPrototypeOf(tf.layers.batchNormalization({})) as BnLayerInternals;
  const original = proto.call;
  proto.call = function (this: BnLayerInternals, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const lastAxis = this.axis === -1 || this.axis === x.rank - 1;
    if (kwargs['training'] !== true || !lastAxis || (Array.isArray(inputs) && inputs.length !== 1) || !hasFastBatchNorm()) {
      return original.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const c = x.shape[x.rank - 1]!;
      const gamma = this.gamma ? (this.gamma.read() as tf.Tensor1D) : (tf.ones([c]) as tf.Tensor1D);
      const beta = this.beta ? (this.beta.read() as tf.Tensor1D) : (tf.zeros([c]) as tf.Tensor1D);
      const { y, mean, variance } = batchNormTrain(x, gamma, beta, this.epsilon);
      const decay = 1 - this.momentum;
      for (const [v, value] of [
        [this.movingMean, mean],
        [this.movingVariance, variance],
      ] as const) {
        tf.tidy(() => {
          const orig = v.read();
          v.write(tf.sub(orig, tf.mul(tf.sub(orig, value), decay)));
        });
      }
      tf.dispose([mean, variance]);
      return y;
    });
  };
}
