/**
 * bench/store.ts: a bench's `--save` stores its final JSON line per
 * configuration and rebuilds RESULTS.md with it.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { saveBenchLine } from '../bench/store.js';
import { tempDir } from './helpers/tmp.js';

test('bench --save: one column per configuration, the same configuration replaced, RESULTS.md rebuilt', { timeout: 10_000 }, async (t) => {
  const root = await tempDir(t, 'latprune-bench-store-');
  const dir = join(root, 'results');
  await mkdir(dir);
  await saveBenchLine('train-step', 'wasm b128 x1', { bench: 'train-step', img_per_s: 80.1 }, dir);
  await saveBenchLine('train-step', 'wasm b128 x2', { bench: 'train-step', img_per_s: 150.2 }, dir);
  await saveBenchLine('train-step', 'wasm b128 x1', { bench: 'train-step', img_per_s: 84.2 }, dir);
  const stored = JSON.parse(await readFile(join(dir, 'train-step.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(stored), ['wasm b128 x1', 'wasm b128 x2']);
  assert.equal(stored['wasm b128 x1']!['img_per_s'], 84.2);
  assert.match(String(stored['wasm b128 x2']!['measured_at']), /^\d{4}-\d\d-\d\dT/);
  const report = await readFile(join(root, 'RESULTS.md'), 'utf8');
  assert.match(report, /\| field \| `wasm b128 x1` \| `wasm b128 x2` \|/);
  assert.match(report, /\| img_per_s \| 84\.2 \| 150\.2 \|/);
  assert.match(report, /no stored line yet|none stored yet/);
});
