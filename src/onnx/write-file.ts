/**
 * Atomic ONNX model file writing.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { LatpruneError } from '../errors.js';

/**
 * Writes model bytes atomically: to a temporary file in the same directory,
 * then renamed over `path`, so readers never see a half-written model.
 * Creates the parent directory if needed.
 *
 * @param path - destination `.onnx` file
 * @param bytes - serialised model (e.g. `OnnxGraph.encode()`)
 * @throws LatpruneError `BAD_FILE` naming the path when it cannot be written
 */
export async function writeModelFile(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new LatpruneError(
      'BAD_FILE',
      `Cannot write ONNX model file ${path} (${err instanceof Error ? err.message : String(err)}); ` +
        'check that the directory is writable and has free space.',
      { cause: err },
    );
  }
}
