/**
 * IDX file format (MNIST / Fashion-MNIST): a 4-byte magic `00 00 TT DD`
 * (TT = element type, DD = number of dimensions), DD big-endian uint32 sizes,
 * then the elements in row-major order. Only unsigned bytes (TT = 0x08), the
 * type used by MNIST and Fashion-MNIST, are supported.
 */

import { LatpruneError } from '../errors.js';
import { readMaybeGzip } from './read-file.js';

/** A decoded IDX array of unsigned bytes. */
export interface IdxArray {
  /** Dimension sizes, outermost first (e.g. `[60000, 28, 28]`). */
  readonly dims: readonly number[];
  /** Elements in row-major order. */
  readonly data: Uint8Array;
}

/** IDX element type code for unsigned bytes. */
export const IDX_UBYTE = 0x08;

const TYPE_NAMES: Record<number, string> = {
  0x08: 'ubyte',
  0x09: 'sbyte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

/**
 * Decodes IDX bytes (already gunzipped).
 *
 * @param bytes - whole file contents
 * @param file - file name used in error messages
 * @param expectedRank - if given, the required number of dimensions (3 for images, 1 for labels)
 * @throws LatpruneError `BAD_FILE` on wrong magic, unsupported type, wrong rank, truncated or oversized data
 */
export function parseIdx(bytes: Uint8Array, file: string, expectedRank?: number): IdxArray {
  const what = expectedRank === 1 ? 'an IDX label file (magic 00 00 08 01)' : expectedRank === 3 ? 'an IDX image file (magic 00 00 08 03)' : 'an IDX file (magic 00 00 08 DD)';
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    const got = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new LatpruneError('BAD_FILE', `${file}: wrong magic number [${got}]; expected ${what}. Is this the right file?`);
  }
  const type = bytes[2];
  const rank = bytes[3];
  if (type !== IDX_UBYTE) {
    throw new LatpruneError(
      'BAD_FILE',
      `${file}: IDX element type 0x${type.toString(16)} (${TYPE_NAMES[type] ?? 'unknown'}) is not supported; expected ubyte (0x08) as in MNIST/Fashion-MNIST.`,
    );
  }
  if (expectedRank !== undefined && rank !== expectedRank) {
    throw new LatpruneError('BAD_FILE', `${file}: IDX file has ${rank} dimensions; expected ${what}.`);
  }
  const headerLen = 4 + 4 * rank;
  if (bytes.length < headerLen) {
    throw new LatpruneError(
      'BAD_FILE',
      `${file}: truncated IDX header (${bytes.length} bytes, need ${headerLen} for ${rank} dimensions); download the file again.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let total = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    total *= d;
  }
  const have = bytes.length - headerLen;
  if (have < total) {
    throw new LatpruneError(
      'BAD_FILE',
      `${file}: truncated IDX data: dimensions [${dims.join(', ')}] need ${total} bytes after the ${headerLen}-byte header, ` +
        `got ${have}. Download the file again.`,
    );
  }
  if (have > total) {
    throw new LatpruneError(
      'BAD_FILE',
      `${file}: ${have - total} unexpected trailing bytes after IDX data of dimensions [${dims.join(', ')}]; expected ${what}.`,
    );
  }
  return { dims, data: bytes.subarray(headerLen) };
}

/**
 * Encodes unsigned bytes as an IDX file (not compressed).
 *
 * @param dims - dimension sizes, outermost first
 * @param data - elements in row-major order; length must equal the product of `dims`
 */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const total = dims.reduce((a, b) => a * b, 1);
  if (data.length !== total || dims.length > 255) {
    throw new LatpruneError('BAD_ARGUMENT', `encodeIdx: dims [${dims.join(', ')}] need ${total} bytes, got ${data.length}.`);
  }
  const headerLen = 4 + 4 * dims.length;
  const out = new Uint8Array(headerLen + total);
  const view = new DataView(out.buffer);
  out[2] = IDX_UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, headerLen);
  return out;
}

/**
 * Reads an IDX file, gzipped or raw (detected from the gzip magic, not the name).
 *
 * @param path - file path
 * @param expectedRank - required number of dimensions, if any
 * @param expected - description for "file not found" messages
 */
export async function readIdxFile(path: string, expectedRank?: number, expected = 'an IDX file'): Promise<IdxArray> {
  const bytes = await readMaybeGzip(path, expected);
  return parseIdx(bytes, path, expectedRank);
}
