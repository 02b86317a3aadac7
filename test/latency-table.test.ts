/**
 * Latency tables without a real runtime: schema validation, regime-aware
 * interpolation, layout-rule inference, resumable and sharded profiling with a
 * deterministic fake runtime, calibration fitting, and the estimator.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initBackend } from '../src/backend/index.js';
import { buildZooModel } from '../src/zoo/index.js';
import { analyzeModel, fullSelection } from '../src/graph/index.js';
import { LatpruneError } from '../src/errors.js';
import { FakeRuntime, ORT_RULES } from './helpers/fake-runtime.js';
import {
  LatencyEstimator,
  deviceMismatchWarning,
  calibrationWarning,
  CALIBRATION_P90_GOAL,
  errorStats,
  fitCalibration,
  chooseCalibration,
  applyCalibration,
  MIN_SPLIT_SAMPLES,
  baseGrid,
  DEFAULT_GRID,
  inferRule,
  isFast,
  loadTable,
  saveTable,
  makeLookup,
  mergeTables,
  referenceEntry,
  profileModel,
  regimeOf,
  validateTable,
  refreshCalibration,
  refittedCalibrationNote,
  calibrateTable,
  type LatencyTable,
} from '../src/latency/index.js';
import { tempDir } from './helpers/tmp.js';

const RULES = ORT_RULES;

test('inferRule recovers the probed ORT rule; regimes pad and classify', { timeout: 10_000 }, () => {
  const conv = Array.from({ length: 48 }, (_, i) => i + 1 < 17 || (i + 1) % 4 === 0);
  assert.deepEqual(inferRule(conv, 16), { below: 17, align: 4, outPad: 16 });
  const dw = Array.from({ length: 40 }, (_, i) => i + 1 === 1 || (i + 1) % 4 === 0);
  assert.deepEqual(inferRule(dw, 16), { below: 2, align: 4, outPad: 16 });
  assert.equal(inferRule([true, false, true, true, false], 16), undefined);
  assert.ok(isFast(RULES.conv!, 16) && isFast(RULES.conv!, 20) && !isFast(RULES.conv!, 17));
  assert.deepEqual(regimeOf(RULES, 'conv', 20, 17), { cls: 'fast', cinEff: 32, coutEff: 32 });
  assert.deepEqual(regimeOf(RULES, 'conv', 18, 17), { cls: 'plain', cinEff: 18, coutEff: 17 });
  assert.deepEqual(regimeOf({}, 'conv', 18, 17), { cls: 'single', cinEff: 18, coutEff: 17 });
});

test('the base grid covers the plain regime up to the widest plain input', { timeout: 10_000 }, () => {
  for (const [max, top] of [
    [64, 63],
    [32, 31],
    [1024, 1023],
    [20, 19],
  ] as const) {
    const pts = baseGrid(
      { op: 'conv', cinMax: max, coutMax: max, native: [[max, max]], cinFixed: false, coutFixed: false },
      RULES,
      DEFAULT_GRID,
    );
    const plainCins = [...new Set(pts.map(([c]) => c).filter((c) => regimeOf(RULES, 'conv', c, 16).cls === 'plain'))].sort((a, b) => a - b);
    assert.equal(plainCins.at(-1), top, `cinMax ${max}: plain inputs ${plainCins.join(' ')}`);
    assert.ok(plainCins[0]! >= RULES.conv!.below, 'no plain value below the threshold');
    // fast values are padded widths up to max
    assert.ok(pts.some(([c]) => c === max));
  }
});

test('interpolation: exact at grid points, bilinear and monotone inside a regime, never across regimes', { timeout: 10_000 }, () => {
  const pts: Array<[number, number, number]> = [];
  for (const cin of [16, 32, 48, 64]) for (const cout of [16, 32, 48, 64]) pts.push([cin, cout, cin * cout * 1e-3]);
  for (const cin of [17, 33, 49]) for (const cout of [16, 40, 64]) pts.push([cin, cout, 5 + cin * cout * 2e-3]);
  const f = makeLookup('conv', pts, RULES);
  for (const [a, b, v] of pts) assert.equal(f(a, b), v, `exact at (${a}, ${b})`);
  // fast regime: cin 40 (padded 48) equals the grid point 48; cout 17 pads to 32
  assert.equal(f(40, 64), f(48, 64));
  assert.equal(f(32, 17), f(32, 32));
  // monotone along both axes within the fast regime
  let prev = 0;
  for (let c = 16; c <= 64; c += 4) {
    const v = f(c, 40);
    assert.ok(v >= prev, `monotone in cin at ${c}`);
    prev = v;
  }
  // a plain-regime query (cin 21) uses plain points only: far above the fast neighbours
  assert.ok(f(21, 32) > 5, `plain regime kept: ${f(21, 32)}`);
  assert.ok(f(20, 32) < 2, `fast regime kept: ${f(20, 32)}`);
  // outside the grid: scaled by work
  assert.ok(Math.abs(f(128, 64) - 2 * f(64, 64)) < 1e-9);
});

test('schema validation names the bad field; device mismatch is loud', { timeout: 10_000 }, async (t) => {
  const dir = await tempDir(t, 'latprune-lut-');
  await initBackend({ requested: 'cpu' });
  const model = buildZooModel('resnet20', { inputShape: [8, 8, 1], numClasses: 3, seed: 1 });
  const out = join(dir, 't.json');
  const table = await profileModel(model, {
    modelName: 'r',
    batch: 2,
    runtime: new FakeRuntime(),
    out,
    grid: { step: 8, points: 3, refine: 0 },
    progress: false,
  });
  const bad = JSON.parse(await readFile(out, 'utf8')) as { signatures: Record<string, { points: unknown[][] }> };
  bad.signatures[Object.keys(bad.signatures)[0]!]!.points[0]![2] = 'fast';
  await writeFile(join(dir, 'bad.json'), JSON.stringify(bad));
  await assert.rejects(
    loadTable(join(dir, 'bad.json')),
    (e: unknown) =>
      e instanceof LatpruneError &&
      e.code === 'SCHEMA' &&
      /bad\.json: invalid latency table at 'signatures\..*\.points\.0\.2'/.test(e.message),
  );
  assert.throws(() => validateTable({ ...table, batch: -1 }, 'x.json'), /x\.json: invalid latency table at 'batch'/);
  await writeFile(join(dir, 'text.json'), 'not json');
  await assert.rejects(loadTable(join(dir, 'text.json')), /text\.json: not JSON/);
  assert.equal(deviceMismatchWarning(table, out), undefined);
  assert.match(
    deviceMismatchWarning({ ...table, device: { ...table.device, fingerprint: 'other-box' } }, out)!,
    /WARNING: .* was profiled on 'other-box'/,
  );
  model.dispose();
});

/** A fake runtime on a shared machine: every layer runs `factor(call)` times slower. */
class DriftingRuntime extends FakeRuntime {
  constructor(private readonly factor: (call: number) => number) {
    super();
  }
  override async measureLayer(sig: Parameters<FakeRuntime['measureLayer']>[0], cin: number, cout: number) {
    const m = await super.measureLayer(sig, cin, cout);
    const f = this.factor(this.calls);
    return { ...m, ms: m.ms * f, reorders: m.reorders.map((r) => ({ ...r, ms: r.ms * f })) };
  }
}

