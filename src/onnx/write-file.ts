/**
 * Atomic ONNX model file writing.
 */
import { writeFileAtomic } from '../util/atomic.js';

/**
 * Writes model bytes atomically: to a temporary file in the same directory,
 * then renamed over `path`, so readers never see a half-written model.
 * Creates the parent directory if needed.
 *
 * @param path - destination `.onnx` file
 * @param bytes - serialised model (e.g. `OnnxGraph.encode()`)
 * @throws LatpruneError `BAD_FILE` naming the path when it cannot be written
 */
export function writeModelFile(path: string, bytes: Uint8Array): Promise<void> {
  return writeFileAtomic(path, bytes, 'ONNX model file');
}
