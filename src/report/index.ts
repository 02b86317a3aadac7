/**
 * Run comparison: Markdown table and SVG plot.
 * @packageDocumentation
 */
export { type CompareRow, readRun, markdownTable, accuracyFpsSvg, compareRuns } from './compare.js';
