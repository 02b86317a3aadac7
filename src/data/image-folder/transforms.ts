/**
 * Pure geometry and pixel helpers of the image-folder pipeline, written after
 * torchvision's definitions so that crops, resizes and class order agree with a
 * PyTorch pipeline: Python's string order and rounding, `Resize(int)`,
 * `CenterCrop`, `RandomResizedCrop.get_params`, and PIL's `convert('L')`.
 *
 * No I/O and no decoder here: the worker (decode.ts) calls these on decoded
 * pixels, and the tests call them directly.
 */

import { LatpruneError } from '../../errors.js';
import type { Rng } from '../rng.js';

/** A pixel rectangle: top-left corner and size. */
export interface CropBox {
  /** First row. */
  readonly top: number;
  /** First column. */
  readonly left: number;
  /** Rows. */
  readonly height: number;
  /** Columns. */
  readonly width: number;
}

/** Settings of a torchvision `RandomResizedCrop`. */
export interface RandomResizedCropOptions {
  /** Range of the crop's area as a fraction of the image's (default `[0.08, 1]`). */
  readonly scale?: readonly [number, number];
  /** Range of the crop's aspect ratio width/height (default `[3/4, 4/3]`). */
  readonly ratio?: readonly [number, number];
}

/** torchvision's defaults: scale (0.08, 1), ratio (3/4, 4/3). */
export const RRC_DEFAULT_SCALE: readonly [number, number] = Object.freeze([0.08, 1]) as readonly [number, number];
/** See {@link RRC_DEFAULT_SCALE}. */
export const RRC_DEFAULT_RATIO: readonly [number, number] = Object.freeze([3 / 4, 4 / 3]) as readonly [number, number];

/**
 * Python 3's `round(x)`: to the nearest integer, ties to even.
 *
 * @param x - finite number
 */
export function pythonRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Python's string order (by Unicode code point), which is how `sorted()` orders
 * torchvision's class folders and file names. JavaScript's default `<` compares
 * UTF-16 code units and differs for characters beyond U+FFFF.
 *
 * @returns negative, zero or positive like `Array.prototype.sort` expects
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/**
 * Output size of torchvision's `Resize(size)` with an int `size`: the shorter side
 * becomes `size`, the longer `int(size * long / short)`.
 *
 * @param width - input width
 * @param height - input height
 * @param size - target of the shorter side
 * @returns the output width and height (the input's when the shorter side already is `size`)
 */
export function resizeShorterSide(width: number, height: number, size: number): { width: number; height: number } {
  if (width <= height) {
    if (width === size) return { width, height };
    return { width: size, height: Math.trunc((size * height) / width) };
  }
  if (height === size) return { width, height };
  return { width: Math.trunc((size * width) / height), height: size };
}

/**
 * Evaluation resize of torchvision's reference recipes, `Resize(int(crop / fraction))`
 * (256 for a 224 crop at 0.875); for a non-square `[H, W]` the larger side is used so the
 * centre crop fits.
 *
 * @param input - `[height, width]` of the crop
 * @param cropFraction - crop side over resized side, in (0, 1]
 */
export function evalResizeSize(input: readonly [number, number], cropFraction: number): number {
  if (!(cropFraction > 0 && cropFraction <= 1)) {
    throw new LatpruneError('BAD_ARGUMENT', `cropFraction must be in (0, 1], got ${cropFraction}; torchvision's recipes use 0.875 (224 of 256).`);
  }
  return Math.floor(Math.max(input[0], input[1]) / cropFraction);
}

/**
 * torchvision's `CenterCrop` box: offsets `int(round((size - crop) / 2))`.
 *
 * @throws LatpruneError `BAD_ARGUMENT` when the crop is larger than the image (torchvision would pad)
 */
export function centerCropBox(width: number, height: number, cropHeight: number, cropWidth: number): CropBox {
  if (cropHeight > height || cropWidth > width) {
    throw new LatpruneError('BAD_ARGUMENT', `centre crop ${cropHeight}x${cropWidth} is larger than the ${height}x${width} image.`);
  }
  return { top: pythonRound((height - cropHeight) / 2), left: pythonRound((width - cropWidth) / 2), height: cropHeight, width: cropWidth };
}

