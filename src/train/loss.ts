/**
 * The classification loss used by every training path (main thread and
 * gradient workers must agree on it exactly).
 */
import * as tf from '@tensorflow/tfjs';

/** Loss configuration; plain data so it can be posted to worker threads. */
export interface LossConfig {
  /** Number of classes (width of the logits). */
  readonly numClasses: number;
  /** Label smoothing in [0, 1): targets become (1-s)*onehot + s/numClasses. */
  readonly labelSmoothing: number;
}

/** Mean softmax cross-entropy of `logits` against integer `labels`, with label smoothing. */
export function classificationLoss(logits: tf.Tensor, labels: tf.Tensor1D, cfg: LossConfig): tf.Scalar {
  return tf.tidy(() => {
    const onehot = tf.oneHot(labels, cfg.numClasses);
    return tf.losses.softmaxCrossEntropy(onehot, logits, undefined, cfg.labelSmoothing) as tf.Scalar;
  });
}
