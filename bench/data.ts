/**
 * bench:data — the image-folder data path (src/data/image-folder/): decode +
 * augment throughput and memory high-water mark.
 *
 *   npm run bench:data [-- --images 512 --batch 64 --small 10000,100000 --stream-images 20000 --keep]
 *
 * 1. Writes `--images` synthetic 224x224 JPEGs (seeded, 4 classes) to a temp
 *    folder under /tmp and streams them with the training transform
 *    (RandomResizedCrop 224 + flip, 3 channels, normalised) and the evaluation
 *    transform (Resize 256 + CenterCrop 224) at 1 and 2 decode workers;
 *    img/s counts images delivered by `next()` after a warm-up batch.
 * 2. For each size in `--small`, writes that many 32x32 PNGs (256 distinct
 *    seeded images, copied) and streams `--stream-images` images of it (0 = a
 *    whole epoch) at 32x32 with pad-crop augmentation in a fresh child process,
 *    which reports its peak RSS (`process.resourceUsage().maxRSS`) and its RSS
 *    after listing the folder. Memory flat in the dataset size means the two
 *    peaks differ by little more than the file list.
 *
 * Temp folders are deleted at the end (unless --keep). Prints a human summary to
 * stderr and a final JSON line:
 *   {"bench":"data","jpeg224":{"train":{"workers_1":...,"workers_2":...},"eval":{...}},"memory":[...]}
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { Rng } from '../src/data/rng.js';
import { ImageFolderStream, scanImageFolder, type FolderAugmentation, type ImageFolderSplit } from '../src/data/image-folder/index.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '512' },
    batch: { type: 'string', default: '64' },
    small: { type: 'string', default: '10000,100000' },
    'stream-images': { type: 'string', default: '20000' },
    keep: { type: 'boolean', default: false },
    'child-memory': { type: 'string' },
  },
});

const say = (s: string) => process.stderr.write(`${s}\n`);

/** Child mode: stream a folder and report RSS (the parent starts it so each size has its own peak). */
async function childMemory(dir: string, limit: number): Promise<void> {
  const rssStart = process.memoryUsage().rss;
  const folder = await scanImageFolder(dir, { valFraction: 0.01 });
  const rssListed = process.memoryUsage().rss;
  const stream = new ImageFolderStream(folder.train, {
    batchSize: 256,
    input: [32, 32],
    channels: 3,
    augmentation: { cropPadding: 4, horizontalFlip: true },
    workers: 2,
    prefetch: 2,
  });
  const want = limit > 0 ? Math.min(limit, folder.train.count) : folder.train.count;
  let seen = 0;
  let rssMax = 0;
  const t0 = performance.now();
  try {
    while (seen < want) {
      const b = await stream.next();
      seen += b.shape[0];
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
    }
  } finally {
    await stream.close();
  }
  const s = (performance.now() - t0) / 1000;
  const mb = (v: number) => Number((v / 2 ** 20).toFixed(1));
  console.log(
    JSON.stringify({
      files: folder.train.count + folder.val.count,
      streamed: seen,
      img_per_s: Number((seen / s).toFixed(0)),
      rss_start_mb: mb(rssStart),
      rss_after_listing_mb: mb(rssListed),
      rss_sampled_max_mb: mb(rssMax),
      max_rss_mb: mb(process.resourceUsage().maxRSS * 1024),
    }),
  );
}

/** A seeded synthetic picture: smooth colour gradients, a few discs, noise (so JPEG has work to do). */
function picture(rng: Rng, w: number, h: number): Buffer {
  const px = Buffer.alloc(w * h * 3);
  const base = [rng.nextInt(256), rng.nextInt(256), rng.nextInt(256)];
  const discs = Array.from({ length: 4 }, () => ({
    x: rng.nextInt(w),
    y: rng.nextInt(h),
    r: 4 + rng.nextInt(Math.max(5, w >> 2)),
    c: [rng.nextInt(256), rng.nextInt(256), rng.nextInt(256)],
  }));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      let c = [(base[0] + x) & 255, (base[1] + y) & 255, (base[2] + x + y) & 255];
      for (const d of discs) if ((x - d.x) ** 2 + (y - d.y) ** 2 < d.r * d.r) c = d.c;
      for (let k = 0; k < 3; k++) px[o + k] = Math.max(0, Math.min(255, c[k] + rng.nextInt(17) - 8));
    }
  }
  return px;
}