test(
  'the drift reference puts entries timed in a slower machine state on one scale, and shards of different states too',
  { timeout: 10_000 },
  async (t) => {
    const dir = await tempDir(t, 'latprune-lut-');
    await initBackend({ requested: 'cpu' });
    const model = buildZooModel('resnet20', { inputShape: [8, 8, 1], numClasses: 3, seed: 1 });
    const common = { modelName: 'r', batch: 2, grid: { step: 8, points: 3, refine: 0 }, progress: false, now: () => new Date(0) };
    const steady = await profileModel(model, { ...common, runtime: new FakeRuntime(), out: join(dir, 'steady.json') });
    assert.deepEqual(steady.reference && { ...steady.reference, n: 0 }, {
      ...referenceEntry(model)!,
      ms: steady.reference!.ms,
      every: 4,
      n: 0,
      minFactor: 1,
      maxFactor: 1,
    });
    // the machine runs 1.5x slower for 20 calls out of every 40
    const slow = (call: number) => (Math.floor(call / 20) % 2 === 1 ? 1.5 : 1);
    const points = (t: LatencyTable) =>
      Object.entries(t.signatures).flatMap(([k, s]) => s.points.map(([a, b, ms]) => [`${k} ${a},${b}`, ms] as const));
    const truth = new Map(points(steady));
    const off = (t: LatencyTable) => points(t).filter(([k, ms]) => Math.abs(ms / truth.get(k)! - 1) > 1e-3).length;
    const drifting = await profileModel(model, { ...common, runtime: new DriftingRuntime(slow), out: join(dir, 'drift.json') });
    const raw = await profileModel(model, { ...common, runtime: new DriftingRuntime(slow), out: join(dir, 'raw.json'), referenceEvery: 0 });
    const n = points(steady).length;
    assert.equal(raw.reference, undefined);
    await assert.rejects(
      profileModel(model, { ...common, runtime: new FakeRuntime(), out: join(dir, 'bad.json'), referenceEvery: -1 }),
      /--reference-every must be a whole number of entries .* got -1/,
    );
    assert.ok(off(raw) > 0.35 * n, `without a reference ${off(raw)} of ${n} entries are off`);
    // only entries in blocks that straddle a change of state stay off, by at most the mean of the two states
    assert.ok(off(drifting) < 0.25 * n, `with the reference ${off(drifting)} of ${n} entries are off`);
    for (const [k, ms] of points(drifting))
      assert.ok(ms / truth.get(k)! > 0.79 && ms / truth.get(k)! < 1.26, `${k}: ${ms} vs ${truth.get(k)}`);
    assert.equal(drifting.reference!.maxFactor, 1.5);
    // shards timed in different (constant) states merge onto the first shard's scale
    const s0 = await profileModel(model, {
      ...common,
      runtime: new FakeRuntime(),
      out: join(dir, 's0.json'),
      shard: { index: 0, count: 2 },
    });
    const s1 = await profileModel(model, {
      ...common,
      runtime: new DriftingRuntime(() => 1.5),
      out: join(dir, 's1.json'),
      shard: { index: 1, count: 2 },
    });
    assert.ok(off(s1) > 0, 'the slow shard is on its own scale');
    const merged = mergeTables([
      { path: 's0', table: s0 },
      { path: 's1', table: s1 },
    ]);
    assert.equal(off(merged), 0);
    assert.ok(Math.abs(merged.reorder!.sy / steady.reorder!.sy - 1) < 1e-9, 'reorder observations rescaled too');
    model.dispose();
  },
);

