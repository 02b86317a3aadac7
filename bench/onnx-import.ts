/**
 * Import time and memory of an ONNX file (default: the ResNet-50 fixture,
 * ~100 MB, written by scripts/fixtures/export_onnx_fixtures.py).
 * Usage: node dist/bench/onnx-import.js [file.onnx]. Prints a final JSON line.
 *
 * Memory: `peak_mb` is the process's peak RSS (VmHWM, Linux) over its RSS
 * before the file was read; `budget_mb` is twice the file plus tfjs' copy of
 * the weights (4 bytes a parameter); `within_budget` compares them.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { initBackend } from '../src/backend/index.js';
import { importOnnx } from '../src/onnx/index.js';

const file = process.argv[2] ?? '.latprune-cache/onnx-fixtures/resnet50_op11.onnx';
/** Peak resident set size of this process in bytes (VmHWM), or NaN where /proc is absent. */
function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

const backend = await initBackend({ requested: 'wasm' });
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
const bytes = readFileSync(file);
const t1 = performance.now();
const { model, info } = await importOnnx(bytes, { source: file });
const t2 = performance.now();
const mem = process.memoryUsage();
const MB = 2 ** 20;
const peak = peakRss() - rssBefore;
const budget = 2 * bytes.length + 4 * model.countParams();
console.log(
  JSON.stringify({
    file,
    backend: backend.name,
    bytes: bytes.length,
    nodes: info.nodes,
    layers: model.layers.length,
    params: model.countParams(),
    read_ms: Math.round(t1 - t0),
    import_ms: Math.round(t2 - t1),
    rss_mb_before: Math.round(rssBefore / 2 ** 20),
    rss_mb_after: Math.round(mem.rss / 2 ** 20),
    heap_used_mb: Math.round(mem.heapUsed / 2 ** 20),
    array_buffers_mb: Math.round(mem.arrayBuffers / 2 ** 20),
    peak_mb: Math.round(peak / MB),
    budget_mb: Math.round(budget / MB),
    within_budget: peak <= budget,
  }),
);
