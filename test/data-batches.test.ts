import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  BatchIterator,
  CIFAR_AUGMENTATION,
  Rng,
  assembleBatch,
  batchToTensors,
  classCounts,
  computeNormalization,
  defaultNormalization,
  trainValSplit,
  type Batch,
  type ImageDataset,
} from '../src/data/index.js';
import type { LatpruneError } from '../src/errors.js';

/** A synthetic dataset: image n has every pixel of channel c equal to (n * 3 + c) % 256, label n % k. */
function synth(count: number, h: number, w: number, c: number, k = 10): ImageDataset {
  const images = new Uint8Array(count * h * w * c);
  for (let n = 0; n < count; n++)
    for (let p = 0; p < h * w; p++) for (let ch = 0; ch < c; ch++) images[(n * h * w + p) * c + ch] = (n * 3 + ch) % 256;
  const labels = Uint8Array.from({ length: count }, (_, n) => n % k);
  return {
    name: 'synthetic',
    images,
    labels,
    count,
    height: h,
    width: w,
    channels: c,
    classNames: Array.from({ length: k }, (_, i) => `c${i}`),
  };
}

/** Image with distinct pixels so crops and flips are observable: value = y * w + x. */
function gradient(h: number, w: number): ImageDataset {
  const images = Uint8Array.from({ length: h * w }, (_, i) => i);
  return { name: 'g', images, labels: new Uint8Array(1), count: 1, height: h, width: w, channels: 1, classNames: ['a'] };
}

const take = (it: BatchIterator, n: number): Batch[] => Array.from({ length: n }, () => it.next());

test('Rng: xoshiro128** reference outputs, save/restore replays the stream, nextInt stays in range', { timeout: 10_000 }, () => {
  // Reference values from the published xoshiro128** C code with state {1, 2, 3, 4}.
  const r = Rng.fromState({ algorithm: 'xoshiro128**', s: [1, 2, 3, 4] });
  assert.deepEqual(
    Array.from({ length: 6 }, () => r.nextUint32()),
    [11520, 0, 5927040, 70819200, 2031721883, 1637235492],
  );
  const a = Rng.fromSeed(42);
  for (let i = 0; i < 100; i++) a.nextUint32();
  const saved = JSON.parse(JSON.stringify(a.getState()));
  const expected = Array.from({ length: 50 }, () => a.nextUint32());
  const b = Rng.fromState(saved);
  assert.deepEqual(
    Array.from({ length: 50 }, () => b.nextUint32()),
    expected,
  );
  assert.notDeepEqual(
    Array.from({ length: 5 }, () => Rng.fromSeed(1).nextUint32()),
    Array.from({ length: 5 }, () => Rng.fromSeed(2).nextUint32()),
  );
  const c = Rng.fromSeed(7);
  const hist = new Array(7).fill(0);
  for (let i = 0; i < 7000; i++) hist[c.nextInt(7)]++;
  assert.ok(
    hist.every((h) => h > 850 && h < 1150),
    `histogram ${hist}`,
  );
  assert.throws(
    () => Rng.fromState({ algorithm: 'xoshiro128**', s: [0, 0, 0, 0] }),
    (e: LatpruneError) => e.code === 'SCHEMA',
  );
});

test('trainValSplit: deterministic per seed, disjoint, stratified', { timeout: 10_000 }, () => {
  const ds = synth(200, 2, 2, 1);
  const s1 = trainValSplit(ds, { valFraction: 0.1, seed: 3 });
  const s2 = trainValSplit(ds, { valFraction: 0.1, seed: 3 });
  const s3 = trainValSplit(ds, { valFraction: 0.1, seed: 4 });
  assert.deepEqual(s1.valIndices, s2.valIndices);
  assert.notDeepEqual(s1.valIndices, s3.valIndices);
  assert.equal(s1.val.count, 20);
  assert.equal(s1.train.count, 180);
  assert.deepEqual(classCounts(s1.val), new Array(10).fill(2));
  // Image n is identified by its pixel value (n * 3) % 256; train and val together are a permutation.
  const ids = (d: ImageDataset): number[] => Array.from({ length: d.count }, (_, i) => d.images[i * 4]);
  const all = [...ids(s1.train), ...ids(s1.val)].sort((x, y) => x - y);
  assert.deepEqual(
    all,
    ids(ds).sort((x, y) => x - y),
  );
  assert.throws(() => trainValSplit(ds, { valFraction: 1, seed: 0 }), /valFraction/);
});