test(
  'profiling resumes after a kill to the same table; shards merge to the same points; other devices are refused',
  { timeout: 10_000 },
  async (t) => {
    const dir = await tempDir(t, 'latprune-lut-');
    await initBackend({ requested: 'cpu' });
    const model = buildZooModel('resnet20', { inputShape: [8, 8, 1], numClasses: 3, seed: 1 });
    const grid = { step: 8, points: 3, refine: 1 };
    const common = { modelName: 'r', batch: 2, grid, progress: false, now: () => new Date(0) };
    const full = await profileModel(model, { ...common, runtime: new FakeRuntime(), out: join(dir, 'full.json') });
    assert.ok(full.complete);
    const rt = new FakeRuntime();
    await profileModel(model, { ...common, runtime: rt, out: join(dir, 'resumed.json'), maxEntries: 7 });
    const partial = await loadTable(join(dir, 'resumed.json'));
    assert.equal(partial.stats.entries, 7);
    assert.equal(partial.complete, false);
    const resumed = await profileModel(model, { ...common, runtime: rt, out: join(dir, 'resumed.json') });
    assert.equal(rt.calls, full.stats.entries + resumed.reference!.n, 'no entry measured twice (the rest are drift references)');
    const pts = (t: LatencyTable) =>
      Object.fromEntries(Object.entries(t.signatures).map(([k, s]) => [k, [...s.points].sort((a, b) => a[0] - b[0] || a[1] - b[1])]));
    assert.deepEqual(pts(resumed), pts(full));
    // shards
    const s0 = await profileModel(model, {
      ...common,
      runtime: new FakeRuntime(),
      out: join(dir, 's0.json'),
      shard: { index: 0, count: 2 },
    });
    const s1 = await profileModel(model, {
      ...common,
      runtime: new FakeRuntime(),
      out: join(dir, 's1.json'),
      shard: { index: 1, count: 2 },
    });
    assert.equal(s0.complete, false);
    const merged = mergeTables([
      { path: 's0', table: s0 },
      { path: 's1', table: s1 },
    ]);
    assert.ok(merged.complete);
    assert.deepEqual(pts(merged), pts(full));
    assert.throws(
      () =>
        mergeTables([
          { path: 's0', table: s0 },
          { path: 'other', table: { ...s1, device: { ...s1.device, fingerprint: 'elsewhere' } } },
        ]),
      /lut merge: other has device fingerprint elsewhere/,
    );
    // a resumed run with other flags is refused
    await assert.rejects(
      profileModel(model, { ...common, batch: 4, runtime: new FakeRuntime(), out: join(dir, 'full.json') }),
      /holds a table with batch 2, but this run asks for 4/,
    );
    model.dispose();
  },
);

test(
  'estimator: full width = sum of the layers look-ups (+ reorders); calibration fit recovers known parameters',
  { timeout: 10_000 },
  async (t) => {
    const dir = await tempDir(t, 'latprune-lut-');
    await initBackend({ requested: 'cpu' });
    const model = buildZooModel('resnet20', { inputShape: [8, 8, 1], numClasses: 3, seed: 1 });
    const table = await profileModel(model, {
      modelName: 'r',
      batch: 2,
      runtime: new FakeRuntime(),
      out: join(dir, 't.json'),
      grid: { step: 8, points: 3, refine: 0 },
      progress: false,
    });
    const graph = analyzeModel(model);
    const est = LatencyEstimator.create(model, table, graph);
    const b = est.estimateSelection(fullSelection(graph));
    const rt = new FakeRuntime();
    let sum = 0;
    for (const [name, l] of Object.entries(b.perLayer)) {
      const sig = Object.values(table.signatures).find((s) => s.layers.includes(name))!;
      sum += (await rt.measureLayer(sig, l.cin, l.cout)).ms;
    }
    assert.ok(Math.abs(b.layersMs - sum) < 1e-4 * sum, `layers ${b.layersMs} vs native points ${sum} (tables store 5 decimals)`);
    assert.equal(b.totalMs, b.layersMs + b.reorderMs);
    // widths from counts (the solver's fast path) equal the graph's widths of a first-k selection
    const { layerWidths } = await import('../src/graph/index.js');
    const { randomKeep, keepToSelection } = await import('../src/latency/index.js');
    const { seededRandom } = await import('../src/util/random.js');
    const rnd = seededRandom(3);
    for (let i = 0; i < 5; i++) {
      const k = randomKeep(graph, rnd, 0.1);
      assert.deepEqual(est.widthsForKeep(k), layerWidths(graph, keepToSelection(graph, k)));
      assert.equal(est.total(k), est.estimateSelection(keepToSelection(graph, k)).totalMs);
    }
    // pruning a stage-3 inner group to a plain width (off the fast lattice) costs more than a fast width just above it
    const keep = Object.fromEntries(graph.groups.map((g) => [g.id, g.size]));
    const inner = graph.groups.find((g) => g.id === 's3_b1_conv1')!;
    assert.ok(est.total({ ...keep, [inner.id]: 33 }) > est.total({ ...keep, [inner.id]: 36 }), 'cliff at a plain width is visible');
    // calibration
    const x1 = [10, 20, 30, 40, 55];
    const x2 = [1, 3, 2, 5, 4];
    const y = x1.map((v, i) => 0.8 * v + 0.5 * x2[i]! + 2);
    const fit = fitCalibration(x1, x2, y);
    assert.ok(Math.abs(fit.a - 0.8) < 1e-9 && Math.abs(fit.b - 0.5) < 1e-9 && Math.abs(fit.c - 2) < 1e-9);
    assert.deepEqual(errorStats([11, 18, 30], [10, 20, 30]), { median: 0.1, p90: 0.1 });
    // blocked and plain layers scaled apart: the two-scale model is recovered and chosen
    const samples = Array.from({ length: 12 }, (_, i) => {
      const plainMs = i % 2 ? 2 + i : 0;
      const partsMs = 10 + 1.5 * i + plainMs;
      return { partsMs, plainMs, otherMElems: 0.1 * i, measuredMs: 0.9 * (partsMs - plainMs) + 1.2 * plainMs };
    });
    const chosen = chooseCalibration(samples);
    assert.ok(Math.abs(chosen.scale - 0.9) < 1e-9 && Math.abs(chosen.plainScale! - 1.2) < 1e-9, `two-scale fit: ${JSON.stringify(chosen)}`);
    assert.ok(chosen.looMedian < 1e-9 && chosen.looP90 < 1e-9);
    for (const x of samples) assert.ok(Math.abs(applyCalibration(chosen, x) - x.measuredMs) < 1e-9);
    // the estimator applies plainScale to the plain layers' look-ups only
    const uncal = { ...table, calibration: undefined };
    const raw = LatencyEstimator.create(model, uncal, graph);
    const plainKeep = { ...keep, [inner.id]: 33 };
    const bp = raw.estimateSelection(keepToSelection(graph, plainKeep));
    assert.ok(bp.plainMs > 0 && bp.plainMs < bp.layersMs, 'a plain-width layer is counted as plain');
    assert.equal(raw.estimateSelection(keepToSelection(graph, keep)).plainMs, 0, 'the dense model has no plain layers');
    const cal = { scale: 0.9, plainScale: 1.3, otherMsPerMElem: 0.5, overheadMs: 0.2, medianError: 0, p90Error: 0, samples: [] };
    const calibrated = LatencyEstimator.create(model, { ...table, calibration: cal }, graph).estimateSelection(
      keepToSelection(graph, plainKeep),
    );
    const expect = 0.9 * (bp.layersMs + bp.reorderMs - bp.plainMs) + 1.3 * bp.plainMs + 0.5 * bp.otherMElems + 0.2;
    assert.ok(Math.abs(calibrated.totalMs - expect) < 1e-9, `calibrated total ${calibrated.totalMs} vs ${expect}`);
    // networks with plain layers calibrated apart: the estimator applies `mixed` to them, the top-level fit to the others
    const mixed = { scale: 1.1, plainScale: 1.4, otherMsPerMElem: 0.2, overheadMs: -0.3, fromPlainShare: 0 };
    const split = LatencyEstimator.create(model, { ...table, calibration: { ...cal, mixed } }, graph);
    const expectMixed = 1.1 * (bp.layersMs + bp.reorderMs - bp.plainMs) + 1.4 * bp.plainMs + 0.2 * bp.otherMElems - 0.3;
    assert.ok(
      Math.abs(split.estimateSelection(keepToSelection(graph, plainKeep)).totalMs - expectMixed) < 1e-9,
      'mixed coefficients for a network with a plain layer',
    );
    // below fromPlainShare the two fits are blended linearly in the plain share: halfway at half of it
    const share = bp.plainMs / (bp.layersMs + bp.reorderMs);
    const blended = LatencyEstimator.create(
      model,
      { ...table, calibration: { ...cal, mixed: { ...mixed, fromPlainShare: 2 * share } } },
      graph,
    );
    assert.ok(
      Math.abs(blended.estimateSelection(keepToSelection(graph, plainKeep)).totalMs - (expect + expectMixed) / 2) < 1e-9,
      'half-way blend',
    );
    const bd = raw.estimateSelection(keepToSelection(graph, keep));
    const expectDense = 0.9 * (bd.layersMs + bd.reorderMs) + 0.5 * bd.otherMElems + 0.2;
    assert.ok(
      Math.abs(split.estimateSelection(keepToSelection(graph, keep)).totalMs - expectDense) < 1e-9,
      'top-level coefficients for an all-blocked network',
    );
    model.dispose();
  },
);

