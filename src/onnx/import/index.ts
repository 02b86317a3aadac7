/**
 * ONNX -> tfjs import (bring your own model): {@link importOnnx}, the
 * import record {@link ImportInfo}, {@link exportInterfaceOf} for the
 * exporter, and the layer classes the importer adds.
 * @packageDocumentation
 */
export { type ImportOptions, type ImportResult, importOnnx } from './import.js';
export { type ExportInterface, type ImportInfo, type ImportedValue, exportInterfaceOf } from './info.js';
export { GroupedConv2D, type GroupedConv2DArgs, HardSigmoid, type HardSigmoidArgs } from './layers.js';