test(
  'BatchIterator: same seed gives the same batches, another seed different ones; each epoch covers every image once',
  { timeout: 10_000 },
  () => {
    const ds = synth(50, 4, 4, 1);
    const opts = { batchSize: 8, normalization: { mean: [0], std: [1] } };
    const a = take(new BatchIterator(ds, { ...opts, seed: 5 }), 10);
    const b = take(new BatchIterator(ds, { ...opts, seed: 5 }), 10);
    const c = take(new BatchIterator(ds, { ...opts, seed: 6 }), 10);
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      a.map((x) => Array.from(x.indices)),
      c.map((x) => Array.from(x.indices)),
    );
    const it = new BatchIterator(ds, { ...opts, seed: 5 });
    assert.equal(it.batchesPerEpoch, 7);
    for (let e = 0; e < 2; e++) {
      const seen: number[] = [];
      const batches = [...it.epochBatches()];
      assert.equal(batches.length, 7);
      assert.equal(batches[6].shape[0], 2);
      for (const bt of batches) {
        assert.equal(bt.epoch, e);
        seen.push(...bt.indices);
        // Labels and pixels follow the indices.
        bt.indices.forEach((j, i) => {
          assert.equal(bt.labels[i], j % 10);
          assert.ok(Math.abs(bt.x[i * 16] - ((j * 3) % 256) / 255) < 1e-6);
        });
      }
      assert.deepEqual(
        seen.sort((x, y) => x - y),
        Array.from({ length: 50 }, (_, i) => i),
      );
    }
    // Epochs are permuted differently.
    assert.notDeepEqual(Array.from(a[0].indices), Array.from(a[7].indices));
    const unshuffled = new BatchIterator(ds, { ...opts, shuffle: false, dropLast: true });
    assert.equal(unshuffled.batchesPerEpoch, 6);
    assert.deepEqual(Array.from(unshuffled.next().indices), [0, 1, 2, 3, 4, 5, 6, 7]);
  },
);

test(
  'BatchIterator: resuming from a saved cursor (mid-epoch and at an epoch boundary) replays the identical stream',
  { timeout: 10_000 },
  () => {
    const ds = synth(30, 8, 8, 3);
    const opts = { batchSize: 7, seed: 11, augmentation: CIFAR_AUGMENTATION, normalization: defaultNormalization('cifar10') };
    for (const skip of [3, 5, 11]) {
      const it = new BatchIterator(ds, opts);
      take(it, skip);
      const cursor = JSON.parse(JSON.stringify(it.cursor()));
      const rest = take(it, 9);
      const resumed = take(new BatchIterator(ds, { ...opts, seed: 999 }, cursor), 9);
      assert.deepEqual(resumed, rest, `resume after ${skip} batches`);
    }
    const it = new BatchIterator(ds, opts);
    take(it, 5);
    assert.deepEqual({ epoch: it.cursor().epoch, index: it.cursor().index }, { epoch: 1, index: 0 });
    assert.throws(() => new BatchIterator(ds, opts, { ...it.cursor(), index: 5 }), /out of range/);
  },
);

test('assembleBatch: normalisation is (v/255 - mean)/std per channel; crop pads with raw 0; flip mirrors', { timeout: 10_000 }, () => {
  const ds = synth(2, 2, 2, 3);
  const norm = { mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2] };
  const { x } = assembleBatch(ds, [1], norm);
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(x[c] - ((3 + c) / 255 - norm.mean[c]) / norm.std[c]) < 1e-6);

  const g = gradient(4, 5);
  const unit = { mean: [0], std: [1] };
  const img = (dy: number, dx: number, flip: boolean): number[] => {
    const out: number[] = [];
    for (let y = 0; y < 4; y++)
      for (let xx = 0; xx < 5; xx++) {
        const sy = y + dy;
        const sx = (flip ? 4 - xx : xx) + dx;
        out.push(sy < 0 || sy >= 4 || sx < 0 || sx >= 5 ? 0 : sy * 5 + sx);
      }
    return out;
  };
  const seen = new Set<string>();
  const rng = Rng.fromSeed(1);
  for (let t = 0; t < 200; t++) {
    const probe = rng.clone();
    const dy = probe.nextInt(5) - 2;
    const dx = probe.nextInt(5) - 2;
    const flip = probe.nextBool();
    const got = Array.from(assembleBatch(g, [0], unit, { cropPadding: 2, horizontalFlip: true }, rng).x, (v) => Math.round(v * 255));
    assert.deepEqual(got, img(dy, dx, flip));
    seen.add(`${dy},${dx},${flip}`);
  }
  assert.ok(seen.size > 30, `only ${seen.size} distinct augmentations`);
  assert.throws(() => assembleBatch(g, [0], unit, CIFAR_AUGMENTATION), /no Rng/);
});

test('computeNormalization and batchToTensors', { timeout: 10_000 }, async () => {
  await tf.setBackend('cpu');
  (tf.findBackend('cpu') as unknown as { firstUse: boolean }).firstUse = false;
  const ds = synth(4, 2, 2, 2);
  const n = computeNormalization(ds);
  // channel 0 values 0, 3, 6, 9 (/255): mean 4.5/255, population std sqrt(11.25)/255
  assert.ok(Math.abs(n.mean[0] - 4.5 / 255) < 1e-9);
  assert.ok(Math.abs(n.std[0] - Math.sqrt(11.25) / 255) < 1e-9);
  const batch = new BatchIterator(ds, { batchSize: 3, shuffle: false }).next();
  const { xs, ys } = batchToTensors(batch, 10);
  assert.deepEqual(xs.shape, [3, 2, 2, 2]);
  assert.deepEqual(ys.shape, [3, 10]);
  const am = ys.argMax(1);
  assert.deepEqual(Array.from(await am.data()), [0, 1, 2]);
  am.dispose();
  const plain = batchToTensors(batch);
  assert.equal(plain.ys.dtype, 'int32');
  tf.dispose([xs, ys, plain.xs, plain.ys]);
});
