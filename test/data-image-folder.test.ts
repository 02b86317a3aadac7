import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import {
  BatchIterator,
  ImageFolderStream,
  Rng,
  centerCropBox,
  compareCodePoints,
  convertChannels,
  defaultNormalization,
  describeImageFolder,
  detectChannels,
  embeddedSubsetDir,
  liveImageFolderWorkers,
  loadIdxSplit,
  openImageFolderSources,
  pythonRound,
  randomResizedCropBox,
  resizeShorterSide,
  scanImageFolder,
  sourceEpochBatches,
  subsetDataset,
  type Batch,
  type BatchSource,
  type ImageDataset,
} from '../src/data/index.js';
import { LatpruneError } from '../src/errors.js';
import { fileTempDir } from './helpers/tmp.js';
import { exportPng } from './helpers/image-folder.js';

const FMNIST_NORM = defaultNormalization('fashion-mnist');

/** Byte-level equality of two batches (pixels as float32 bits, labels, indices, shape, position). */
function sameBatch(a: Batch, b: Batch): boolean {
  const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  return (
    bytes(a.x).equals(bytes(b.x)) &&
    Buffer.from(a.labels).equals(Buffer.from(b.labels)) &&
    a.indices.join() === b.indices.join() &&
    a.shape.join() === b.shape.join() &&
    a.epoch === b.epoch &&
    a.index === b.index
  );
}

async function take(src: BatchSource, n: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for (let i = 0; i < n; i++) out.push(await src.next());
  return out;
}

const isCode = (code: string, re?: RegExp) => (e: unknown) =>
  e instanceof LatpruneError && e.code === code && (re === undefined || re.test(e.message));

/** A small colour image of the given size and format; pixel values depend on (seed, y, x, c). */
async function writeImage(
  path: string,
  w: number,
  h: number,
  channels: 1 | 3 | 4,
  format: 'png' | 'jpeg' | 'webp',
  seed: number,
): Promise<void> {
  const px = Buffer.alloc(w * h * channels);
  for (let i = 0; i < px.length; i++) px[i] = (seed * 37 + i * 11) % 256;
  if (channels === 4) for (let p = 0; p < w * h; p++) px[p * 4 + 3] = 255;
  let img = sharp(px, { raw: { width: w, height: h, channels } });
  if (channels === 1) img = img.toColourspace('b-w');
  await (format === 'png' ? img.png() : format === 'jpeg' ? img.jpeg() : img.webp()).toFile(path);
}

const tmp = fileTempDir('latprune-imgfolder-');
let fm: { train: ImageDataset; test: ImageDataset };
let fmDir: string;

before(async () => {
  const dir = embeddedSubsetDir() as string;
  fm = { train: await loadIdxSplit(dir, 'train', 'fashion-mnist'), test: await loadIdxSplit(dir, 'test', 'fashion-mnist') };
  fmDir = join(tmp, 'fmnist');
  await exportPng(fm.train, join(fmDir, 'train'));
  await exportPng(fm.test, join(fmDir, 'test'));
});

test(
  'Fashion-MNIST exported to PNG folders streams the same batches as the IDX BatchIterator (no augmentation and pad-crop)',
  { timeout: 60_000 },
  async () => {
    const folder = await scanImageFolder(fmDir, { order: 'file-name' });
    assert.equal(folder.layout, 'train-test');
    assert.equal(folder.train.count, 4000);
    assert.equal(folder.val.count, 1000);
    assert.deepEqual(Array.from(folder.train.labels), Array.from(fm.train.labels));
    assert.deepEqual(Array.from(folder.val.labels), Array.from(fm.test.labels));
    assert.equal(folder.classNames[0], '0_T-shirt-top');
    assert.match(describeImageFolder(folder), /10 classes.*4000 train images.*1000 val images/);

    for (const augmentation of [undefined, { cropPadding: 2, horizontalFlip: true }]) {
      const opts = { batchSize: 128, seed: 11, dropLast: true, normalization: FMNIST_NORM, ...(augmentation ? { augmentation } : {}) };
      const stream = new ImageFolderStream(folder.train, { ...opts, input: [28, 28], channels: 1, workers: 2 });
      const iter = new BatchIterator(fm.train, opts);
      try {
        assert.equal(stream.batchesPerEpoch, iter.batchesPerEpoch);
        // a whole epoch (31 batches) and two of the next: the permutation, draws and pixels agree
        const n = augmentation ? 12 : 33;
        for (let b = 0; b < n; b++) {
          const [s, i] = [await stream.next(), iter.next()];
          assert.ok(sameBatch(s, i), `batch ${b} (${augmentation ? 'pad-crop' : 'plain'}) differs`);
        }
        assert.deepEqual(stream.cursor(), iter.cursor());
        assert.deepEqual(stream.cursor().epoch, augmentation ? 0 : 1);
        assert.equal(stream.stats().skippedImages, 0);
      } finally {
        await stream.close();
      }
    }
    assert.equal(liveImageFolderWorkers(), 0);
  },
);

