/**
 * Decodes one image file with sharp and writes it, resized, cropped, augmented
 * and normalised, into a slot of a batch. Runs in the decode workers (and in
 * the main thread for {@link detectChannels}).
 *
 * Pipeline per image: decode to 8-bit sRGB, then to the output's 1 or 3
 * channels like PIL's `convert` (alpha dropped, luma for grey) -> geometry
 * with sharp on the raw pixels (evaluation: `Resize(int(max(H, W) / cropFraction))`
 * + `CenterCrop`, skipped when the image already is `H x W` and `skipResizeWhenSized`;
 * training: `RandomResizedCrop` to `H x W`) -> pad-crop/flip and normalisation with batches.ts's own {@link writeShiftedImage}.
 */

import { writeShiftedImage } from '../batches.js';
import { Rng } from '../rng.js';
import type Sharp from 'sharp';
import { centerCropBox, convertChannels, evalResizeSize, randomResizedCropBox, resizeShorterSide, type CropBox, type RandomResizedCropOptions } from './transforms.js';

/** sharp's default export (loaded lazily: IDX/CIFAR users never load the native module). */
export type SharpModule = typeof Sharp;

/** Resampling kernels offered (sharp's names); `linear` is closest to torchvision's antialiased bilinear. */
export type ResizeKernel = 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';

let sharpPromise: Promise<SharpModule> | undefined;

/**
 * Loads sharp once per thread, with its operation cache off (each file is read once per
 * epoch, so caching only costs memory) and one libvips thread per operation (parallelism
 * comes from the decode workers).
 */
export function loadSharp(): Promise<SharpModule> {
  sharpPromise ??= import('sharp').then((m) => {
    const sharp = m.default;
    sharp.cache(false);
    sharp.concurrency(1);
    return sharp;
  });
  return sharpPromise;
}

/** What every image of a stream becomes; fixed for a stream, sent once to each worker. */
export interface DecodeConfig {
  /** Output height. */
  readonly height: number;
  /** Output width. */
  readonly width: number;
  /** Output channels. */
  readonly channels: 1 | 3;
  /** Normalisation table from {@link normalizationLut}. */
  readonly lut: Float32Array;
  /** Evaluation crop fraction (0.875: resize to 256, crop 224). */
  readonly cropFraction: number;
  /** Leave an image that already is `height x width` as it is (no evaluation resize). */
  readonly skipResizeWhenSized: boolean;
  /** Resampling kernel. */
  readonly kernel: ResizeKernel;
  /** RandomResizedCrop ranges, for `rrc` items. */
  readonly randomResizedCrop: RandomResizedCropOptions;
  /** Horizontal flip with probability 1/2 after a RandomResizedCrop. */
  readonly rrcFlip: boolean;
}

/**
 * Per-image augmentation, decided on the main thread from the stream's seed so that it
 * does not depend on which worker decodes the image or when.
 * - `none`: evaluation transform only;
 * - `shift`: evaluation transform, then {@link assembleBatch}'s pad-and-crop shift and flip
 *   (draws made exactly as {@link BatchIterator} makes them);
 * - `rrc`: RandomResizedCrop (+ flip) drawn in the worker from a generator seeded with `seed`
 *   (the draws need the image's size, known only after decoding).
 */
export type ItemAugmentation =
  | { readonly kind: 'none' }
  | { readonly kind: 'shift'; readonly dy: number; readonly dx: number; readonly flip: boolean }
  | { readonly kind: 'rrc'; readonly seed: number };

/** Decoded 8-bit pixels. */
interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * Decodes to 8-bit sRGB (grey images come out with three equal channels, CMYK and palettes
 * converted by libvips), then to `channels` like PIL: alpha dropped, grey from RGB by PIL's luma
 * (which maps three equal channels back to the same grey value, so grey images stay exact).
 * One decoder call per image: reading the header first would cost as much again on small images.
 */
