import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { classCounts, describeDataset, embeddedSubsetDir, loadDataset, makeFashionMnistMini, resolveDataDir } from '../src/data/index.js';
import type { LatpruneError } from '../src/errors.js';
import { writeCifarDir, writeMnistDir } from './helpers/idx.js';
import { tempDirSync } from './helpers/tmp.js';

const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

test('resolveDataDir: explicit dir beats $LATPRUNE_DATA, which beats system dirs and the embedded subset', { timeout: 10_000 }, (t) => {
  const a = tempDirSync(t, 'latprune-data-');
  const b = tempDirSync(t, 'latprune-data-');
  writeMnistDir(a, { train: 2, test: 2, gz: true });
  // b is a parent folder holding a conventional subfolder.
  mkdirSync(join(b, 'fashion-mnist'));
  writeMnistDir(join(b, 'fashion-mnist'), { train: 2, test: 2, gz: false });
  const env = { LATPRUNE_DATA: b };
  assert.deepEqual(resolveDataDir('fashion-mnist', { dir: a, env, systemDirs: [] }), { dir: a, origin: 'explicit' });
  assert.deepEqual(resolveDataDir('fashion-mnist', { env, systemDirs: [a] }), { dir: join(b, 'fashion-mnist'), origin: 'env' });
  assert.deepEqual(resolveDataDir('fashion-mnist', { env: {}, systemDirs: ['/nonexistent/x', a] }), { dir: a, origin: 'system' });
  const emb = resolveDataDir('fashion-mnist', { env: {}, systemDirs: [] });
  assert.equal(emb.origin, 'embedded');
  assert.equal(emb.dir, embeddedSubsetDir());
  assert.ok(emb.dir.endsWith(join('data', 'fashion-mnist-mini')));
});

test('resolveDataDir: missing or incomplete directories and absent CIFAR-10 give NOT_FOUND naming the path', { timeout: 10_000 }, (t) => {
  const a = tempDirSync(t, 'latprune-data-');
  assert.throws(
    () => resolveDataDir('fashion-mnist', { dir: join(a, 'nope') }),
    (e: LatpruneError) => e.code === 'NOT_FOUND' && e.message.includes(join(a, 'nope')) && e.message.includes('does not exist'),
  );
  assert.throws(
    () => resolveDataDir('mnist', { env: { LATPRUNE_DATA: a } }),
    (e: LatpruneError) =>
      e.code === 'NOT_FOUND' && e.message.includes(join(a, 'train-images-idx3-ubyte.gz')) && e.message.includes('$LATPRUNE_DATA'),
  );
  assert.throws(
    () => resolveDataDir('cifar10', { env: {} }),
    (e: LatpruneError) => e.code === 'NOT_FOUND' && e.message.includes('cifar-10-batches-bin') && e.message.includes('LATPRUNE_DATA'),
  );
  assert.throws(
    () => resolveDataDir('fashion-mnist', { env: {}, systemDirs: [], allowEmbedded: false }),
    (e: LatpruneError) => e.code === 'NOT_FOUND' && e.message.includes('dataset-fashion-mnist'),
  );
});

test('loadDataset: CIFAR-10 via a parent dir with cifar-10-batches-bin; unknown names are listed', { timeout: 10_000 }, async (t) => {
  const a = tempDirSync(t, 'latprune-data-');
  mkdirSync(join(a, 'cifar-10-batches-bin'));
  writeCifarDir(join(a, 'cifar-10-batches-bin'), 2);
  const ds = await loadDataset('cifar10', { dir: a });
  assert.equal(ds.dir, join(a, 'cifar-10-batches-bin'));
  assert.equal(ds.train.count, 10);
  assert.equal(ds.test.count, 2);
  await assert.rejects(
    () => loadDataset('imagenet'),
    (e: LatpruneError) => e.code === 'BAD_ARGUMENT' && /fashion-mnist, mnist, cifar10/.test(e.message),
  );
});

test('shipped subset: 4,000 train / 1,000 test Fashion-MNIST images, 400 / 100 per class', { timeout: 10_000 }, async () => {
  const ds = await loadDataset('fashion-mnist', { env: {}, systemDirs: [] });
  assert.equal(ds.origin, 'embedded');
  assert.equal(ds.train.count, 4000);
  assert.equal(ds.test.count, 1000);
  assert.deepEqual([ds.train.height, ds.train.width, ds.train.channels], [28, 28, 1]);
  assert.deepEqual(classCounts(ds.train), new Array(10).fill(400));
  assert.deepEqual(classCounts(ds.test), new Array(10).fill(100));
  // Not blank: the mean pixel of Fashion-MNIST is about 0.286 * 255 = 73.
  const mean = ds.train.images.reduce((a, v) => a + v, 0) / ds.train.images.length;
  assert.ok(mean > 60 && mean < 85, `mean pixel ${mean}`);
});

test('describeDataset: names the directory and sizes, and warns only when the shipped subset was picked', { timeout: 10_000 }, async () => {
  const emb = await loadDataset('fashion-mnist', { env: {}, systemDirs: [] });
  const line = describeDataset(emb);
  assert.match(
    line,
    /^data: fashion-mnist from .+ \(embedded\): 4000 train, 1000 test images\nwarning: .*subset.*dataset-fashion-mnist.*--data DIR/s,
  );
  // the same files named explicitly are the user's choice: no warning
  const explicit = await loadDataset('fashion-mnist', { dir: embeddedSubsetDir() as string, env: {}, systemDirs: [] });
  assert.equal(explicit.origin, 'explicit');
  assert.doesNotMatch(describeDataset(explicit), /warning/);
  assert.equal(describeDataset(explicit).split('\n').length, 1);
});

test('makeFashionMnistMini: first N per class in file order (synthetic source)', { timeout: 10_000 }, async (t) => {
  const src = tempDirSync(t, 'latprune-data-');
  const out = tempDirSync(t, 'latprune-data-');
  // Labels are n % 10, so the first 2 per class are images 0..19.
  writeMnistDir(src, { train: 40, test: 30, gz: false });
  const s = await makeFashionMnistMini({ sourceDir: src, outDir: out, trainPerClass: 2, testPerClass: 1 });
  assert.equal(s.train.count, 20);
  assert.equal(s.train.lastSourceIndex, 19);
  assert.equal(s.test.lastSourceIndex, 9);
  const ds = await loadDataset('fashion-mnist', { dir: out });
  assert.equal(ds.train.count, 20);
  const full = await loadDataset('fashion-mnist', { dir: src });
  assert.deepEqual(ds.train.images, full.train.images.subarray(0, 20 * 784));
  assert.ok(readFileSync(join(out, 'README.md'), 'utf8').includes('first 2 images of each class'));
  await assert.rejects(() => makeFashionMnistMini({ sourceDir: src, outDir: out, trainPerClass: 5 }), /class 0 has only 4 images/);
});

test(
  'makeFashionMnistMini reproduces the shipped subset from the Debian files',
  { timeout: 20_000, skip: !existsSync(DEBIAN_DIR) && 'Debian dataset-fashion-mnist not installed' },
  async (t) => {
    const out = tempDirSync(t, 'latprune-data-');
    await makeFashionMnistMini({ sourceDir: DEBIAN_DIR, outDir: out });
    const shipped = embeddedSubsetDir() as string;
    for (const f of [
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
      't10k-images-idx3-ubyte.gz',
      't10k-labels-idx1-ubyte.gz',
    ]) {
      assert.deepEqual(gunzipSync(readFileSync(join(out, f))), gunzipSync(readFileSync(join(shipped, f))), f);
    }
  },
);