test(
  'torchvision order: classes grouped in sorted folder order; the same batches as a BatchIterator over the IDX images in that order',
  { timeout: 30_000 },
  async () => {
    const folder = await scanImageFolder(fmDir);
    const names = folder.val.files.map((p) => Number(p.slice(-9, -4)));
    // class by class, and within a class by file name
    const expected = [...names].sort((a, b) => fm.test.labels[a] - fm.test.labels[b] || a - b);
    assert.deepEqual(names, expected);
    const reordered = subsetDataset(fm.test, names);
    const opts = { batchSize: 100, seed: 5, normalization: FMNIST_NORM };
    const stream = new ImageFolderStream(folder.val, { ...opts, input: [28, 28], channels: 1 });
    try {
      const iter = new BatchIterator(reordered, opts);
      for (let b = 0; b < 4; b++) assert.ok(sameBatch(await stream.next(), iter.next()), `batch ${b}`);
    } finally {
      await stream.close();
    }
  },
);

test(
  'resume: a cursor taken mid-epoch replays the remaining batches bit for bit (RandomResizedCrop, any worker count, across an epoch end)',
  { timeout: 60_000 },
  async () => {
    const folder = await scanImageFolder(fmDir, { order: 'file-name' });
    const split = folder.val; // 1000 images
    const opts = {
      batchSize: 150,
      seed: 3,
      input: [24, 24] as const,
      channels: 3 as const,
      augmentation: { kind: 'random-resized-crop' as const },
    };
    const a = new ImageFolderStream(split, { ...opts, workers: 1 });
    let cursor;
    let tail: Batch[];
    try {
      await take(a, 4);
      cursor = JSON.parse(JSON.stringify(a.cursor()));
      assert.deepEqual({ epoch: cursor.epoch, index: cursor.index }, { epoch: 0, index: 4 });
      tail = await take(a, 6); // batches 4..6 of epoch 0, then 0..2 of epoch 1
    } finally {
      await a.close();
    }
    assert.equal(tail[3].epoch, 1);
    assert.equal(tail[0].shape.join(), '150,24,24,3');
    // different chunking and worker count: decoding order changes, batches do not
    const b = new ImageFolderStream(split, { ...opts, workers: 2, chunkSize: 7, prefetch: 3 }, cursor);
    try {
      const again = await take(b, 6);
      again.forEach((x, i) => assert.ok(sameBatch(x, tail[i]), `resumed batch ${i} differs`));
    } finally {
      await b.close();
    }
    // the augmentation changes the pixels, not the images taken
    const plain = new ImageFolderStream(split, { ...opts, augmentation: { kind: 'none' } }, cursor);
    try {
      const p = await plain.next();
      assert.deepEqual(p.indices, tail[0].indices);
      assert.notDeepEqual(Array.from(p.x.subarray(0, 100)), Array.from(tail[0].x.subarray(0, 100)));
    } finally {
      await plain.close();
    }
    // a BatchIterator cursor resumes the folder stream where the iterator was
    const iter = new BatchIterator(fm.test, { batchSize: 100, seed: 9, normalization: FMNIST_NORM });
    iter.next();
    iter.next();
    const s = new ImageFolderStream(split, { batchSize: 100, input: [28, 28], channels: 1, normalization: FMNIST_NORM }, iter.cursor());
    try {
      const got: Batch[] = [];
      for await (const x of sourceEpochBatches(s)) got.push(x);
      assert.equal(got.length, 8);
      for (const x of got) assert.ok(sameBatch(x, iter.next()));
      assert.deepEqual(s.cursor(), iter.cursor());
    } finally {
      await s.close();
    }
    assert.equal(liveImageFolderWorkers(), 0);
  },
);

