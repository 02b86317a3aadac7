/**
 * Channel importance: criteria as plug-ins (Taylor in HALP's BN form with a
 * weight-form fallback, magnitude), scoring of channel groups, and
 * accumulation over training iterations through the trainer's hooks.
 *
 * @packageDocumentation
 */

export { type SliceData, type SliceRef, type GroupTensors, type ImportanceCriterion, sumPerChannel } from './criterion.js';
export { taylorImportance } from './taylor.js';
export { type MagnitudeOptions, magnitudeImportance } from './magnitude.js';
export { type GroupScores, type VariableData, criterionVariables, scoreGroups } from './score.js';
export { type AccumulatorOptions, ImportanceAccumulator } from './accumulator.js';
