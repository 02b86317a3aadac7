/**
 * Thin tfjs wrapper turning a pure {@link Batch} into tensors.
 */

import * as tf from '@tensorflow/tfjs';
import type { Batch } from './batches.js';

/** Tensors of one batch. The caller owns them and must dispose them. */
export interface BatchTensors {
  /** Images, NHWC float32. */
  readonly xs: tf.Tensor4D;
  /** Labels: int32 `[n]`, or float32 one-hot `[n, classes]` when `oneHotClasses` was given. */
  readonly ys: tf.Tensor;
}

/**
 * Creates tensors from a batch.
 *
 * @param batch - batch from {@link BatchIterator.next}
 * @param oneHotClasses - when given, labels are one-hot encoded with this many classes
 */
export function batchToTensors(batch: Batch, oneHotClasses?: number): BatchTensors {
  const xs = tf.tensor4d(batch.x, [...batch.shape]);
  const ys = tf.tidy(() => {
    const idx = tf.tensor1d(Int32Array.from(batch.labels), 'int32');
    return oneHotClasses === undefined ? idx : tf.oneHot(idx, oneHotClasses).toFloat();
  });
  return { xs, ys };
}
