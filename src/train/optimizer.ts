/**
 * SGD with momentum (optionally Nesterov) and L2 weight decay, PyTorch's
 * formulation:
 *
 *   g' = g + wd * w          (wd = 0 for parameters excluded from decay)
 *   v  = mu * v + g'
 *   w  = w - lr * (nesterov ? g' + mu * v : v)
 *
 * Its state (one velocity per variable) is plain data for checkpoints. An
 * optional per-element update mask freezes parts of a variable: masked
 * elements keep both their value and their velocity (IEE freezes the active
 * channels this way while it explores the others).
 */
import * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';

/** Hyper-parameters of {@link SgdMomentum}. */
export interface SgdOptions {
  /** Momentum coefficient mu (default 0.9). */
  readonly momentum?: number;
  /** Nesterov momentum (default false). */
  readonly nesterov?: boolean;
  /** L2 weight decay (default 0). */
  readonly weightDecay?: number;
  /**
   * Which variables receive weight decay, by name; default: every variable
   * except batch-norm gamma/beta and biases (the usual practice).
   */
  readonly decays?: (variableName: string) => boolean;
}

/** Serializable optimizer state. */
export interface SgdState {
  readonly velocities: Record<string, { readonly shape: number[]; readonly data: Float32Array }>;
}

/** Default weight-decay rule: kernels decay, BN gamma/beta and biases do not. */
export function defaultDecays(name: string): boolean {
  return !/(gamma|beta|bias)(_\d+)?$/.test(name);
}

/** SGD with momentum over tfjs variables. */
export class SgdMomentum {
  private readonly momentum: number;
  private readonly nesterov: boolean;
  private readonly weightDecay: number;
  private readonly decays: (name: string) => boolean;
  private readonly velocity = new Map<string, tf.Variable>();

  /** @param opts - hyper-parameters; see {@link SgdOptions} */
  constructor(opts: SgdOptions = {}) {
    this.momentum = opts.momentum ?? 0.9;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    this.decays = opts.decays ?? defaultDecays;
    if (!(this.momentum >= 0 && this.momentum < 1))
      throw new LatpruneError('BAD_ARGUMENT', `--momentum must be in [0, 1), got ${this.momentum}.`);
    if (!(this.weightDecay >= 0)) throw new LatpruneError('BAD_ARGUMENT', `--weight-decay must be >= 0, got ${this.weightDecay}.`);
  }

  /**
   * Applies one update to `vars` with gradients `grads` (keyed by variable
   * name) at learning rate `lr`. `updateMasks` (same keys, 1 = may change,
   * 0 = frozen) restricts the update element-wise.
   */
  step(vars: readonly tf.Variable[], grads: tf.NamedTensorMap, lr: number, updateMasks?: tf.NamedTensorMap): void {
    tf.tidy(() => {
      for (const v of vars) {
        const g0 = grads[v.name];
        if (!g0) continue;
        let vel = this.velocity.get(v.name);
        if (!vel) {
          vel = tf.variable(tf.zerosLike(v), false);
          this.velocity.set(v.name, vel);
        }
        const g = this.weightDecay > 0 && this.decays(v.name) ? tf.add(g0, tf.mul(v, this.weightDecay)) : g0;
        const newVel = tf.add(tf.mul(vel, this.momentum), g);
        const dir = this.nesterov ? tf.add(g, tf.mul(newVel, this.momentum)) : newVel;
        const mask = updateMasks?.[v.name];
        if (mask) {
          vel.assign(tf.add(tf.mul(newVel, mask), tf.mul(vel, tf.sub(1, mask))));
          v.assign(tf.sub(v, tf.mul(dir, tf.mul(mask, lr))));
        } else {
          vel.assign(newVel);
          v.assign(tf.sub(v, tf.mul(dir, lr)));
        }
      }
    });
  }

  /** Multiplies velocities element-wise by `masks` (by variable name; e.g. 0 where a weight was revived or removed). */
  maskVelocities(masks: ReadonlyMap<string, Float32Array>): void {
    for (const [name, m] of masks) {
      const vel = this.velocity.get(name);
      if (vel) tf.tidy(() => vel.assign(tf.mul(vel, tf.tensor(m, vel.shape))));
    }
  }

  /**
   * Copies the state out (velocities as Float32Arrays), reading the tensors
   * asynchronously: use this one on a GPU backend, where a synchronous read
   * fails in Node.
   */
  async readState(): Promise<SgdState> {
    const velocities: Record<string, { shape: number[]; data: Float32Array }> = {};
    const entries = [...this.velocity];
    const data = await Promise.all(entries.map(async ([, v]) => ((await v.data()) as Float32Array).slice()));
    entries.forEach(([name, v], i) => (velocities[name] = { shape: v.shape.slice(), data: data[i]! }));
    return { velocities };
  }

  /**
   * Copies the state out (velocities as Float32Arrays) with a synchronous
   * read, which works on the CPU backends only; prefer {@link readState}.
   */
  getState(): SgdState {
    const velocities: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [name, v] of this.velocity) velocities[name] = { shape: v.shape.slice(), data: (v.dataSync() as Float32Array).slice() };
    return { velocities };
  }

  /** Restores a state from {@link readState} or {@link getState} (replacing the current one). */
  setState(state: SgdState): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
    for (const [name, { shape, data }] of Object.entries(state.velocities)) {
      this.velocity.set(
        name,
        tf.tidy(() => tf.variable(tf.tensor(data, shape), false)),
      );
    }
  }

  /** Frees the velocity tensors. */
  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
  }
}
