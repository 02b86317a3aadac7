/**
 * Test helpers writing small synthetic MNIST-style IDX files and CIFAR-10
 * binary batches to a directory (temporary ones come from `tmp.ts`). The byte
 * layout is written out by hand here (not with the library's encoder) so the
 * readers are checked against an independent writer.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** IDX bytes of unsigned-byte data with the given dims (big-endian header). */
export function idxBytes(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** Pixel value of synthetic image `n` at (y, x): deterministic and distinct across images. */
export function synthPixel(n: number, y: number, x: number): number {
  return (n * 31 + y * 7 + x * 3) % 256;
}

/** Synthetic images `[count, h, w]` following {@link synthPixel}, and labels `n % 10`. */
export function synthMnist(count: number, h = 28, w = 28): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(count * h * w);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    labels[n] = n % 10;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) images[(n * h + y) * w + x] = synthPixel(n, y, x);
  }
  return { images, labels };
}

/**
 * Writes the four MNIST-style files into `dir`.
 *
 * @param gz - gzip them (names end in `.gz`) or not
 */
export function writeMnistDir(dir: string, opts: { train: number; test: number; gz: boolean; h?: number; w?: number }): void {
  const h = opts.h ?? 28;
  const w = opts.w ?? 28;
  for (const [prefix, count] of [
    ['train', opts.train],
    ['t10k', opts.test],
  ] as const) {
    const { images, labels } = synthMnist(count, h, w);
    const img = idxBytes([count, h, w], images);
    const lab = idxBytes([count], labels);
    const ext = opts.gz ? '.gz' : '';
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte${ext}`), opts.gz ? gzipSync(img) : img);
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte${ext}`), opts.gz ? gzipSync(lab) : lab);
  }
}

/** CIFAR value of record `r` of batch `b`, channel `c`, pixel `p` (0..1023). */
export function cifarPixel(b: number, r: number, c: number, p: number): number {
  return (b * 101 + r * 13 + c * 71 + p) % 256;
}

/** Bytes of a CIFAR-10 binary batch of `count` records: label `(b + r) % 10`, pixels from {@link cifarPixel}. */
export function cifarBatchBytes(b: number, count: number): Buffer {
  const out = Buffer.alloc(count * 3073);
  for (let r = 0; r < count; r++) {
    const o = r * 3073;
    out[o] = (b + r) % 10;
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) out[o + 1 + c * 1024 + p] = cifarPixel(b, r, c, p);
  }
  return out;
}

/** Writes `data_batch_1..5.bin` (batch ids 1..5) and `test_batch.bin` (batch id 0) into `dir`. */
export function writeCifarDir(dir: string, perBatch: number, gz = false): void {
  for (let b = 1; b <= 5; b++) {
    const bytes = cifarBatchBytes(b, perBatch);
    writeFileSync(join(dir, `data_batch_${b}.bin`), gz ? gzipSync(bytes) : bytes);
  }
  writeFileSync(join(dir, 'test_batch.bin'), cifarBatchBytes(0, perBatch));
}
