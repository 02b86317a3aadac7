/**
 * Coupling-aware selection on synthetic conv nets whose latency has coupling
 * (cin × cout) and non-monotone cliffs off multiples of 8.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  domainValues,
  keepValue,
  linearise,
  seededRandom,
  solveCoupled,
  SyntheticLatencyModel,
  syntheticGroups,
  syntheticMobileNetV1Net,
  syntheticResNet50Net,
  type CoupledGroup,
  type CoupledLatencyModel,
  type KeepCounts,
  type SyntheticLayer,
  type SyntheticNet,
} from '../src/solver/index.js';

type Rng = () => number;

/** Random small net: a chain of groups, some skip layers feeding a shared group, some depthwise convs. */
function randomNet(rnd: Rng): SyntheticNet {
  const G = 2 + Math.floor(rnd() * 4);
  const groups = Array.from({ length: G }, (_, i) => ({ id: `g${i}`, width: 8 + Math.floor(rnd() * 17) }));
  const layers: SyntheticLayer[] = [{ name: 'stem', cin: 3, cout: 'g0', fmap: 16, kernel: 3 }];
  for (let i = 1; i < G; i++) {
    const src = rnd() < 0.7 ? `g${i - 1}` : `g${Math.floor(rnd() * i)}`;
    layers.push({ name: `c${i}`, cin: src, cout: `g${i}`, fmap: 4 + Math.floor(rnd() * 12), kernel: rnd() < 0.5 ? 1 : 3 });
    if (i >= 2 && rnd() < 0.3) layers.push({ name: `skip${i}`, cin: `g${i - 2}`, cout: `g${i}`, fmap: 8, kernel: 1 });
    if (rnd() < 0.3) layers.push({ name: `dw${i}`, cin: `g${i}`, cout: `g${i}`, fmap: 8, kernel: 3, depthwise: true });
  }
  layers.push({ name: 'head', cin: `g${G - 1}`, cout: 10, fmap: 1, kernel: 1 });
  return { groups, layers };
}

/** Exhaustive optimum of a small coupled problem. */
function bruteForce(groups: readonly CoupledGroup[], model: CoupledLatencyModel, budget: number): { value: number; minLatency: number } {
  const doms = groups.map((g) => domainValues(g.domain));
  const keep: Record<string, number> = {};
  let value = -Infinity;
  let minLatency = Infinity;
  const rec = (i: number): void => {
    if (i === groups.length) {
      const lat = model.total(keep);
      minLatency = Math.min(minLatency, lat);
      if (lat <= budget) {
        let v = 0;
        for (const g of groups) v += keepValue(g, keep[g.id]!);
        value = Math.max(value, v);
      }
      return;
    }
    for (const k of doms[i]!) {
      keep[groups[i]!.id] = k;
      rec(i + 1);
    }
  };
  rec(0);
  return { value, minLatency };
}

test('synthetic latency has cliffs off multiples of 8, and delta agrees with total', { timeout: 10_000 }, () => {
  const net: SyntheticNet = {
    groups: [
      { id: 'a', width: 32 },
      { id: 'b', width: 32 },
    ],
    layers: [{ name: 'c', cin: 'a', cout: 'b', fmap: 8, kernel: 3 }],
  };
  const m = new SyntheticLatencyModel(net);
  const l = net.layers[0]!;
  assert.ok(m.layerLatency(l, 16, 17) > m.layerLatency(l, 16, 16), '17 slower than 16');
  assert.ok(m.layerLatency(l, 16, 17) > m.layerLatency(l, 16, 24), '17 slower than 24: not monotone');
  const rnd = seededRandom(3);
  for (let it = 0; it < 50; it++) {
    const rn = randomNet(rnd);
    const model = new SyntheticLatencyModel(rn);
    const keep: Record<string, number> = {};
    for (const g of rn.groups) keep[g.id] = 1 + Math.floor(rnd() * g.width);
    const g = rn.groups[Math.floor(rnd() * rn.groups.length)]!;
    const k = 1 + Math.floor(rnd() * g.width);
    const d = model.delta(g.id, k, keep);
    const exact = model.total({ ...keep, [g.id]: k }) - model.total(keep);
    assert.ok(Math.abs(d - exact) <= 1e-9 * Math.max(1, Math.abs(exact)), `delta ${d} vs ${exact}`);
  }
});

