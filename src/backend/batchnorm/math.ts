/**
 * Training-mode batch normalisation over the last (channel) axis, forward and
 * backward, as plain loops over contiguous channels-last buffers. Statistics
 * are accumulated in float64 per channel.
 *
 * Forward: mean_c, var_c (biased, as tfjs-layers uses for its moving
 * average), y = gamma_c * (x - mean_c) * invStd_c + beta_c.
 * Backward, with xhat = (x - mean) * invStd and M values per channel:
 *   dbeta_c  = sum dy
 *   dgamma_c = sum dy * xhat
 *   dx       = gamma_c * invStd_c / M * (M * dy - dbeta_c - xhat * dgamma_c)
 * which is the full gradient through the batch statistics.
 */

/** Forward results written into caller-provided buffers. */
export interface BnForwardOut {
  readonly y: Float32Array;
  readonly mean: Float32Array;
  readonly variance: Float32Array;
  readonly invStd: Float32Array;
}

/** y, mean, variance, invStd = BN_train(x, gamma, beta); `c` is the channel count. */
export function bnTrainForward(
  x: Float32Array,
  gamma: Float32Array | null,
  beta: Float32Array | null,
  c: number,
  epsilon: number,
  out: BnForwardOut,
): void {
  const m = x.length / c;
  const sum = new Float64Array(c);
  const sumSq = new Float64Array(c);
  for (let i = 0; i < x.length; i += c) {
    for (let j = 0; j < c; j++) {
      const v = x[i + j]!;
      sum[j]! += v;
      sumSq[j]! += v * v;
    }
  }
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let j = 0; j < c; j++) {
    const mu = sum[j]! / m;
    const variance = Math.max(sumSq[j]! / m - mu * mu, 0);
    const inv = 1 / Math.sqrt(variance + epsilon);
    out.mean[j] = mu;
    out.variance[j] = variance;
    out.invStd[j] = inv;
    const g = gamma ? gamma[j]! : 1;
    scale[j] = g * inv;
    shift[j] = (beta ? beta[j]! : 0) - mu * g * inv;
  }
  const y = out.y;
  for (let i = 0; i < x.length; i += c) {
    for (let j = 0; j < c; j++) y[i + j] = x[i + j]! * scale[j]! + shift[j]!;
  }
}

/** Backward results written into caller-provided buffers. */
export interface BnBackwardOut {
  readonly dx: Float32Array;
  readonly dgamma: Float32Array;
  readonly dbeta: Float32Array;
}

/** dx, dgamma, dbeta of BN_train given dy and the forward's x, mean, invStd. */
export function bnTrainBackward(
  dy: Float32Array,
  x: Float32Array,
  mean: Float32Array,
  invStd: Float32Array,
  gamma: Float32Array | null,
  c: number,
  out: BnBackwardOut,
): void {
  const m = dy.length / c;
  const sumDy = new Float64Array(c);
  const sumDyX = new Float64Array(c);
  for (let i = 0; i < dy.length; i += c) {
    for (let j = 0; j < c; j++) {
      const d = dy[i + j]!;
      sumDy[j]! += d;
      sumDyX[j]! += d * x[i + j]!;
    }
  }
  // sum dy*xhat = invStd * (sum dy*x - mean * sum dy)
  const a = new Float32Array(c);
  const b = new Float32Array(c);
  const k = new Float32Array(c);
  for (let j = 0; j < c; j++) {
    const inv = invStd[j]!;
    const dbeta = sumDy[j]!;
    const dgamma = inv * (sumDyX[j]! - mean[j]! * dbeta);
    out.dbeta[j] = dbeta;
    out.dgamma[j] = dgamma;
    const g = gamma ? gamma[j]! : 1;
    // dx = g*inv*dy - g*inv/M*dbeta - g*inv/M*dgamma*xhat, xhat = (x-mean)*inv
    a[j] = g * inv;
    b[j] = (-g * inv * dgamma * inv) / m;
    k[j] = (-g * inv * dbeta) / m - b[j]! * mean[j]!;
  }
  const dx = out.dx;
  for (let i = 0; i < dy.length; i += c) {
    for (let j = 0; j < c; j++) dx[i + j] = a[j]! * dy[i + j]! + b[j]! * x[i + j]! + k[j]!;
  }
}
