/**
 * latprune's own version (from its package.json), recorded in tables, ONNX
 * files and run cards.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The installed latprune's version, e.g. `0.1.0`. */
export function latpruneVersion(): string {
  return (require('../../../package.json') as { version: string }).version;
}