test(
  'colour, grey and alpha images of mixed sizes and formats: resize + centre crop, 1 or 3 channels, non-images and hidden entries skipped',
  { timeout: 30_000 },
  async () => {
    const root = join(tmp, 'mixed');
    for (const c of ['cat', 'dog']) mkdirSync(join(root, 'train', c, 'nested'), { recursive: true });
    for (const c of ['cat', 'dog']) mkdirSync(join(root, 'val', c), { recursive: true });
    mkdirSync(join(root, 'train', '.ipynb_checkpoints'));
    const specs: [string, number, number, 1 | 3 | 4, 'png' | 'jpeg' | 'webp'][] = [
      ['a.png', 40, 30, 3, 'png'],
      ['b.jpg', 17, 33, 3, 'jpeg'],
      ['c.webp', 16, 16, 3, 'webp'],
      ['d.png', 20, 20, 4, 'png'],
      ['e.PNG', 50, 19, 1, 'png'],
    ];
    let seed = 0;
    for (const c of ['cat', 'dog']) {
      for (const [name, w, h, ch, fmt] of specs) await writeImage(join(root, 'train', c, name), w, h, ch, fmt, seed++);
      await writeImage(join(root, 'train', c, 'nested', 'z.png'), 16, 16, 3, 'png', seed++);
      await writeImage(join(root, 'val', c, 'v.png'), 16, 16, 1, 'png', seed++);
    }
    writeFileSync(join(root, 'train', 'cat', 'notes.txt'), 'not an image');
    writeFileSync(join(root, 'train', 'dog', 'labels.csv'), 'x');
    writeFileSync(join(root, 'train', 'dog', 'old.bmp'), 'BM');
    writeFileSync(join(root, 'train', 'dog', '.DS_Store'), '');
    const folder = await scanImageFolder(root);
    assert.deepEqual(folder.classNames, ['cat', 'dog']);
    assert.equal(folder.train.count, 12);
    // os.walk order: a class folder's own files, then its sub-folders'
    assert.deepEqual(
      folder.train.files.slice(0, 6).map((p) => p.slice(root.length + 1)),
      ['train/cat/a.png', 'train/cat/b.jpg', 'train/cat/c.webp', 'train/cat/d.png', 'train/cat/e.PNG', 'train/cat/nested/z.png'],
    );
    assert.deepEqual(folder.skipped, { nonImage: 2, unsupported: 1, hidden: 2, byExtension: { '.txt': 1, '.csv': 1, '.bmp': 1 } });
    const text = describeImageFolder(folder);
    assert.match(text, /skipped 2 non-image file\(s\), 1 BMP\/PPM\/PGM \(.*\.txt 1.*\)/);
    assert.match(text, /warning: hidden folder\(s\) .*\.ipynb_checkpoints skipped/);
    assert.equal(await detectChannels(folder.train), 3);
    assert.equal(await detectChannels(folder.val), 1);

    for (const channels of [1, 3] as const) {
      const { train, val } = openImageFolderSources(folder, {
        batchSize: 5,
        input: [16, 16],
        channels,
        normalization: { mean: [0.5], std: [0.25] },
        augmentation: { kind: 'random-resized-crop' },
      });
      try {
        const epoch: Batch[] = [];
        for await (const b of sourceEpochBatches(train)) epoch.push(b);
        assert.deepEqual(
          epoch.map((b) => b.shape[0]),
          [5, 5, 2],
        );
        assert.equal(epoch[0].shape.join(), `5,16,16,${channels}`);
        assert.deepEqual(
          [...epoch.flatMap((b) => Array.from(b.indices))].sort((x, y) => x - y),
          [...Array(12).keys()],
        );
        for (const b of epoch) assert.ok(b.x.every((v) => Number.isFinite(v) && v >= -2 && v <= 2));
        const v = await val.next();
        assert.deepEqual(Array.from(v.labels), [0, 1]);
        if (channels === 3) {
          // a grey image read as RGB: three equal channels
          for (let p = 0; p < 16 * 16; p++) assert.ok(v.x[p * 3] === v.x[p * 3 + 1] && v.x[p * 3] === v.x[p * 3 + 2]);
        }
      } finally {
        await Promise.all([train.close(), val.close()]);
      }
    }
    // evaluation transform of a sized image is the identity; of a larger one Resize(int(16/0.875) = 18) + CenterCrop(16)
    const sized = { ...folder.val, files: [folder.train.files[2]], labels: Uint8Array.of(0), count: 1 };
    const raw = await sharp(folder.train.files[2]).raw().toBuffer();
    const s = new ImageFolderStream(sized, { batchSize: 1, input: [16, 16], channels: 3, normalization: { mean: [0], std: [1] } });
    try {
      const b = await s.next();
      assert.ok(b.x.every((v, i) => Math.abs(v - raw[i] / 255) < 1e-6));
    } finally {
      await s.close();
    }
    assert.equal(liveImageFolderWorkers(), 0);
  },
);