test(
  'estimator layout conversions: a conv whose input width is a whole number of blocks reads the blocked tensor; a conversion costs by the elements it writes',
  { timeout: 10_000 },
  async (t) => {
    // measured with ORT's per-node profile (ResNet-20, batch 128, stage-1 residual width 16, inner widths 7/5/12):
    // each stage-1 block has one ReorderOutput (the inner conv's padded output back to plain, for the next conv,
    // whose 7 inputs are below the block), and it costs by its plain output (0.09 ms at 7 channels, 0.17 at 12)
    const dir = await tempDir(t, 'latprune-lut-');
    await initBackend({ requested: 'cpu' });
    const model = buildZooModel('resnet20', { inputShape: [8, 8, 1], numClasses: 3, seed: 1 });
    const built = await profileModel(model, {
      modelName: 'r',
      batch: 2,
      runtime: new FakeRuntime(),
      out: join(dir, 't.json'),
      grid: { step: 8, points: 3, refine: 0 },
      progress: false,
    });
    // reorders cost 0.5 ms + 1 ms per million elements written (two exact points)
    const table: LatencyTable = { ...built, calibration: undefined, reorder: { n: 2, sx: 1 + 2, sy: 1.5 + 2.5, sxx: 1 + 4, sxy: 1.5 + 5 } };
    const graph = analyzeModel(model);
    const est = LatencyEstimator.create(model, table, graph);
    const full = Object.fromEntries(graph.groups.map((g) => [g.id, g.size]));
    assert.equal(full['stem_conv'], 16, 'stage 1 is one block of 16 channels wide');
    const inner = { ...full, s1_b0_conv1: 7, s1_b1_conv1: 7, s1_b2_conv1: 7 };
    const added = est.estimate(est.widthsForKeep(inner)).reorderMs - est.estimate(est.widthsForKeep(full)).reorderMs;
    // three reorders (one per block) of 2 x 7 x 8 x 8 elements; nothing for the 16-wide residual stream
    const want = 3 * (0.5 + (2 * 7 * 8 * 8) / 1e6);
    assert.ok(Math.abs(added - want) < 1e-9, `stage-1 inner widths of 7 add ${added} ms of reorders, expected ${want}`);
    model.dispose();
  },
);

