/**
 * `latprune export`: compaction of a pruned model to its kept channels, ONNX
 * file with the parity check.
 * @packageDocumentation
 */
export {
  type ParityReport,
  type ExportOptions,
  type ExportResult,
  checkParity,
  exportOnnx,
  exportOptionsSchema,
  parseExportOptions,
  EXPORT_FLAGS,
} from './export.js';