test(
  'bad folders: missing, a file, no class folders, one class, empty class, unknown val class; named errors',
  { timeout: 20_000 },
  async () => {
    const root = join(tmp, 'bad');
    mkdirSync(root);
    await assert.rejects(scanImageFolder(join(root, 'nope')), isCode('NOT_FOUND', /image folder not found/));
    writeFileSync(join(root, 'file.png'), 'x');
    await assert.rejects(scanImageFolder(join(root, 'file.png')), isCode('BAD_ARGUMENT', /is a file/));
    const loose = join(root, 'loose');
    mkdirSync(loose);
    await writeImage(join(loose, 'a.png'), 8, 8, 3, 'png', 1);
    await assert.rejects(scanImageFolder(loose), isCode('NOT_FOUND', /no class folders.*1 image\(s\) directly/));
    const one = join(root, 'one');
    mkdirSync(join(one, 'only'), { recursive: true });
    await writeImage(join(one, 'only', 'a.png'), 8, 8, 3, 'png', 1);
    await assert.rejects(scanImageFolder(one), isCode('BAD_ARGUMENT', /only one class folder \(only\)/));
    const empty = join(root, 'empty');
    for (const c of ['a', 'b', 'c']) mkdirSync(join(empty, c), { recursive: true });
    for (const c of ['a', 'c']) for (let i = 0; i < 4; i++) await writeImage(join(empty, c, `${i}.png`), 8, 8, 3, 'png', i);
    writeFileSync(join(empty, 'b', 'readme.txt'), 'x');
    await assert.rejects(scanImageFolder(empty), isCode('BAD_FILE', /empty class folder\(s\) .*\/b/));
    const allowed = await scanImageFolder(empty, { allowEmptyClasses: true, valFraction: 0.25, seed: 1 });
    assert.deepEqual(allowed.classNames, ['a', 'b', 'c']);
    assert.deepEqual([allowed.train.count, allowed.val.count], [6, 2]);
    assert.deepEqual(Array.from(allowed.val.labels), [0, 2]);
    assert.match(allowed.notes.join('\n'), /empty class folder/);
    await assert.rejects(scanImageFolder(empty, { allowEmptyClasses: true, valFraction: 1 }), isCode('BAD_ARGUMENT', /valFraction/));
    const mism = join(root, 'mism');
    for (const s of ['train/a', 'train/b', 'val/a', 'val/zebra']) mkdirSync(join(mism, s), { recursive: true });
    for (const s of ['train/a', 'train/b', 'val/a', 'val/zebra']) await writeImage(join(mism, s, 'x.png'), 8, 8, 3, 'png', 2);
    await assert.rejects(scanImageFolder(mism), isCode('BAD_FILE', /zebra are not in/));
    const split = (await scanImageFolder(fmDir)).val;
    assert.throws(
      () =>
        new ImageFolderStream(
          split,
          { batchSize: 10, input: [28, 28], channels: 1 },
          { epoch: 0, index: 100, rng: Rng.fromSeed(0).getState() },
        ),
      isCode('BAD_ARGUMENT', /out of range/),
    );
    assert.throws(
      () => new ImageFolderStream(split, { batchSize: 10, input: [28, 28], channels: 2 as 1 }),
      isCode('BAD_ARGUMENT', /channels/),
    );
    assert.throws(
      () =>
        new ImageFolderStream(split, {
          batchSize: 10,
          input: [28, 28],
          channels: 1,
          augmentation: { kind: 'random-resized-crop', scale: [0.5, 0.2] },
        }),
      isCode('BAD_ARGUMENT', /scale/),
    );
    assert.equal(liveImageFolderWorkers(), 0);
  },
);