/**
 * torchvision's `RandomResizedCrop.get_params`: up to 10 tries of a random area in
 * `scale` and a log-uniform aspect ratio in `ratio`; then the central crop with the
 * ratio clamped into `ratio`. Draws from `rng` in torchvision's order (area, log-ratio,
 * then top, left), so the crop depends only on the generator's state and the image size.
 *
 * @param rng - generator (advanced)
 * @param width - image width
 * @param height - image height
 * @param opts - scale and ratio ranges
 */
export function randomResizedCropBox(rng: Rng, width: number, height: number, opts: RandomResizedCropOptions = {}): CropBox {
  const [s0, s1] = opts.scale ?? RRC_DEFAULT_SCALE;
  const [r0, r1] = opts.ratio ?? RRC_DEFAULT_RATIO;
  const area = height * width;
  const logR0 = Math.log(r0);
  const logR1 = Math.log(r1);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (s0 + (s1 - s0) * rng.nextFloat());
    const aspect = Math.exp(logR0 + (logR1 - logR0) * rng.nextFloat());
    const w = pythonRound(Math.sqrt(targetArea * aspect));
    const h = pythonRound(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.nextInt(height - h + 1);
      const left = rng.nextInt(width - w + 1);
      return { top, left, height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w: number;
  let h: number;
  if (inRatio < Math.min(r0, r1)) {
    w = width;
    h = pythonRound(w / Math.min(r0, r1));
  } else if (inRatio > Math.max(r0, r1)) {
    h = height;
    w = pythonRound(h * Math.max(r0, r1));
  } else {
    w = width;
    h = height;
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/**
 * Checks a `RandomResizedCrop` setting.
 *
 * @throws LatpruneError `BAD_ARGUMENT` naming the bad range
 */
export function checkRandomResizedCrop(opts: RandomResizedCropOptions): void {
  const [s0, s1] = opts.scale ?? RRC_DEFAULT_SCALE;
  const [r0, r1] = opts.ratio ?? RRC_DEFAULT_RATIO;
  if (!(s0 > 0 && s0 <= s1 && s1 <= 1)) {
    throw new LatpruneError('BAD_ARGUMENT', `randomResizedCrop.scale must satisfy 0 < min <= max <= 1, got [${s0}, ${s1}]; torchvision's default is [0.08, 1].`);
  }
  if (!(r0 > 0 && r0 <= r1 && Number.isFinite(r1))) {
    throw new LatpruneError('BAD_ARGUMENT', `randomResizedCrop.ratio must satisfy 0 < min <= max, got [${r0}, ${r1}]; torchvision's default is [3/4, 4/3].`);
  }
}

/**
 * Converts interleaved 8-bit pixels between channel counts the way PIL's `convert`
 * does: alpha is dropped (not composited), grey becomes RGB by replication, RGB becomes
 * grey by ITU-R 601-2 luma in PIL's fixed point, `(19595 R + 38470 G + 7471 B + 0x8000) >> 16`.
 *
 * @param src - pixels, `srcChannels` per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA)
 * @param pixels - number of pixels
 * @param srcChannels - 1..4
 * @param dstChannels - 1 or 3
 * @returns `src` itself when nothing changes, otherwise a new array
 */
export function convertChannels(src: Uint8Array, pixels: number, srcChannels: number, dstChannels: 1 | 3): Uint8Array {
  if (srcChannels === dstChannels) return src;
  const grey = srcChannels <= 2;
  const out = new Uint8Array(pixels * dstChannels);
  for (let p = 0; p < pixels; p++) {
    const s = p * srcChannels;
    if (grey) {
      const v = src[s];
      if (dstChannels === 1) out[p] = v;
      else out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = v;
    } else if (dstChannels === 1) {
      out[p] = (src[s] * 19595 + src[s + 1] * 38470 + src[s + 2] * 7471 + 0x8000) >>> 16;
    } else {
      out[3 * p] = src[s];
      out[3 * p + 1] = src[s + 1];
      out[3 * p + 2] = src[s + 2];
    }
  }
  return out;
}