async function writeJpegFolder(root: string, n: number): Promise<void> {
  const rng = Rng.fromSeed(224);
  for (let k = 0; k < 4; k++) mkdirSync(join(root, `class_${k}`), { recursive: true });
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    jobs.push(
      sharp(picture(rng, 224, 224), { raw: { width: 224, height: 224, channels: 3 } })
        .jpeg({ quality: 90 })
        .toFile(join(root, `class_${i % 4}`, `${String(i).padStart(6, '0')}.jpg`)),
    );
    if (jobs.length >= 16) await Promise.all(jobs.splice(0));
  }
  await Promise.all(jobs);
}

async function writeSmallPngFolder(root: string, n: number): Promise<void> {
  const rng = Rng.fromSeed(32);
  const pngs: Buffer[] = [];
  for (let i = 0; i < 256; i++)
    pngs.push(
      await sharp(picture(rng, 32, 32), { raw: { width: 32, height: 32, channels: 3 } })
        .png()
        .toBuffer(),
    );
  for (let k = 0; k < 10; k++) mkdirSync(join(root, `c${k}`), { recursive: true });
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    jobs.push(writeFile(join(root, `c${i % 10}`, `${String(i).padStart(6, '0')}.png`), pngs[(i * 7919) % 256]));
    if (jobs.length >= 64) await Promise.all(jobs.splice(0));
  }
  await Promise.all(jobs);
}

async function throughput(split: ImageFolderSplit, workers: number, augmentation: FolderAugmentation, batch: number): Promise<number> {
  const stream = new ImageFolderStream(split, {
    batchSize: batch,
    input: [224, 224],
    channels: 3,
    augmentation,
    workers,
    prefetch: 2 * workers + 1,
  });
  try {
    await stream.next(); // warm-up: worker start, sharp load
    let n = 0;
    const t0 = performance.now();
    for (let b = 1; b < stream.batchesPerEpoch; b++) n += (await stream.next()).shape[0];
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await stream.close();
  }
}

function runChild(dir: string, limit: number): Promise<Record<string, number>> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((res, rej) =>
    execFile(
      process.execPath,
      [self, '--child-memory', dir, '--stream-images', String(limit)],
      { maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) rej(new Error(`${err.message}\n${stderr}`));
        else res(JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, number>);
      },
    ),
  );
}

if (values['child-memory'] !== undefined) {
  await childMemory(values['child-memory'], Number(values['stream-images']));
} else {
  const images = Number(values.images);
  const batch = Number(values.batch);
  const limit = Number(values['stream-images']);
  const sizes = (values.small as string).split(',').filter(Boolean).map(Number);
  const tmp = mkdtempSync(join(tmpdir(), 'latprune-bench-data-'));
  say(`bench:data in ${tmp} (${cpus().length} CPUs, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips})`);
  try {
    let t = performance.now();
    const jpegDir = join(tmp, 'jpeg224');
    await writeJpegFolder(jpegDir, images);
    say(`wrote ${images} 224x224 JPEGs in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const split = (await scanImageFolder(jpegDir, { valFraction: 0.05 })).train;
    const rates: Record<'train' | 'eval', Record<string, number>> = { train: {}, eval: {} };
    for (const workers of [1, 2]) {
      for (const kind of ['train', 'eval'] as const) {
        const aug: FolderAugmentation = kind === 'train' ? { kind: 'random-resized-crop' } : { kind: 'none' };
        const r = await throughput(split, workers, aug, batch);
        rates[kind][`workers_${workers}`] = Number(r.toFixed(1));
        say(
          `224x224 JPEG, ${kind === 'train' ? 'RandomResizedCrop 224 + flip' : 'Resize 256 + CenterCrop 224'}, ${workers} worker(s): ${r.toFixed(0)} img/s`,
        );
      }
    }
    const memory: Record<string, number>[] = [];
    for (const n of sizes) {
      const dir = join(tmp, `png32-${n}`);
      t = performance.now();
      await writeSmallPngFolder(dir, n);
      say(`wrote ${n} 32x32 PNGs in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      const m = await runChild(dir, limit);
      memory.push({ folder_images: n, ...m });
      say(
        `${n}-image folder: streamed ${m['streamed']} at ${m['img_per_s']} img/s; RSS ${m['rss_start_mb']} MB at start, ${m['rss_after_listing_mb']} MB after listing, peak ${m['max_rss_mb']} MB`,
      );
      if (!values.keep) rmSync(dir, { recursive: true, force: true });
    }
    console.log(JSON.stringify({ bench: 'data', cpus: cpus().length, batch, jpeg224: { images: split.count, ...rates }, memory }));
  } finally {
    if (!values.keep) rmSync(tmp, { recursive: true, force: true });
  }
}