test(
  'unreadable images: skipped with a warning naming the file and counted; past maxBadFraction a BAD_FILE error, workers ended',
  { timeout: 30_000 },
  async () => {
    const root = join(tmp, 'corrupt');
    for (const c of ['a', 'b']) mkdirSync(join(root, c), { recursive: true });
    for (const c of ['a', 'b'])
      for (let i = 0; i < 20; i++) await writeImage(join(root, c, `${String(i).padStart(2, '0')}.png`), 12, 12, 3, 'png', i);
    writeFileSync(join(root, 'a', '05.png'), 'this is not a PNG');
    const jpeg = await sharp(Buffer.alloc(12 * 12 * 3, 90), { raw: { width: 12, height: 12, channels: 3 } })
      .jpeg()
      .toBuffer();
    writeFileSync(join(root, 'b', '07.jpg'), jpeg.subarray(0, jpeg.length >> 1));
    writeFileSync(join(root, 'b', '08.jpg'), Buffer.alloc(0));
    const folder = await scanImageFolder(root, { valFraction: 0.1 });
    const all = {
      ...folder.train,
      files: [...folder.train.files, ...folder.val.files],
      labels: Uint8Array.from([...folder.train.labels, ...folder.val.labels]),
      count: 42,
    };
    const warnings: string[] = [];
    const s = new ImageFolderStream(all, {
      batchSize: 8,
      input: [12, 12],
      channels: 3,
      maxBadFraction: 0.1,
      workers: 2,
      onWarning: (m) => warnings.push(m),
    });
    try {
      const epoch: Batch[] = [];
      for await (const b of sourceEpochBatches(s)) epoch.push(b);
      assert.equal(epoch.length, 6);
      assert.equal(
        epoch.reduce((n, b) => n + b.shape[0], 0),
        39,
      );
      for (const b of epoch) assert.equal(b.x.length, b.shape[0] * 12 * 12 * 3);
      assert.equal(warnings.length, 3);
      for (const f of ['a/05.png', 'b/07.jpg', 'b/08.jpg'])
        assert.ok(
          warnings.some((w) => w.includes(join(root, f))),
          `no warning names ${f}: ${warnings.join(' | ')}`,
        );
      await take(s, 6); // the second epoch meets the same files: counted, not warned again
      assert.equal(warnings.length, 3);
      assert.deepEqual([s.stats().badFiles.length, s.stats().skippedImages, s.stats().decoded], [3, 6, 78]);
    } finally {
      await s.close();
    }
    const strict = new ImageFolderStream(all, { batchSize: 8, input: [12, 12], channels: 3, onWarning: () => undefined });
    await assert.rejects(
      (async () => {
        for (;;) await strict.next();
      })(),
      isCode('BAD_FILE', /could not be decoded, more than the 1% allowed/),
    );
    assert.equal(liveImageFolderWorkers(), 0);
    await assert.rejects(strict.next(), isCode('BAD_FILE'));
  },
);

