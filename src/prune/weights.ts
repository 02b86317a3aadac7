/**
 * The weights of a model under changing channel sets: zeroing removed
 * channels, the most-recently-used (MRU) store that gives a channel back the
 * values it had when it was last active, update masks that freeze parts of
 * the model, and batch-norm statistics around exploration.
 *
 * Every weight element is "live" (part of the current sub-network) or "dead".
 * A transition to a new live set saves the values of elements that die into
 * the MRU store and zeroes them, and gives elements that come alive their MRU
 * value. The store starts as the model's weights when the run starts, so a
 * channel that was never active comes back with its initial (or pretrained)
 * values, as IEE prescribes.
 */
import * as tf from '@tensorflow/tfjs';
import { selectionMasks, type ChannelGraph } from '../graph/index.js';
import type { SgdMomentum } from '../train/index.js';
import { allActive, toSelection, type ActiveSets } from './channels.js';

interface VarEntry {
  readonly v: tf.Variable;
  readonly layerWeight: string;
  readonly trainable: boolean;
}

/** Masks (1 = live) for every channel-indexed variable, by tf.Variable name. */
export type ElementMasks = Map<string, Float32Array>;

/** Element masks of the active sets. */
export function elementMasks(graph: ChannelGraph, active: ActiveSets): ElementMasks {
  return new Map(selectionMasks(graph, toSelection(active), { all: true }).map((m) => [m.variable, m.data]));
}

/** Live/dead bookkeeping and the MRU store of one model. */
export class ChannelWeights {
  private readonly vars = new Map<string, VarEntry>();
  /** MRU values by variable name (only channel-indexed variables). */
  readonly mru = new Map<string, Float32Array>();
  private live: ElementMasks;

  private constructor(
    model: tf.LayersModel,
    private readonly graph: ChannelGraph,
  ) {
    for (const w of model.weights) {
      const v = (w as unknown as { val: tf.Variable }).val;
      // the weight's own name: tfjs suffixes `name` (e.g. `bn/moving_variance_1`) when a process builds
      // a second model with the same layer names, which would hide the weight's kind from the matches below
      this.vars.set(v.name, { v, layerWeight: w.originalName ?? w.name.replace(/_\d+$/, ''), trainable: w.trainable });
    }
    this.live = elementMasks(graph, allActive(graph));
  }

  /**
   * @param model - the model (its current weights seed the MRU store; read asynchronously)
   * @param graph - its channel graph
   * @param active - the channels currently live (their complement is assumed already zero or is zeroed by the first transition)
   */
  static async create(model: tf.LayersModel, graph: ChannelGraph, active: ActiveSets): Promise<ChannelWeights> {
    const w = new ChannelWeights(model, graph);
    const names = [...w.live.keys()];
    const data = await Promise.all(names.map(async (name) => ((await w.vars.get(name)!.v.data()) as Float32Array).slice()));
    names.forEach((name, i) => w.mru.set(name, data[i]!));
    await w.transition(active);
    return w;
  }

  /** Current live masks. */
  get liveMasks(): ElementMasks {
    return this.live;
  }

  /**
   * Makes exactly `active` live: dying elements go to the MRU store and are
   * zeroed (moving variances are kept, so a revived channel's statistics are
   * its own), reviving elements take their MRU values. Returns the masks of
   * elements that changed state (1 = changed), for resetting optimizer state.
   * Reads only the variables with elements changing state (asynchronously).
   */
  async transition(active: ActiveSets): Promise<ElementMasks> {
    const next = elementMasks(this.graph, active);
    const changed: ElementMasks = new Map();
    const moving = [...next].filter(([name, nm]) => {
      const pm = this.live.get(name)!;
      for (let i = 0; i < nm.length; i++) if (pm[i] !== nm[i]) return true;
      return false;
    });
    const values = await Promise.all(moving.map(async ([name]) => ((await this.vars.get(name)!.v.data()) as Float32Array).slice()));
    for (const [k, [name, nm]] of moving.entries()) {
      const pm = this.live.get(name)!;
      const e = this.vars.get(name)!;
      const cur = values[k]!;
      const store = this.mru.get(name)!;
      const ch = new Float32Array(nm.length);
      let any = false;
      const keepDead = e.layerWeight.endsWith('moving_variance');
      for (let i = 0; i < nm.length; i++) {
        if (pm[i] === nm[i]) continue;
        ch[i] = 1;
        any = true;
        if (pm[i] === 1) {
          store[i] = cur[i]!;
          if (!keepDead) cur[i] = 0;
        } else {
          cur[i] = store[i]!;
        }
      }
      if (any) {
        tf.tidy(() => e.v.assign(tf.tensor(cur, e.v.shape)));
        changed.set(name, ch);
      }
    }
    this.live = next;
    return changed;
  }

  /**
   * The zero-init ablation: forgets every MRU value, so revived channels come
   * back with zero filter weights and freshly initialised batch norm (gamma 1,
   * beta 0, moving mean 0, moving variance 1). Zeroing gamma too would leave
   * such a channel dead for good: with zero weights and gamma 0 neither gets
   * a gradient, its Taylor score stays 0 and it is never grown.
   */
  zeroMru(): void {
    for (const [name, store] of this.mru) store.fill(/(gamma|moving_variance)$/.test(this.vars.get(name)!.layerWeight) ? 1 : 0);
  }

  /** Update masks for the trainer: `mode` 'active' trains live elements only; 'explore' trains the dead ones only. */
  updateMasks(active: ActiveSets, mode: 'active' | 'explore'): tf.NamedTensorMap {
    const masks = elementMasks(this.graph, active);
    const out: tf.NamedTensorMap = {};
    for (const [name, m] of masks) {
      if (!this.vars.get(name)!.trainable) continue;
      out[name] = tf.tensor(mode === 'active' ? m : m.map((x) => 1 - x), this.vars.get(name)!.v.shape);
    }
    return out;
  }

  /** Snapshot of batch-norm moving statistics (to restore the active channels' after exploration). */
  async snapshotStats(): Promise<Map<string, Float32Array>> {
    const names = [...this.vars].filter(([, e]) => /moving_(mean|variance)$/.test(e.layerWeight)).map(([name]) => name);
    const data = await Promise.all(names.map(async (name) => ((await this.vars.get(name)!.v.data()) as Float32Array).slice()));
    return new Map(names.map((name, i) => [name, data[i]!]));
  }

  /** Restores `snapshot` statistics on the channels live in `active` (others keep their current values). */
  async restoreStats(snapshot: Map<string, Float32Array>, active: ActiveSets): Promise<void> {
    const masks = elementMasks(this.graph, active);
    const entries = [...snapshot];
    const current = await Promise.all(entries.map(async ([name]) => ((await this.vars.get(name)!.v.data()) as Float32Array).slice()));
    for (const [k, [name, saved]] of entries.entries()) {
      const m = masks.get(name);
      const e = this.vars.get(name)!;
      const cur = current[k]!;
      for (let i = 0; i < cur.length; i++) if (!m || m[i] === 1) cur[i] = saved[i]!;
      tf.tidy(() => e.v.assign(tf.tensor(cur, e.v.shape)));
    }
  }

  /** Zeroes optimizer velocities of elements that changed state. */
  resetVelocities(opt: SgdMomentum, changed: ElementMasks): void {
    const keep = new Map<string, Float32Array>();
    for (const [name, ch] of changed)
      keep.set(
        name,
        ch.map((x) => 1 - x),
      );
    opt.maskVelocities(keep);
  }
}
