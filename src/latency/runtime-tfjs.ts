/**
 * The active TensorFlow.js backend as a profiling target (`--runtime tfjs`):
 * layers timed with tfjs' fused ops (conv + bias + activation, plus the
 * residual add where the network has one), networks by running the model
 * rebuilt at the chosen widths. tfjs has no layout regimes to probe.
 */
import * as tf from '@tensorflow/tfjs';
import { median, timeRepeated, type LatencyRuntime, type LayerMeasurement, type NetworkSpec, type TimingOptions } from './runtime.js';
import type { LayoutRules } from './layout.js';
import type { LayerSignature } from './signature.js';
import { modelAtWidths } from '../model/index.js';

/** The tfjs runtime. */
export class TfjsRuntime implements LatencyRuntime {
  readonly name = 'tfjs' as const;
  readonly version = tf.version.tfjs;
  readonly ep = tf.getBackend();
  readonly threads = 1;

  /** {@inheritDoc LatencyRuntime.measureLayer} */
  async measureLayer(sig: LayerSignature, cin: number, cout: number, batch: number, t: TimingOptions = {}): Promise<LayerMeasurement> {
    const [pt, pl, pb, pr] = sig.pads;
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [pt, pb],
      [pl, pr],
      [0, 0],
    ];
    const act = sig.epilogue === 'relu' ? 'relu' : sig.epilogue === 'relu6' ? 'relu6' : 'linear';
    const held: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(x: T): T => (held.push(x), x);
    let run: () => tf.Tensor;
    if (sig.op === 'gemm') {
      const x = keep(tf.randomNormal([batch, cin]));
      const w = keep(tf.randomNormal([cin, cout]));
      const b = keep(tf.randomNormal([cout]));
      run = () => tf.fused.matMul({ a: x, b: w, bias: b });
    } else {
      const x = keep(tf.randomNormal([batch, sig.inH, sig.inW, cin])) as tf.Tensor4D;
      const b = keep(tf.randomNormal([cout])) as tf.Tensor1D;
      const res =
        sig.epilogue === 'add' || sig.epilogue === 'add_relu' ? keep(tf.randomNormal([batch, sig.outH, sig.outW, cout])) : undefined;
      const conv =
        sig.op === 'dwconv'
          ? (() => {
              const f = keep(tf.randomNormal([sig.kernel[0], sig.kernel[1], cin, 1])) as tf.Tensor4D;
              // depthwise takes only 'same'/'valid' (the signature's pads come from one of them)
              const dwPad = sig.pads.every((p) => p === 0) ? 'valid' : 'same';
              return () =>
                tf.fused.depthwiseConv2d({ x, filter: f, strides: sig.stride, pad: dwPad, bias: b, activation: res ? 'linear' : act });
            })()
          : (() => {
              const f = keep(tf.randomNormal([sig.kernel[0], sig.kernel[1], cin, cout])) as tf.Tensor4D;
              return () => tf.fused.conv2d({ x, filter: f, strides: sig.stride, pad, bias: b, activation: res ? 'linear' : act });
            })();
      run = res ? () => tf.tidy(() => (sig.epilogue === 'add_relu' ? tf.relu(tf.add(conv(), res)) : tf.add(conv(), res))) : conv;
    }
    try {
      const samples = await timeRepeated(async () => {
        const t0 = performance.now();
        const y = run();
        await y.data();
        y.dispose();
        return performance.now() - t0;
      }, t);
      return { ms: median(samples), runs: samples.length, reorders: [] };
    } finally {
      tf.dispose(held);
    }
  }

  /** tfjs backends have one regime. */
  async probeLayout(): Promise<LayoutRules> {
    return {};
  }

  /** {@inheritDoc LatencyRuntime.measureNetwork} */
  async measureNetwork(net: NetworkSpec, t: TimingOptions = {}): Promise<{ ms: number; runs: number }> {
    const m = await modelAtWidths(net.model, net.coutOf);
    const shape = m.inputs[0]!.shape.slice(1) as number[];
    const x = tf.randomNormal([net.batch, ...shape]);
    try {
      const samples = await timeRepeated(async () => {
        const t0 = performance.now();
        const y = m.predict(x) as tf.Tensor;
        await y.data();
        y.dispose();
        return performance.now() - t0;
      }, t);
      return { ms: median(samples), runs: samples.length };
    } finally {
      x.dispose();
      m.dispose();
    }
  }

  /** Nothing to release. */
  async dispose(): Promise<void> {}
}
