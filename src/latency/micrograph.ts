/**
 * In-context ONNX graphs for timing one layer as it runs inside a network.
 *
 * A layer timed alone pays layout conversions that a network does not (ONNX
 * Runtime keeps its blocked layout between consecutive convolutions and fuses
 * bias, activation and residual adds into them). So the layer L is built
 * between a producer P (1x1 conv making its input) and a consumer Q (1x1 conv
 * reading its output), with its epilogue (activation, residual add fed by
 * another conv R) as the network has it. The runtime's per-node profile then
 * gives L's own kernel time; every node of L is named with the prefix
 * {@link LAYER_PREFIX}, and the neighbours' and reorders' times are not
 * counted (reorders are modelled separately).
 */
import { OnnxGraph, addAdd, addClip, addConv, addGemm, addRelu } from '../onnx/index.js';
import { randomFloats } from '../util/random.js';
import type { LayerSignature } from './signature.js';

/** Prefix of the timed layer's node and value names. */
export const LAYER_PREFIX = 'L__';
/** Channels of the producer's input and the consumer's output. */
export const CONTEXT_CHANNELS = 16;

/** A built micro-graph and the feeds it needs (besides their batch). */
export interface MicroGraph {
  readonly bytes: Uint8Array;
  /** Graph inputs with their shapes (batch first). */
  readonly inputs: ReadonlyArray<{ readonly name: string; readonly shape: readonly number[] }>;
}

function weights(n: number, seed: number): Float32Array {
  return randomFloats(n, seed, -0.1, 0.1);
}

/**
 * Builds the micro-graph timing a layer of signature `sig` with `cin` inputs
 * and `cout` outputs at batch `batch`.
 */
export function buildMicroGraph(sig: LayerSignature, cin: number, cout: number, batch: number, producerVersion: string): MicroGraph {
  const g = new OnnxGraph({ producerVersion, graphName: 'latprune_layer_in_context' });
  const L = LAYER_PREFIX;
  if (sig.op === 'gemm') {
    const x = g.addInput('x', [batch, cin]);
    g.addOutput('y', [batch, cout]);
    addGemm(g, x, {
      name: `${L}gemm`,
      output: 'y',
      weight: { data: weights(cout * cin, 1), dims: [cout, cin] },
      bias: { data: weights(cout, 2), dims: [cout] },
      transB: true,
    });
    return { bytes: g.encode(), inputs: [{ name: 'x', shape: [batch, cin] }] };
  }
  const c0 = CONTEXT_CHANNELS;
  const x = g.addInput('x', [batch, c0, sig.inH, sig.inW]);
  const conv1x1 = (input: string, ci: number, co: number, name: string, output: string, stride: [number, number] = [1, 1]) =>
    addConv(g, input, {
      name,
      output,
      weight: { data: weights(co * ci, ci + co), dims: [co, ci, 1, 1] },
      bias: { data: weights(co, 3), dims: [co] },
      strides: stride,
    });
  // producer: its output is L's input, in whatever layout the runtime keeps between convs
  const p = addRelu(g, conv1x1(x, c0, cin, 'P_conv', 'P_pre'), { name: 'P_relu', output: 'P_y' });
  const depthwise = sig.op === 'dwconv';
  const group = depthwise ? cin : 1;
  const [pt, pl, pb, pr] = sig.pads;
  let y = addConv(g, p, {
    name: `${L}conv`,
    output: `${L}conv_y`,
    weight: {
      data: weights(cout * (cin / group) * sig.kernel[0] * sig.kernel[1], 4),
      dims: [cout, cin / group, sig.kernel[0], sig.kernel[1]],
    },
    bias: { data: weights(cout, 5), dims: [cout] },
    strides: sig.stride,
    pads: [pt, pl, pb, pr],
    group,
  });
  if (sig.epilogue === 'add' || sig.epilogue === 'add_relu') {
    // the residual comes from another conv (a shortcut), as in the network
    const r = conv1x1(x, c0, cout, 'R_conv', 'R_y', sig.stride);
    y = addAdd(g, y, r, { name: `${L}add`, output: `${L}sum` });
  }
  if (sig.epilogue === 'relu' || sig.epilogue === 'add_relu') y = addRelu(g, y, { name: `${L}relu`, output: `${L}y` });
  if (sig.epilogue === 'relu6') y = addClip(g, y, { name: `${L}relu6`, output: `${L}y`, min: 0, max: 6 });
  g.addOutput('q', [batch, c0, sig.outH, sig.outW]);
  conv1x1(y, cout, c0, 'Q_conv', 'q');
  return { bytes: g.encode(), inputs: [{ name: 'x', shape: [batch, c0, sig.inH, sig.inW] }] };
}