test(
  'coupled fixed point terminates and meets the budget under the true coupled latency (random small nets vs brute force)',
  { timeout: 10_000 },
  () => {
    const rnd = seededRandom(424242);
    let feasibleCases = 0;
    let infeasibleCases = 0;
    let ratioSum = 0;
    let worst = 1;
    for (let it = 0; it < 150; it++) {
      const net = randomNet(rnd);
      const model = new SyntheticLatencyModel(net, { msPerMac: 1e-4, msPerElement: 1e-3, overheadMs: 0.01 });
      const gran = rnd() < 0.5 ? 1 : 4;
      const groups: CoupledGroup[] = net.groups.map((g) => ({
        id: g.id,
        values: Array.from({ length: g.width }, () => rnd()).sort((a, b) => b - a),
        domain: { min: gran, max: g.width - ((g.width - gran) % gran), step: gran },
      }));
      const size = groups.reduce((s, g) => s * domainValues(g.domain).length, 1);
      if (size > 60000) continue;
      const full = model.fullLatency();
      const { minLatency } = bruteForce(groups, model, -Infinity);
      // budgets from below the fastest selection to above the full net
      const budget = minLatency + (rnd() * 1.1 - 0.1) * (full - minLatency);
      const bf = bruteForce(groups, model, budget);
      const r = solveCoupled({ budget, groups }, model, { maxIterations: 40 });
      assert.ok(r.iterations <= 40, `case ${it}: ${r.iterations} iterations`);
      assert.equal(model.total(r.keep), r.latency, 'reported latency is the true coupled total');
      if (bf.value === -Infinity) {
        infeasibleCases++;
        assert.equal(r.status, 'infeasible', `case ${it}: budget ${budget} below the true minimum ${minLatency}`);
        assert.ok(r.latency > budget);
        continue;
      }
      feasibleCases++;
      assert.equal(r.status, 'feasible', `case ${it}: a feasible selection exists (brute force) but none was found`);
      assert.ok(r.latency <= budget + 1e-9 * Math.max(1, budget), `case ${it}: true latency ${r.latency} > budget ${budget}`);
      assert.ok(r.value <= bf.value + 1e-9, `case ${it}: value above the exhaustive optimum`);
      const ratio = r.value / bf.value;
      ratioSum += ratio;
      worst = Math.min(worst, ratio);
    }
    assert.ok(feasibleCases > 80 && infeasibleCases > 3, `${feasibleCases} feasible / ${infeasibleCases} infeasible cases`);
    assert.ok(ratioSum / feasibleCases > 0.995, `mean value ratio to the exhaustive optimum: ${ratioSum / feasibleCases}`);
    assert.ok(worst > 0.95, `worst value ratio: ${worst}`);
  },
);

test('ResNet-50 structure: 37 groups over 53 convs; coupled solve meets budgets at granularity 8', { timeout: 10_000 }, () => {
  const net = syntheticResNet50Net();
  assert.equal(net.groups.length, 37);
  assert.equal(net.layers.length, 53);
  // a stage's residual group is shared by its blocks' conv3 and the downsample
  assert.equal(net.layers.filter((l) => l.cout === 'layer3.out').length, 7);
  const model = new SyntheticLatencyModel(net);
  const groups = syntheticGroups(net, 8, 1);
  const full = model.fullLatency();
  for (const frac of [0.3, 0.5, 0.8]) {
    const budget = frac * full;
    const r = solveCoupled({ budget, groups }, model);
    assert.equal(r.status, 'feasible', `fraction ${frac}`);
    assert.ok(model.total(r.keep) <= budget, `fraction ${frac}: ${model.total(r.keep)} > ${budget}`);
    assert.ok(r.latency > 0.98 * budget, `fraction ${frac}: spends the budget (${r.latency} of ${budget})`);
    for (const g of groups) assert.equal(r.keep[g.id]! % 8, 0, `${g.id} kept on a multiple of 8`);
    assert.ok(r.converged, `fraction ${frac}: converged`);
  }
});

test('MobileNet-V1 per channel: depthwise convs share the preceding group; coupled solve meets the budget', { timeout: 10_000 }, () => {
  const net = syntheticMobileNetV1Net();
  assert.equal(net.groups.length, 14);
  assert.equal(net.layers.filter((l) => l.depthwise).length, 13);
  for (const l of net.layers.filter((x) => x.depthwise)) assert.equal(l.cin, l.cout);
  const model = new SyntheticLatencyModel(net);
  const groups = syntheticGroups(net, 1, 2);
  const budget = 0.4 * model.fullLatency();
  const r = solveCoupled({ budget, groups }, model);
  assert.equal(r.status, 'feasible');
  assert.ok(model.total(r.keep) <= budget);
  assert.ok(r.latency > 0.99 * budget);
});

