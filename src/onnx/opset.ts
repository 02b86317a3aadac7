/**
 * Opset ↔ IR version pairing.
 *
 * Each ONNX release introduced one `ai.onnx` opset and one IR version; a model
 * must declare an IR version at least as new as the release that introduced its
 * opset. We write the *oldest* IR version that allows the opset, so that older
 * readers (e.g. the Python `onnx` 1.12 checker, IR ≤ 8, opset ≤ 17) accept it.
 * Source: the versioning table in ONNX's docs/Versioning.md.
 */
import { LatpruneError } from '../errors.js';

/** Opset → IR version of the ONNX release that introduced that opset. */
const IR_FOR_OPSET: Readonly<Record<number, number>> = {
  11: 6, // ONNX 1.6
  12: 7, // 1.7
  13: 7, // 1.8
  14: 7, // 1.9
  15: 8, // 1.10
  16: 8, // 1.11
  17: 8, // 1.12
  18: 8, // 1.13
  19: 9, // 1.14
  20: 9, // 1.15
  21: 10, // 1.16
};

/** The default `ai.onnx` opset written by latprune. */
export const DEFAULT_OPSET = 13;

/** Lowest supported opset (Clip and Pad take their parameters as inputs from 11 on). */
export const MIN_OPSET = 11;

/** Highest supported opset. */
export const MAX_OPSET = 21;

/**
 * The IR version to write for an `ai.onnx` opset version.
 *
 * @param opsetVersion - integer in [{@link MIN_OPSET}, {@link MAX_OPSET}]
 * @returns the IR version of the ONNX release that introduced the opset (13 → 7)
 * @throws LatpruneError `BAD_ARGUMENT` for an unsupported opset
 */
export function irVersionForOpset(opsetVersion: number): number {
  const ir = IR_FOR_OPSET[opsetVersion];
  if (ir === undefined) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `ONNX opset ${String(opsetVersion)} is not supported by latprune's writer; ` +
        `choose an integer opset from ${MIN_OPSET} to ${MAX_OPSET} (default ${DEFAULT_OPSET}).`,
    );
  }
  return ir;
}
