/**
 * Image folders for tests: an in-memory dataset written as PNG files, one folder per class.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ImageDataset } from '../../src/data/index.js';

/**
 * Writes `ds`'s images as PNGs, `<root>/<label>_<class>/<index>.png` (grey or RGB as the
 * dataset; names zero-padded, so sorted file names follow the dataset's index order).
 */
export async function exportPng(ds: ImageDataset, root: string): Promise<void> {
  const folder = (k: number) => join(root, `${k}_${ds.classNames[k]!.replace('/', '-')}`);
  for (let k = 0; k < ds.classNames.length; k++) mkdirSync(folder(k), { recursive: true });
  const size = ds.height * ds.width * ds.channels;
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; i < ds.count; i++) {
    const px = Buffer.from(ds.images.subarray(i * size, (i + 1) * size));
    const img = sharp(px, { raw: { width: ds.width, height: ds.height, channels: ds.channels as 1 | 3 } });
    jobs.push(
      (ds.channels === 1 ? img.toColourspace('b-w') : img).png().toFile(join(folder(ds.labels[i]!), `${String(i).padStart(5, '0')}.png`)),
    );
    if (jobs.length >= 32) await Promise.all(jobs.splice(0));
  }
  await Promise.all(jobs);
}
