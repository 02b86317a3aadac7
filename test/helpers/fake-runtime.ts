/**
 * A deterministic stand-in for a profiling runtime: latency is the layer's
 * work in padded units, `plainFactor` times slower off the fast widths.
 */
import { regimeOf, type LatencyRuntime, type LayerSignature, type LayoutRules } from '../../src/latency/index.js';

/** The probed ORT rule of this project's development machine. */
export const ORT_RULES: LayoutRules = { conv: { below: 17, align: 4, outPad: 16 }, dwconv: { below: 2, align: 4, outPad: 16 } };

/** A fake {@link LatencyRuntime}. */
export class FakeRuntime implements LatencyRuntime {
  readonly name = 'ort' as const;
  readonly version = 'fake-1';
  readonly ep = 'cpu';
  readonly threads = 1;
  /** Layer measurements made. */
  calls = 0;

  constructor(
    private readonly rules: LayoutRules = ORT_RULES,
    private readonly plainFactor = 2.5,
  ) {}

  async measureLayer(sig: LayerSignature, cin: number, cout: number) {
    this.calls++;
    const r = regimeOf(this.rules, sig.op, cin, cout);
    const work = (r.cinEff * (sig.op === 'dwconv' ? 1 : r.coutEff) * sig.kernel[0] * sig.kernel[1] * sig.outH * sig.outW) / 1e6;
    const ms = 0.01 + work * (r.cls === 'plain' ? this.plainFactor : 1);
    return {
      ms,
      runs: 5,
      fast: r.cls !== 'plain',
      reorders: [{ elems: cin * sig.inH * sig.inW, ms: 0.001 + (cin * sig.inH * sig.inW) / 1e7 }],
    };
  }

  async probeLayout() {
    return this.rules;
  }

  async measureNetwork() {
    return { ms: 1, runs: 1 };
  }

  async dispose() {}
}
