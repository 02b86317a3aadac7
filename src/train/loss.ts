/**
 * The classification loss used by every training path (main thread and
 * gradient workers must agree on it exactly), optionally with knowledge
 * distillation from a teacher's logits.
 */
import * as tf from '@tensorflow/tfjs';

/** Knowledge distillation (Hinton et al. 2015) from a frozen teacher. */
export interface DistillConfig {
  /** Weight of the distillation term in [0, 1]; the label term gets 1 - alpha. */
  readonly alpha: number;
  /** Softmax temperature (> 0) of both teacher and student in the distillation term. */
  readonly temperature: number;
}

/** Loss configuration; plain data so it can be posted to worker threads. */
export interface LossConfig {
  /** Number of classes (width of the logits). */
  readonly numClasses: number;
  /** Label smoothing in [0, 1): targets become (1-s)*onehot + s/numClasses. */
  readonly labelSmoothing: number;
  /** Distillation; used when a teacher's logits are given to {@link classificationLoss}. */
  readonly distill?: DistillConfig;
}

/**
 * Mean softmax cross-entropy of `logits` against integer `labels`, with label
 * smoothing. With `teacherLogits` and `cfg.distill`, the loss is
 * `(1 - alpha) CE + alpha T^2 KL(softmax(teacher / T) || softmax(logits / T))`
 * (batch mean; the T^2 keeps the term's gradient scale independent of T).
 */
export function classificationLoss(logits: tf.Tensor, labels: tf.Tensor1D, cfg: LossConfig, teacherLogits?: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const onehot = tf.oneHot(labels, cfg.numClasses);
    const ce = tf.losses.softmaxCrossEntropy(onehot, logits, undefined, cfg.labelSmoothing) as tf.Scalar;
    const d = cfg.distill;
    if (!d || !teacherLogits || d.alpha === 0) return ce;
    const t = d.temperature;
    const logPt = tf.logSoftmax(tf.div(teacherLogits, t));
    const kl = tf.mean(tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, tf.logSoftmax(tf.div(logits, t)))), 1));
    return tf.add(tf.mul(ce, 1 - d.alpha), tf.mul(kl, d.alpha * t * t)) as tf.Scalar;
  });
}
