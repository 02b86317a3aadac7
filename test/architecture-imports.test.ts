/**
 * The layering of docs/architecture.md's module map, enforced on the real
 * import graph of src/, and the checker itself shown to catch a forbidden
 * import.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { importEdges, layerViolations, parseLayerRules, ruleCycle } from './helpers/import-graph.js';
import { repoRoot } from './helpers/cli.js';

const rules = parseLayerRules(readFileSync(join(repoRoot, 'docs', 'architecture.md'), 'utf8'));

test('the module map lists every src/ folder and its rules form no cycle', { timeout: 30_000 }, () => {
  assert.ok(rules.size >= 15, `expected the module map to have a row per folder, found ${rules.size}`);
  assert.equal(ruleCycle(rules), undefined, `cycle in docs/architecture.md's "may import" column: ${ruleCycle(rules)?.join(' -> ')}`);
});

test('every import in src/ follows docs/architecture.md', { timeout: 30_000 }, () => {
  const edges = importEdges(join(repoRoot, 'src'));
  assert.ok(edges.length > 200, `expected the import graph of src/, found ${edges.length} edges`);
  assert.deepEqual(layerViolations(edges, rules), []);
});

test('the check fails on a forbidden import', { timeout: 30_000 }, () => {
  const forbidden = [
    { file: 'solver/mckp-dp.ts', target: 'train/index.ts' },
    { file: 'latency/estimate.ts', target: 'export/export.ts' },
    { file: 'index.ts', target: 'prune/engine.ts' },
    { file: 'newfolder/x.ts', target: 'util/atomic.ts' },
  ];
  const bad = layerViolations(forbidden, rules);
  assert.equal(bad.length, 4, bad.join('\n'));
  assert.match(bad[0], /solver\/mckp-dp\.ts imports train\/index\.ts: solver\/ may import only util/);
  assert.deepEqual(layerViolations([{ file: 'prune/run.ts', target: 'train/index.ts' }], rules), []);
  assert.deepEqual(
    ruleCycle(
      new Map([
        ['a', new Set(['b'])],
        ['b', new Set(['a'])],
      ]),
    ),
    ['a', 'b', 'a'],
  );
});