test(
  'workers: ended by close(), by a worker failure, and a stream left open does not keep the process alive',
  { timeout: 40_000 },
  async () => {
    const split = (await scanImageFolder(fmDir)).val;
    const opts = { batchSize: 50, input: [28, 28] as const, channels: 1 as const, workers: 2 };
    const s = new ImageFolderStream(split, opts);
    assert.equal(liveImageFolderWorkers(), 0, 'workers start lazily');
    await s.next();
    assert.equal(liveImageFolderWorkers(), 2);
    await s.close();
    await s.close();
    assert.equal(liveImageFolderWorkers(), 0);
    await assert.rejects(s.next(), isCode('BAD_ARGUMENT', /closed/));

    process.env['LATPRUNE_FAULT'] = 'decode-worker-task@2';
    let f: ImageFolderStream | undefined;
    try {
      f = new ImageFolderStream(split, { ...opts, workers: 1, chunkSize: 50, prefetch: 3 });
      await f.next();
      await assert.rejects(take(f, 3), isCode('RUNTIME', /decode worker failed: injected fault/));
    } finally {
      delete process.env['LATPRUNE_FAULT'];
      await f?.close();
    }
    assert.equal(liveImageFolderWorkers(), 0);

    const index = pathToFileURL(fileURLToPath(new URL('../src/data/index.js', import.meta.url))).href;
    const script =
      `const d = await import(${JSON.stringify(index)});` +
      `const f = await d.scanImageFolder(${JSON.stringify(fmDir)});` +
      `const s = new d.ImageFolderStream(f.train, { batchSize: 64, input: [28, 28], channels: 1, workers: 2, prefetch: 4 });` +
      `const b = await s.next(); console.log('got', b.shape[0]);`;
    const started = Date.now();
    const scriptFile = join(tmp, 'left-open.mjs');
    writeFileSync(scriptFile, script);
    const out = await new Promise<string>((res, rej) =>
      execFile(process.execPath, [scriptFile], { timeout: 30_000 }, (err, stdout, stderr) =>
        err ? rej(new Error(`${err.message}\n${stderr}`)) : res(stdout),
      ),
    );
    assert.match(out, /got 64/);
    assert.ok(Date.now() - started < 30_000);
  },
);

test(
  'transforms follow torchvision and Python: rounding, string order, Resize(int), CenterCrop, RandomResizedCrop, PIL grey',
  { timeout: 10_000 },
  () => {
    assert.deepEqual([0.5, 1.5, 2.5, -0.5, 2.4, 2.6].map(pythonRound), [0, 2, 2, 0, 2, 3]);
    assert.deepEqual(['b', 'B', 'a_1', 'a', 'Z', '\u{1F600}', '\uFF5E'].sort(compareCodePoints), [
      'B',
      'Z',
      'a',
      'a_1',
      'b',
      '\uFF5E',
      '\u{1F600}',
    ]);
    assert.deepEqual(resizeShorterSide(500, 375, 256), { width: 341, height: 256 });
    assert.deepEqual(resizeShorterSide(375, 500, 256), { width: 256, height: 341 });
    assert.deepEqual(resizeShorterSide(256, 300, 256), { width: 256, height: 300 });
    assert.deepEqual(centerCropBox(341, 256, 224, 224), { top: 16, left: 58, height: 224, width: 224 });
    assert.deepEqual(centerCropBox(293, 256, 224, 224).left, 34); // round(34.5) = 34 in Python
    const rng = Rng.fromSeed(4);
    for (let i = 0; i < 500; i++) {
      const [w, h] = [20 + (i % 300), 30 + ((i * 7) % 200)];
      const b = randomResizedCropBox(rng, w, h);
      assert.ok(
        b.width >= 1 && b.height >= 1 && b.left >= 0 && b.top >= 0 && b.left + b.width <= w && b.top + b.height <= h,
        JSON.stringify({ w, h, b }),
      );
      const area = (b.width * b.height) / (w * h);
      assert.ok(area > 0.05 && area <= 1.0001);
    }
    // no try can fit a ratio of 3 in a square: the fallback is the central crop clamped to the ratio range
    assert.deepEqual(randomResizedCropBox(Rng.fromSeed(0), 100, 100, { scale: [0.9, 1], ratio: [3, 4] }), {
      top: 33,
      left: 0,
      height: 33,
      width: 100,
    });
    const same1 = randomResizedCropBox(Rng.fromSeed(9), 640, 480);
    assert.deepEqual(randomResizedCropBox(Rng.fromSeed(9), 640, 480), same1);
    assert.deepEqual(Array.from(convertChannels(Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30), 4, 3, 1)), [76, 150, 29, 18]);
    assert.deepEqual(Array.from(convertChannels(Uint8Array.of(7, 200, 9, 100), 2, 2, 3)), [7, 7, 7, 9, 9, 9]);
    assert.deepEqual(Array.from(convertChannels(Uint8Array.of(1, 2, 3, 4), 1, 4, 3)), [1, 2, 3]);
  },
);
