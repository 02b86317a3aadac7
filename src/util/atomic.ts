/**
 * Atomic file writes: write a temporary file next to the target, fsync, then
 * rename over it, so readers (and a run resumed after a kill) see either the
 * old file or the new one, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { LatpruneError } from '../errors.js';

/**
 * Writes `data` to `path` atomically, creating the parent directory.
 *
 * @param what - what the file is, for the error message (e.g. "ONNX model file")
 * @throws LatpruneError `BAD_FILE` naming the path when it cannot be written
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, what = 'file'): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new LatpruneError(
      'BAD_FILE',
      `Cannot write ${what} ${path} (${err instanceof Error ? err.message : String(err)}); check that the directory is writable and has free space.`,
      { cause: err },
    );
  }
}