test(
  'a calibration fitted by an earlier estimator is refitted from the stored networks; a current one is left alone',
  { timeout: 10_000 },
  async (t) => {
    await initBackend({ requested: 'cpu' });
    const model = buildZooModel('resnet20', { inputShape: [8, 8, 1], numClasses: 3, seed: 1 });
    const graph = analyzeModel(model);
    const dir = await tempDir(t, 'latprune-lut-');
    const built = await profileModel(model, {
      modelName: 'r',
      batch: 2,
      runtime: new FakeRuntime(),
      out: join(dir, 't.json'),
      grid: { step: 8, points: 3, refine: 0 },
      progress: false,
    });
    const table = await calibrateTable(model, graph, built, new FakeRuntime(), { samples: 12, rounds: 1, producerVersion: 'test' });
    const cal = table.calibration!;
    assert.ok(cal.samples.length >= 12, 'the fake-runtime table is calibrated');
    const same = refreshCalibration(model, table);
    assert.equal(same.refitted, false);
    assert.equal(same.table, table, 'a current calibration is returned as is');
    // as if an earlier estimator had priced every network's parts 7% higher, and the coefficients fitted on that
    const old: LatencyTable = {
      ...table,
      calibration: { ...cal, scale: cal.scale / 1.07, samples: cal.samples.map((x) => ({ ...x, partsMs: x.partsMs * 1.07 })) },
    };
    const r = refreshCalibration(model, old);
    assert.equal(r.refitted, true);
    const full = Object.fromEntries(graph.groups.map((g) => [g.id, g.size]));
    const want = LatencyEstimator.create(model, table, graph).total(full);
    assert.ok(
      Math.abs(LatencyEstimator.create(model, r.table, graph).total(full) - want) < 1e-9 * want,
      'the refit equals the calibration fitted on current features',
    );
    assert.deepEqual(
      r.table.calibration!.samples.map((x) => x.partsMs),
      cal.samples.map((x) => x.partsMs),
    );
    assert.match(
      refittedCalibrationNote('t.json', old),
      /t\.json was calibrated by an earlier version of the estimator; .* refitted in memory from the \d+ networks it stores/,
    );
    model.dispose();
  },
);

test(
  'calibration: networks with plain-kernel layers get a fit of their own when it lowers the leave-one-out error',
  { timeout: 10_000 },
  () => {
    // all-blocked networks: 0.9 x parts + 1 ms; networks with plain layers: their own scales, untimed ops and constant
    const blocked = Array.from({ length: 8 }, (_, i) => {
      const partsMs = 8 + 1.7 * i;
      return { partsMs, plainMs: 0, otherMElems: 0.2 + 0.05 * i, measuredMs: 0.9 * partsMs + 1 };
    });
    const withPlain = Array.from({ length: 10 }, (_, i) => {
      const plainMs = 1 + ((i * 7) % 10) * 0.8;
      const partsMs = 9 + 1.3 * i + plainMs;
      const otherMElems = 0.3 + ((i * 3) % 5) * 0.2;
      return { partsMs, plainMs, otherMElems, measuredMs: 1.05 * (partsMs - plainMs) + 1.35 * plainMs + 2 * otherMElems - 0.5 };
    });
    const samples = [...blocked, ...withPlain];
    const fit = chooseCalibration(samples);
    assert.ok(fit.mixed, `split chosen: ${JSON.stringify(fit)}`);
    assert.ok(fit.looMedian < 1e-6 && fit.looP90 < 1e-6, `both populations are fitted exactly: ${fit.looMedian}, ${fit.looP90}`);
    for (const x of samples) assert.ok(Math.abs(applyCalibration(fit, x) - x.measuredMs) < 1e-6 * x.measuredMs);
    assert.ok(Math.abs(fit.mixed.plainScale! - 1.35) < 1e-6 && Math.abs(fit.mixed.otherMsPerMElem - 2) < 1e-6, JSON.stringify(fit.mixed));
    // one fit for both cannot be exact
    const joint = chooseCalibration(samples.map((x) => ({ ...x, plainMs: 0 })));
    assert.equal(joint.mixed, undefined);
    assert.ok(joint.looP90 > 0.01, `no split without plain layers: ${joint.looP90}`);
    // too few networks of one population: no split
    const few = chooseCalibration([...blocked.slice(0, MIN_SPLIT_SAMPLES - 1), ...withPlain]);
    assert.equal(few.mixed, undefined);
    // one population that follows the same model as the other: the split is not needed when it does not help
    const same = Array.from({ length: 16 }, (_, i) => {
      const plainMs = i % 2 ? 1 + i * 0.3 : 0;
      const partsMs = 8 + 1.1 * i + plainMs;
      return { partsMs, plainMs, otherMElems: 0.1 * i, measuredMs: 0.95 * (partsMs - plainMs) + 1.2 * plainMs };
    });
    assert.equal(chooseCalibration(same).mixed, undefined, 'one exact fit for both populations is kept');
  },
);

