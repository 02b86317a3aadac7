/**
 * Compaction of pruned models, tfjs -> ONNX conversion, and `latprune export`.
 * @packageDocumentation
 */
export { compactModel, modelAtWidths } from './compact.js';
export { type OnnxInterface, type ToOnnxOptions, modelToOnnx } from './to-onnx.js';
export { type ParityReport, type ExportOptions, type ExportResult, checkParity, exportOnnx } from './export.js';