async function decodeRaw(sharp: SharpModule, path: string, channels: 1 | 3): Promise<Pixels> {
  const { data, info } = await sharp(path, { failOn: 'warning' }).toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const pixels = info.width * info.height;
  const raw: Uint8Array = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (raw.length !== pixels * info.channels || info.channels < 1 || info.channels > 4) {
    throw new Error(`decoder returned ${raw.length} bytes for ${info.width}x${info.height}x${info.channels}`);
  }
  return { data: convertChannels(raw, pixels, info.channels, channels), width: info.width, height: info.height, channels };
}

async function geometry(sharp: SharpModule, px: Pixels, cfg: DecodeConfig, crop: CropBox | undefined, resizeFirst: { width: number; height: number } | undefined): Promise<Pixels> {
  let img = sharp(px.data, { raw: { width: px.width, height: px.height, channels: px.channels as 1 | 3 } });
  if (resizeFirst) {
    // evaluation: resize the whole image, then take the centre
    img = img.resize(resizeFirst.width, resizeFirst.height, { fit: 'fill', kernel: cfg.kernel });
    if (crop) img = img.extract(crop);
  } else if (crop) {
    // training: cut the random box, then scale it to the output size
    img = img.extract(crop);
    if (crop.width !== cfg.width || crop.height !== cfg.height) img = img.resize(cfg.width, cfg.height, { fit: 'fill', kernel: cfg.kernel });
  }
  // one band in, one band out (sharp would otherwise write grey as sRGB)
  if (px.channels === 1) img = img.toColourspace('b-w');
  const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== px.channels) throw new Error(`internal: resize gave ${info.channels} channels, expected ${px.channels}`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
}

/**
 * Decodes `path` and writes the normalised `height x width x channels` image into `x` at `dst`.
 *
 * @param sharp - the sharp module ({@link loadSharp})
 * @param path - image file
 * @param aug - this image's augmentation
 * @param cfg - stream-wide settings
 * @param x - batch buffer
 * @param dst - offset of the image's slot in `x`
 * @throws the decoder's error for an unreadable or corrupt file (the caller skips the image)
 */
export async function decodeInto(sharp: SharpModule, path: string, aug: ItemAugmentation, cfg: DecodeConfig, x: Float32Array, dst: number): Promise<void> {
  let px = await decodeRaw(sharp, path, cfg.channels);
  let flip = false;
  let dy = 0;
  let dx = 0;
  if (aug.kind === 'rrc') {
    const rng = Rng.fromSeed(aug.seed);
    const box = randomResizedCropBox(rng, px.width, px.height, cfg.randomResizedCrop);
    flip = cfg.rrcFlip ? rng.nextBool() : false;
    const whole = box.top === 0 && box.left === 0 && box.width === px.width && box.height === px.height;
    if (!(whole && px.width === cfg.width && px.height === cfg.height)) px = await geometry(sharp, px, cfg, box, undefined);
  } else {
    const sized = px.width === cfg.width && px.height === cfg.height;
    if (!(sized && cfg.skipResizeWhenSized)) {
      const s = evalResizeSize([cfg.height, cfg.width], cfg.cropFraction);
      const r = resizeShorterSide(px.width, px.height, s);
      const crop = centerCropBox(r.width, r.height, cfg.height, cfg.width);
      const resize = r.width === px.width && r.height === px.height ? undefined : r;
      if (resize === undefined) px = await geometry(sharp, px, cfg, crop, undefined);
      else px = await geometry(sharp, px, cfg, crop, resize);
    }
    if (aug.kind === 'shift') {
      dy = aug.dy;
      dx = aug.dx;
      flip = aug.flip;
    }
  }
  if (px.width !== cfg.width || px.height !== cfg.height) throw new Error(`internal: geometry gave ${px.width}x${px.height}, expected ${cfg.width}x${cfg.height}`);
  writeShiftedImage(px.data, 0, cfg.height, cfg.width, cfg.channels, cfg.lut, dy, dx, flip, x, dst);
}

/**
 * Channel count of an image file without decoding its pixels: 1 for greyscale (with or
 * without alpha), 3 otherwise.
 *
 * @param path - image file
 */
export async function fileChannels(path: string): Promise<1 | 3> {
  const sharp = await loadSharp();
  const meta = await sharp(path).metadata();
  return meta.space === 'b-w' || meta.space === 'grey16' ? 1 : 3;
}