test(
  'calibration: the choice does not depend on the order of the networks, does not jump at the first plain layer, and scores leave-one-out honestly',
  { timeout: 10_000 },
  () => {
    // noisy populations, interleaved: blocked 0.75 x parts; with plain layers 1.0 x blocked + 1.4 x plain + 1
    const rnd = (i: number) => (((Math.sin(i * 12.9898) * 43758.5453) % 1) + 1) % 1;
    const samples = Array.from({ length: 24 }, (_, i) => {
      const plainMs = i % 3 === 0 ? 0 : 2 + 6 * rnd(i + 100);
      const partsMs = 8 + 10 * rnd(i) + plainMs;
      const exact = plainMs ? partsMs - plainMs + 1.4 * plainMs + 1 : 0.75 * partsMs;
      return { partsMs, plainMs, otherMElems: 0.5 + rnd(i + 200), measuredMs: exact * (1 + 0.02 * (rnd(i + 300) - 0.5)) };
    });
    const a = chooseCalibration(samples);
    const grouped = [...samples.filter((x) => !x.plainMs), ...samples.filter((x) => x.plainMs)];
    const b = chooseCalibration([...grouped].reverse());
    assert.ok(a.mixed, 'the split is chosen for two populations');
    for (const k of ['scale', 'otherMsPerMElem', 'overheadMs', 'looMedian', 'looP90'] as const)
      assert.ok(Math.abs(a[k] - b[k]) < 1e-9, `${k}: ${a[k]} vs ${b[k]}`);
    assert.ok(Math.abs(a.mixed.scale - b.mixed!.scale) < 1e-9 && a.mixed.fromPlainShare === b.mixed!.fromPlainShare);
    assert.ok(a.looMedian > 0 && a.looMedian < 0.02, `leave-one-out error within the noise: ${a.looMedian}`);
    // the mixed fit applies alone from the smallest plain share it was fitted on
    const shares = samples.filter((x) => x.plainMs).map((x) => x.plainMs / x.partsMs);
    assert.equal(a.mixed.fromPlainShare, Math.min(...shares));
    // no jump at the first plain layer: a network with a sliver of plain time is priced as an all-blocked one
    const base = { partsMs: 15, plainMs: 0, otherMElems: 1, measuredMs: 0 };
    const sliver = { ...base, plainMs: 1e-6 };
    assert.ok(
      Math.abs(applyCalibration(a, sliver) - applyCalibration(a, base)) < 1e-4,
      `${applyCalibration(a, sliver)} vs ${applyCalibration(a, base)}`,
    );
    // a candidate that cannot be fitted on every fold is not scored in-sample: with exactly 8 networks the
    // 4-term model (which needs 8) is skipped; with 9 it is chosen (exact), but the nested leave-one-out
    // (folds of 8) cannot choose it; with 10 the leave-one-out is exact too
    const four = (n: number) =>
      Array.from({ length: n }, (_, i) => {
        const plainMs = 1 + 3 * rnd(i + 400);
        const partsMs = 10 + 8 * rnd(i + 500) + plainMs;
        const otherMElems = 0.2 + rnd(i + 600);
        return { partsMs, plainMs, otherMElems, measuredMs: 0.8 * (partsMs - plainMs) + 1.5 * plainMs + 3 * otherMElems + 2 };
      });
    assert.ok(chooseCalibration(four(8)).looMedian > 1e-6, 'eight networks: no in-sample zero');
    const nine = chooseCalibration(four(9));
    assert.ok(Math.abs(nine.otherMsPerMElem - 3) < 1e-6 && nine.looMedian > 1e-6, JSON.stringify(nine));
    const ten = chooseCalibration(four(10));
    assert.ok(Math.abs(ten.otherMsPerMElem - 3) < 1e-6 && ten.looMedian < 1e-9, JSON.stringify(ten));
  },
);

test('table schema: a calibration with a mixed fit round-trips; a bad one is rejected naming the field', { timeout: 10_000 }, async (t) => {
  const dir = await tempDir(t, 'latprune-lut-');
  const table = await tinyTable(dir);
  const calibration = {
    scale: 0.9,
    otherMsPerMElem: 0.1,
    overheadMs: 0.2,
    mixed: { scale: 1.1, plainScale: 1.3, otherMsPerMElem: 0.5, overheadMs: -0.4, fromPlainShare: 0.25 },
    medianError: 0.01,
    p90Error: 0.02,
    samples: [],
  };
  await saveTable(join(dir, 'm.json'), { ...table, calibration });
  assert.deepEqual((await loadTable(join(dir, 'm.json'))).calibration, calibration);
  assert.throws(
    () => validateTable({ ...table, calibration: { ...calibration, mixed: { ...calibration.mixed, fromPlainShare: 2 } } }, 'm.json'),
    /m\.json: invalid latency table at 'calibration\.mixed\.fromPlainShare'/,
  );
});

/** Asserts that `f` throws a `SCHEMA` LatpruneError whose message matches every pattern. */
function rejectsWith(f: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof LatpruneError && e.code === 'SCHEMA', `a SCHEMA LatpruneError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test(
  'table validation: a negative latency entry is rejected naming the file, the signature and point, the value and the rebuild command',
  { timeout: 30_000 },
  async (t) => {
    const dir = await tempDir(t, 'latprune-lut-');
    const table = await tinyTable(dir);
    const key = Object.keys(table.signatures)[0]!;
    const sig = table.signatures[key]!;
    const [cin, cout] = sig.points[1]!;
    // stored under a zoo model's name with its input size: the command gives them as --model and --input
    const bad = structuredClone({ ...table, model: 'resnet20-8x8x1' });
    bad.signatures[key]!.points[1]![2] = -0.25;
    const entry = `signature ${escape(key)} \\(layers? ${escape(sig.layers[0]!)}.*\\), measured point #1 at cin ${cin}, cout ${cout}: its latency \\(ms\\)`;
    rejectsWith(
      () => validateTable(bad, 'lut.json'),
      new RegExp(
        `^lut\\.json: invalid latency table at 'signatures\\.${escape(key)}\\.points\\.1\\.2' \\(${entry}\\): must be a positive, finite time in ms, got -0\\.25\\. `,
      ),
      /Delete it and rebuild it with `latprune profile --model resnet20 --input 8x8x1 --batch 2 .*--step 8 --points 3 --refine 0 --out lut\.json`/,
    );
    // from a file, and a zero latency is as impossible as a negative one
    bad.signatures[key]!.points[1]![2] = 0;
    await writeFile(join(dir, 'zero.json'), JSON.stringify(bad));
    await assert.rejects(
      loadTable(join(dir, 'zero.json')),
      (e: unknown) =>
        e instanceof LatpruneError &&
        e.code === 'SCHEMA' &&
        /zero\.json: .*measured point #1 at cin \d+, cout \d+: its latency \(ms\)\): must be a positive, finite time in ms, got 0\./.test(
          e.message,
        ),
    );
    // a negative reorder sum and a negative calibration network time, each named
    rejectsWith(
      () => validateTable({ ...table, reorder: { n: 3, sx: 1, sy: -0.5, sxx: 1, sxy: 1 } }, 'lut.json'),
      /at 'reorder\.sy' \(layout-conversion fit: sy\): must be a finite number >= 0, got -0\.5/,
    );
    const calibration = {
      scale: 0.9,
      otherMsPerMElem: 0,
      overheadMs: -0.3,
      medianError: 0.02,
      p90Error: 0.04,
      samples: [
        { keep: { a: 4 }, measuredMs: 2, partsMs: 2.2, otherMElems: 0 },
        { keep: { a: 8 }, measuredMs: -1, partsMs: 3, otherMElems: 0 },
      ],
    };
    rejectsWith(
      () => validateTable({ ...table, calibration }, 'lut.json'),
      /at 'calibration\.samples\.1\.measuredMs' \(calibration network #1 of 2: measuredMs\): must be a positive, finite time in ms, got -1\. Delete its "calibration" field and run `latprune profile .* --out lut\.json` to measure a new one/,
    );
    // a negative fitted constant is legitimate (least squares leaves it free)
    assert.equal(
      validateTable({ ...table, calibration: { ...calibration, samples: calibration.samples.slice(0, 1) } }, 'lut.json').calibration!
        .overheadMs,
      -0.3,
    );
  },
);

