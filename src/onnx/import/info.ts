/**
 * What an import remembers about the original ONNX file, and the exporter
 * options that give a pruned model the same interface back.
 */
import type { OnnxDim } from '../types.js';

/** A graph input or output of the original file. */
export interface ImportedValue {
  /** Name in the original graph. */
  readonly name: string;
  /** Element type (the importer accepts float32 only). */
  readonly elemType: 'float32';
  /** Dims as stored (numbers, `dim_param` names, `'?'` for an unnamed unknown dim). */
  readonly dims: readonly OnnxDim[];
  /** Axes whose size is not fixed in the file (0 = batch). */
  readonly dynamicAxes: readonly number[];
}

/** The record of one import. */
export interface ImportInfo {
  /** File name (or label) given to the importer. */
  readonly source: string;
  /** SHA-256 of the imported bytes, hex. */
  readonly sha256: string;
  /** ai.onnx opset of the file. */
  readonly opset: number;
  /** `producer_name producer_version` of the file, e.g. `pytorch 1.13.0`. */
  readonly producer: string;
  /** The single graph input. */
  readonly input: ImportedValue;
  /** Graph outputs, in order. */
  readonly outputs: readonly ImportedValue[];
  /** Input shape used for the tfjs model, NCHW without batch: `[C, H, W]`. */
  readonly inputShape: readonly [number, number, number];
  /** Name of the batch dim (`dim_param`) of the input, `batch` when the file leaves it unnamed. */
  readonly batchDim: string;
  /** Number of ONNX nodes read. */
  readonly nodes: number;
  /** tfjs layer name -> the ONNX node it came from. */
  readonly layers: Readonly<Record<string, string>>;
}

/** Exporter options (`modelToOnnx`'s `io` and `metadata`) that restore an imported model's interface. */
export interface ExportInterface {
  /** Input name, output names and batch dim name of the original file. */
  readonly io: { readonly input: string; readonly outputs: readonly string[]; readonly batchDim: string };
  /** `latprune.source_file`, `latprune.source_sha256`, `latprune.source_opset`, `latprune.source_producer`. */
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * The options that make `modelToOnnx` write the original file's input and
 * output names, the dynamic batch dim, and metadata naming the source file and its hash.
 *
 * @param info - the import's record
 * @example
 * ```ts
 * const { model, info } = await importOnnx(bytes, { source: 'resnet.onnx' });
 * const onnx = modelToOnnx(compact, { producerVersion, ...exportInterfaceOf(info) });
 * ```
 */
export function exportInterfaceOf(info: ImportInfo): ExportInterface {
  return {
    io: { input: info.input.name, outputs: info.outputs.map((o) => o.name), batchDim: info.batchDim },
    metadata: {
      'latprune.source_file': info.source,
      'latprune.source_sha256': info.sha256,
      'latprune.source_opset': String(info.opset),
      'latprune.source_producer': info.producer,
    },
  };
}
