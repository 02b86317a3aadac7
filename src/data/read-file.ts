/**
 * Reads a data file, transparently gunzipping it when it starts with the gzip
 * magic bytes (0x1f 0x8b), whatever its name.
 */

import { readFile } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { LatpruneError } from '../errors.js';

const gunzipAsync = promisify(gunzip);

/**
 * True when `bytes` starts with the gzip magic number.
 *
 * @param bytes - file contents
 */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Reads `path` and gunzips it if it is gzip-compressed.
 *
 * @param path - file to read
 * @param expected - what the file should be, for error messages (e.g. "Fashion-MNIST training images")
 * @returns the (decompressed) bytes
 * @throws LatpruneError `NOT_FOUND` when the file does not exist, `BAD_FILE` when it cannot be read or gunzipped
 */
export async function readMaybeGzip(path: string, expected: string): Promise<Uint8Array> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new LatpruneError('NOT_FOUND', `${path}: file not found; expected ${expected} here.`, { cause: err });
    }
    throw new LatpruneError('BAD_FILE', `${path}: cannot read ${expected} (${code ?? String(err)}).`, { cause: err });
  }
  if (!isGzip(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  try {
    const out = await gunzipAsync(raw);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    throw new LatpruneError(
      'BAD_FILE',
      `${path}: starts with the gzip magic but does not decompress (${(err as Error).message}); expected gzipped ` +
        `${expected}. The file is probably truncated: download it again.`,
      { cause: err },
    );
  }
}
