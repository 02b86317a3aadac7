/**
 * Model files and model surgery: tfjs LayersModel load/save (zoo names and
 * model files resolve through one function), and rebuilding a model at chosen
 * channel widths (compaction of a pruned model).
 * @packageDocumentation
 */
export { saveModel, loadModel, loadOnnxModel, isOnnxPath, readModelMetadata, resolveModel, manifestGroupBytes } from './io.js';
export { compactModel, modelAtWidths } from './compact.js';
