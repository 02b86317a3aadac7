import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  encodeIdx,
  loadCifar10Split,
  loadIdxSplit,
  parseIdx,
  readIdxFile,
  FASHION_MNIST_CLASSES,
  CIFAR10_CLASSES,
} from '../src/data/index.js';
import { LatpruneError } from '../src/errors.js';
import { cifarBatchBytes, cifarPixel, idxBytes, synthMnist, synthPixel, writeCifarDir, writeMnistDir } from './helpers/idx.js';
import { tempDirSync } from './helpers/tmp.js';

/** Asserts that `fn` rejects with a LatpruneError of `code` whose message contains every fragment. */
async function rejectsWith(fn: () => Promise<unknown>, code: string, fragments: string[]): Promise<void> {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof LatpruneError, `expected LatpruneError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const f of fragments) assert.ok(err.message.includes(f), `message lacks "${f}": ${err.message}`);
    return true;
  });
}

test('IDX: raw and gzipped files decode to the same dims and data', { timeout: 10_000 }, async (t) => {
  const dir = tempDirSync(t, 'latprune-data-');
  const { images } = synthMnist(5, 4, 3);
  const bytes = idxBytes([5, 4, 3], images);
  writeFileSync(join(dir, 'a.idx'), bytes);
  writeFileSync(join(dir, 'a.idx.gz'), gzipSync(bytes));
  // A gzipped file without the .gz suffix is still detected by its magic.
  writeFileSync(join(dir, 'b.idx'), gzipSync(bytes));
  for (const f of ['a.idx', 'a.idx.gz', 'b.idx']) {
    const arr = await readIdxFile(join(dir, f), 3);
    assert.deepEqual(arr.dims, [5, 4, 3]);
    assert.equal(arr.data.length, 60);
    assert.equal(arr.data[(2 * 4 + 1) * 3 + 2], synthPixel(2, 1, 2));
  }
  // The library's encoder writes the same bytes as the independent test writer.
  assert.deepEqual(Buffer.from(encodeIdx([5, 4, 3], images)), bytes);
});

test('IDX: wrong magic, wrong rank, truncated and trailing bytes are rejected with the file named', { timeout: 10_000 }, () => {
  const good = idxBytes([2, 2, 2], new Uint8Array(8).fill(7));
  const bad = Buffer.from(good);
  bad[0] = 0x50;
  assert.throws(
    () => parseIdx(bad, 'x/wrong.idx', 3),
    (e: LatpruneError) => e.code === 'BAD_FILE' && /x\/wrong\.idx: wrong magic/.test(e.message),
  );
  assert.throws(
    () => parseIdx(good, 'x/rank.idx', 1),
    (e: LatpruneError) => /x\/rank\.idx: IDX file has 3 dimensions/.test(e.message),
  );
  assert.throws(
    () => parseIdx(good.subarray(0, good.length - 1), 'x/trunc.idx', 3),
    (e: LatpruneError) => /x\/trunc\.idx: truncated IDX data.*need 8 bytes.*got 7/.test(e.message),
  );
  assert.throws(
    () => parseIdx(good.subarray(0, 10), 'x/hdr.idx', 3),
    (e: LatpruneError) => /x\/hdr\.idx: truncated IDX header/.test(e.message),
  );
  assert.throws(
    () => parseIdx(Buffer.concat([good, Buffer.from([1])]), 'x/long.idx', 3),
    (e: LatpruneError) => /x\/long\.idx: 1 unexpected trailing/.test(e.message),
  );
  const float = Buffer.from(good);
  float[2] = 0x0d;
  assert.throws(
    () => parseIdx(float, 'x/f.idx'),
    (e: LatpruneError) => /float32/.test(e.message),
  );
});

test('IDX split: loads gz and raw directories as NHWC with 1 channel and Fashion-MNIST class names', { timeout: 10_000 }, async (t) => {
  for (const gz of [true, false]) {
    const dir = tempDirSync(t, 'latprune-data-');
    writeMnistDir(dir, { train: 12, test: 5, gz });
    const train = await loadIdxSplit(dir, 'train', 'fashion-mnist');
    const testSplit = await loadIdxSplit(dir, 'test', 'fashion-mnist');
    assert.equal(train.count, 12);
    assert.equal(testSplit.count, 5);
    assert.deepEqual([train.height, train.width, train.channels], [28, 28, 1]);
    assert.equal(train.images.length, 12 * 784);
    assert.equal(train.images[(7 * 28 + 3) * 28 + 20], synthPixel(7, 3, 20));
    assert.deepEqual(Array.from(train.labels), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    assert.equal(train.classNames, FASHION_MNIST_CLASSES);
  }
});

test('IDX split: count mismatch, missing file, truncated gzip and bad label name the files', { timeout: 10_000 }, async (t) => {
  const dir = tempDirSync(t, 'latprune-data-');
  writeMnistDir(dir, { train: 6, test: 4, gz: true });
  // Label file of the wrong length.
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxBytes([5], new Uint8Array(5))));
  await rejectsWith(() => loadIdxSplit(dir, 'train', 'mnist'), 'BAD_FILE', [
    join(dir, 'train-labels-idx1-ubyte.gz'),
    'holds 5 labels',
    join(dir, 'train-images-idx3-ubyte.gz'),
    'holds 6 images',
  ]);
  // Label out of range.
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxBytes([6], Uint8Array.from([0, 1, 2, 3, 10, 5]))));
  await rejectsWith(() => loadIdxSplit(dir, 'train', 'mnist'), 'BAD_FILE', ['train-labels-idx1-ubyte.gz', 'label 10 at index 4']);
  // Truncated gzip stream.
  const gz = readFileSync(join(dir, 't10k-images-idx3-ubyte.gz'));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gz.subarray(0, gz.length >> 1));
  await rejectsWith(() => loadIdxSplit(dir, 'test', 'mnist'), 'BAD_FILE', [join(dir, 't10k-images-idx3-ubyte.gz'), 'truncated']);
  // Missing file.
  unlinkSync(join(dir, 't10k-labels-idx1-ubyte.gz'));
  await rejectsWith(() => loadIdxSplit(dir, 'test', 'mnist'), 'NOT_FOUND', [join(dir, 't10k-labels-idx1-ubyte.gz'), 'test labels']);
});

test('CIFAR-10: records are converted from CHW to NHWC, train batches concatenated in order', { timeout: 10_000 }, async (t) => {
  for (const gz of [false, true]) {
    const dir = tempDirSync(t, 'latprune-data-');
    writeCifarDir(dir, 3, gz);
    const train = await loadCifar10Split(dir, 'train');
    const testSplit = await loadCifar10Split(dir, 'test');
    assert.equal(train.count, 15);
    assert.equal(testSplit.count, 3);
    assert.deepEqual([train.height, train.width, train.channels], [32, 32, 3]);
    assert.deepEqual(train.classNames, CIFAR10_CLASSES);
    // Image 7 is record 1 of data_batch_3; pixel (y=5, x=9), channel 2 (blue).
    const p = 5 * 32 + 9;
    assert.equal(train.images[7 * 3072 + p * 3 + 2], cifarPixel(3, 1, 2, p));
    assert.equal(train.images[7 * 3072 + p * 3 + 0], cifarPixel(3, 1, 0, p));
    assert.equal(train.labels[7], (3 + 1) % 10);
    assert.equal(testSplit.labels[2], 2);
  }
});

test('CIFAR-10: truncated batch, bad label and missing batch are rejected naming the file', { timeout: 10_000 }, async (t) => {
  const dir = tempDirSync(t, 'latprune-data-');
  writeCifarDir(dir, 2);
  writeFileSync(join(dir, 'data_batch_2.bin'), cifarBatchBytes(2, 2).subarray(0, 3073 + 100));
  await rejectsWith(() => loadCifar10Split(dir, 'train'), 'BAD_FILE', [join(dir, 'data_batch_2.bin'), '3173 bytes', 'truncated']);
  const bad = cifarBatchBytes(0, 2);
  bad[3073] = 42;
  writeFileSync(join(dir, 'test_batch.bin'), bad);
  await rejectsWith(() => loadCifar10Split(dir, 'test'), 'BAD_FILE', [join(dir, 'test_batch.bin'), 'record 1 has label 42']);
  unlinkSync(join(dir, 'data_batch_4.bin'));
  await rejectsWith(() => loadCifar10Split(dir, 'train'), 'NOT_FOUND', [join(dir, 'data_batch_4.bin'), 'CIFAR-10 binary']);
});