test('table validation: NaN and Infinity are rejected (in memory, from a file, and before saving)', { timeout: 30_000 }, async (t) => {
  const dir = await tempDir(t, 'latprune-lut-');
  const table = await tinyTable(dir);
  const key = Object.keys(table.signatures)[0]!;
  const nan = structuredClone(table);
  nan.signatures[key]!.points[0]![2] = Number.NaN;
  rejectsWith(
    () => validateTable(nan, 'n.json'),
    /at 'signatures\..*\.points\.0\.2' \(signature .*measured point #0 .*\): must be a positive, finite time in ms, got NaN/,
  );
  // saveTable refuses it rather than writing `null`
  await assert.rejects(saveTable(join(dir, 'n.json'), nan), /n\.json: invalid latency table at 'signatures\..*\.points\.0\.2'/);
  await assert.rejects(readFile(join(dir, 'n.json')), { code: 'ENOENT' });
  // JSON cannot hold NaN, but 1e999 parses to Infinity
  const text = JSON.stringify({
    ...table,
    calibration: { scale: 1, otherMsPerMElem: 0, overheadMs: 0, medianError: 0, p90Error: 0, samples: [] },
  }).replace('"overheadMs":0', '"overheadMs":1e999');
  await writeFile(join(dir, 'inf.json'), text);
  await assert.rejects(
    loadTable(join(dir, 'inf.json')),
    (e: unknown) =>
      e instanceof LatpruneError &&
      e.code === 'SCHEMA' &&
      /inf\.json: invalid latency table at 'calibration\.overheadMs' \(calibration: overheadMs\): must be a finite number, got Infinity/.test(
        e.message,
      ),
  );
  const cal = { scale: Number.POSITIVE_INFINITY, otherMsPerMElem: 0, overheadMs: 0, medianError: 0, p90Error: 0, samples: [] };
  rejectsWith(
    () => validateTable({ ...table, calibration: cal }, 'c.json'),
    /at 'calibration\.scale' \(calibration: scale\): must be a finite number > 0, got Infinity/,
  );
  rejectsWith(
    () => validateTable({ ...table, stats: { ...table.stats, seconds: Number.NaN } }, 's.json'),
    /at 'stats\.seconds': must be a finite number >= 0, got NaN/,
  );
});

test(
  'table validation: impossible fields are rejected (batch, input size, channel counts, kept counts, shards)',
  { timeout: 30_000 },
  async (t) => {
    const dir = await tempDir(t, 'latprune-lut-');
    const table = await tinyTable(dir);
    const key = Object.keys(table.signatures)[0]!;
    rejectsWith(
      () => validateTable({ ...table, batch: 0 }, 'b.json'),
      /^b\.json: invalid latency table at 'batch': must be a whole batch size >= 1, got 0\. Delete it and rebuild it with `latprune profile --model r --threads 1 --step 8 --points 3 --refine 0 --out b\.json`\.$/,
    );
    rejectsWith(() => validateTable({ ...table, input: [8, 0, 1] }, 'i.json'), /at 'input\.1': must be a whole input width >= 1, got 0/);
    // a table profiled from a file names the file in its rebuild command, not the model name derived from it
    rejectsWith(
      () => validateTable({ ...table, source: 'models/x/model.onnx', batch: 0 }, 'b.json'),
      /rebuild it with `latprune profile --model models\/x\/model\.onnx --threads 1 /,
    );
    const frac = structuredClone(table);
    frac.signatures[key]!.points[0]![0] = 2.5;
    rejectsWith(
      () => validateTable(frac, 'f.json'),
      new RegExp(
        `at 'signatures\\.${escape(key)}\\.points\\.0\\.0' \\(.*measured point #0 at cin 2\\.5, cout \\d+: its input channels\\): must be a whole number of input channels >= 1, got 2\\.5`,
      ),
    );
    const wide = structuredClone(table);
    wide.signatures[key]!.cinMax = 0;
    rejectsWith(
      () => validateTable(wide, 'w.json'),
      new RegExp(`at 'signatures\\.${escape(key)}\\.cinMax' \\(signature ${escape(key)} .*: cinMax\\): must be a whole number >= 1, got 0`),
    );
    const calibration = {
      scale: 1,
      otherMsPerMElem: 0,
      overheadMs: 0,
      medianError: 0,
      p90Error: 0,
      samples: [{ keep: { stem: 0 }, measuredMs: 2, partsMs: 2, otherMElems: 0 }],
    };
    rejectsWith(
      () => validateTable({ ...table, calibration }, 'k.json'),
      /at 'calibration\.samples\.0\.keep\.stem' \(calibration network #0 of 1: keep\.stem\): must be a whole number of kept channels >= 1, got 0/,
    );
    const plain = { ...calibration, samples: [{ keep: { stem: 4 }, measuredMs: 2, partsMs: 2, plainMs: 3, otherMElems: 0 }] };
    rejectsWith(
      () => validateTable({ ...table, calibration: plain }, 'p.json'),
      /at 'calibration\.samples\.0\.plainMs' .*: must be at most partsMs \(2\)/,
    );
    rejectsWith(
      () => validateTable({ ...table, shard: { index: 2, count: 2 } }, 's.json'),
      /at 'shard\.index': must be below the shard count 2, got 2/,
    );
    // several bad fields: the first is named, the rest counted
    rejectsWith(
      () => validateTable({ ...table, batch: -1, input: [0, 0, 1] }, 'm.json'),
      /at 'batch': .*got -1 \(2 more fields are invalid\)/,
    );
  },
);

test(
  'calibrationWarning: loud when the estimate is far from the error goal or uncalibrated, silent when it is good',
  { timeout: 30_000 },
  async (t) => {
    const dir = await tempDir(t, 'latprune-lut-');
    const table = await tinyTable(dir);
    const cal = { scale: 0.9, otherMsPerMElem: 0, overheadMs: 0, medianError: 0.2, p90Error: 0.61, samples: [] };
    const warn = calibrationWarning({ ...table, model: 'resnet20-8x8x1', calibration: cal }, 'lut.json');
    assert.ok(warn, 'p90 61% warns');
    assert.match(
      warn,
      /^WARNING: lut\.json: the calibrated latency estimate is unreliable: p90 relative error 61\.0% in-sample \(median 20\.0%; no measured networks stored for a leave-one-out figure\), above the 15\.0% goal/,
    );
    assert.match(warn, /`latprune profile --model resnet20 --input 8x8x1 --batch 2 .*--out lut\.json --recalibrate --calibrate 64`/);
    assert.match(warn, /--granularity/);
    assert.match(warn, /latprune verify <pruned\.onnx> --baseline <dense\.onnx>/);
    assert.equal(
      calibrationWarning({ ...table, calibration: { ...cal, medianError: 0.02, p90Error: 0.04 } }, 'lut.json'),
      undefined,
      'p90 4% is fine',
    );
    assert.equal(CALIBRATION_P90_GOAL, 0.15);
    // no calibration at all
    assert.match(
      calibrationWarning({ ...table, calibration: undefined }, 'lut.json')!,
      /^WARNING: lut\.json has no calibration: .*raw sum of layer look-ups.*`latprune profile .*--out lut\.json --calibrate 32`/,
    );
    assert.match(
      calibrationWarning({ ...table, calibration: undefined, shard: { index: 0, count: 2 } }, 's0.json')!,
      /s0\.json is shard 0\/2 .*latprune lut merge/,
    );
    // the leave-one-out error is preferred: networks a linear model fits exactly pass; scattered ones warn even when the stored in-sample figure looks good
    const exact = Array.from({ length: 10 }, (_, i) => ({
      keep: { a: i + 1 },
      partsMs: 10 + 3 * i,
      otherMElems: 0,
      measuredMs: 0.9 * (10 + 3 * i),
    }));
    assert.equal(
      calibrationWarning({ ...table, calibration: { ...cal, medianError: 0, p90Error: 0, samples: exact } }, 'lut.json'),
      undefined,
    );
    const scattered = exact.map((s, i) => ({ ...s, measuredMs: s.measuredMs * (i % 2 ? 1.6 : 0.6) }));
    assert.match(
      calibrationWarning({ ...table, calibration: { ...cal, medianError: 0.01, p90Error: 0.04, samples: scattered } }, 'lut.json')!,
      /p90 relative error \d+\.\d% \(leave-one-out over its 10 measured networks: p90 \d+\.\d%, median \d+\.\d%; in-sample, of the coefficients in use: p90 4\.0%, median 1\.0%\)/,
    );
    // too few networks to judge
    assert.match(
      calibrationWarning({ ...table, calibration: { ...cal, p90Error: 0, samples: exact.slice(0, 2) } }, 'lut.json')!,
      /calibrated on only 2 measured networks/,
    );
  },
);

test('the committed latency tables pass validation', { timeout: 30_000 }, async () => {
  const root = join(import.meta.dirname, '..', '..', 'latency-tables');
  const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.json'));
  assert.ok(files.length > 0, `tables under ${root}`);
  for (const f of files) await loadTable(join(root, f));
});

/** A table of a tiny ResNet-20 from the fake runtime (no calibration). */
async function tinyTable(dir: string) {
  await initBackend({ requested: 'cpu' });
  const model = buildZooModel('resnet20', { inputShape: [8, 8, 1], numClasses: 3, seed: 1 });
  try {
    return await profileModel(model, {
      modelName: 'r',
      batch: 2,
      runtime: new FakeRuntime(),
      out: join(dir, 't.json'),
      grid: { step: 8, points: 3, refine: 0 },
      progress: false,
    });
  } finally {
    model.dispose();
  }
}