test(
  'without delta (total only) the solver gives the same quality; infeasible budgets report the fastest selection',
  { timeout: 10_000 },
  () => {
    const net = syntheticMobileNetV1Net();
    const model = new SyntheticLatencyModel(net);
    const totalOnly: CoupledLatencyModel = { total: (k: KeepCounts) => model.total(k) };
    const groups = syntheticGroups(net, 8, 5);
    const budget = 0.5 * model.fullLatency();
    const a = solveCoupled({ budget, groups }, model);
    const b = solveCoupled({ budget, groups }, totalOnly);
    // same method; float noise in the costs may only flip near-ties
    assert.equal(b.status, 'feasible');
    assert.ok(model.total(b.keep) <= budget);
    assert.ok(Math.abs(a.value - b.value) <= 1e-3 * a.value, `${a.value} vs ${b.value}`);
    // every group at its minimum is the fastest selection here; ask for less
    const minKeep = Object.fromEntries(groups.map((g) => [g.id, g.domain.min]));
    const floor = model.total(minKeep);
    const r = solveCoupled({ budget: 0.9 * floor, groups }, model);
    assert.equal(r.status, 'infeasible');
    assert.ok(Math.abs(r.minLatencySeen - floor) <= 1e-9 * floor, `fastest seen ${r.minLatencySeen} vs ${floor}`);
    assert.deepEqual(r.keep, minKeep);
  },
);

test('grow: linearising keeps fixed channels and a trust region limits each group to ± radius steps', { timeout: 10_000 }, () => {
  const net = syntheticResNet50Net();
  const model = new SyntheticLatencyModel(net);
  const groups = syntheticGroups(net, 8, 1).map((g) => ({ ...g, fixed: 16, domain: { ...g.domain, min: 16 } }));
  const at = Object.fromEntries(groups.map((g) => [g.id, 32]));
  const lin = linearise({ budget: 10, groups }, model, at, 10, 2);
  for (const g of lin.groups) {
    assert.equal(g.domain.min, 16);
    assert.equal(g.domain.max, 48);
    assert.equal(g.costs[2], 0, 'no cost change at the linearisation point');
    assert.equal(g.fixed, 16);
  }
  assert.equal(lin.baseLatency, model.total(at));
  const r = solveCoupled({ budget: 0.4 * model.fullLatency(), groups }, model, { start: at });
  assert.equal(r.status, 'feasible');
  for (const g of groups) assert.ok(r.keep[g.id]! >= 16, 'fixed channels stay');
  assert.throws(
    () => solveCoupled({ budget: 1, groups }, model, { start: { ...at, stem: 33 } }),
    /start\["stem"\] = 33 is not in the group's domain/,
  );
});

test('grow from a small selection under coupled costs: feasible, and several groups grow', { timeout: 10_000 }, () => {
  // a chain of convs: layer i costs k_i * k_{i+1}, so growing neighbours together costs more than
  // the sum of growing each alone
  const n = 6;
  const ids = Array.from({ length: n }, (_, i) => `g${i}`);
  const model = {
    total: (keep: Record<string, number>) => ids.reduce((a, id, i) => a + keep[id]! * (i + 1 < n ? keep[ids[i + 1]!]! : 8), 0) / 1000,
  };
  const start = Object.fromEntries(ids.map((id) => [id, 8]));
  // room for the sum of the one-at-a-time costs of one step in every group, less 10%
  const alone = ids.reduce((a, id) => a + model.total({ ...start, [id]: 12 }) - model.total(start), 0);
  const budget = model.total(start) + 0.9 * alone;
  const p = {
    budget,
    groups: ids.map((id) => ({
      id,
      fixed: 8,
      values: Array.from({ length: 8 }, (_, j) => 1 / (j + 1)),
      domain: { min: 8, max: 16, step: 4 },
    })),
  };
  const sol = solveCoupled(p, model, { start });
  assert.equal(sol.status, 'feasible');
  assert.ok(sol.latency <= budget * (1 + 1e-9));
  const grown = ids.filter((id) => sol.keep[id]! > 8).length;
  assert.ok(
    grown >= 3,
    `grew ${grown} groups to ${sol.latency.toFixed(4)} of a ${budget.toFixed(4)} budget (from ${model.total(start).toFixed(4)})`,
  );
});
