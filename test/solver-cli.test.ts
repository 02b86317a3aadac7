/**
 * `latprune solve --problem FILE.json [--json]` as a pure function.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LatpruneError } from '../src/errors.js';
import { problemToJson, solveMckp, validateProblem } from '../src/solver/index.js';
import { solveCommand } from '../src/cli/commands/solve.js';
import { fileTempDir } from './helpers/tmp.js';

const dir = fileTempDir('latprune-solve-');

const problem = validateProblem({
  budget: 10,
  baseLatency: 1,
  groups: [
    { id: 'layer1.conv1', values: [5, 3, 1], domain: { min: 0, max: 3, step: 1 }, costs: [0, 4, 6, 9] },
    { id: 'layer1.out', values: [4, 2], domain: { min: 0, max: 2, step: 1 }, costs: [0, 3, 5] },
  ],
});

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

test('--json prints one JSON object with the DP result and LP gap; exit 0', { timeout: 10_000 }, async () => {
  const file = write('ok.json', problemToJson(problem, 2));
  const lines: string[] = [];
  const code = await solveCommand({ problem: file, json: true, out: (l) => lines.push(l) });
  assert.equal(code, 0);
  assert.equal(lines.length, 1);
  const r = JSON.parse(lines[0]!) as Record<string, unknown>;
  const dp = solveMckp(problem);
  assert.equal(r['status'], 'optimal');
  assert.equal(r['value'], dp.value);
  assert.equal(r['latency'], dp.latency);
  assert.deepEqual(r['keep'], dp.keep);
  assert.equal(typeof r['lpBound'], 'number');
  assert.ok((r['gap'] as number) >= 0 && (r['gap'] as number) < 1);
  assert.equal(r['problem'], file);
  assert.equal(r['exact'], true);
});

test('human summary lists status, latency and every group', { timeout: 10_000 }, async () => {
  const file = write('ok2.json', problemToJson(problem));
  const lines: string[] = [];
  assert.equal(await solveCommand({ problem: file, json: false, out: (l) => lines.push(l) }), 0);
  const text = lines.join('\n');
  assert.match(text, /status: optimal/);
  assert.match(text, /latency: 10 of budget 10/);
  assert.match(text, /exact optimum \(certified\)/);
  assert.match(text, /layer1\.conv1\s+2\/3\s+6/);
  assert.match(text, /layer1\.out\s+1\/2\s+3/);
});

test('infeasible budget: exit 1, the minimum reachable latency is reported', { timeout: 10_000 }, async () => {
  const file = write('inf.json', problemToJson({ ...problem, budget: 0.5 }));
  const lines: string[] = [];
  assert.equal(await solveCommand({ problem: file, json: false, out: (l) => lines.push(l) }), 1);
  assert.match(lines.join('\n'), /infeasible: budget 0\.5 is below the minimum reachable latency 1/);
  const json: string[] = [];
  assert.equal(await solveCommand({ problem: file, json: true, out: (l) => json.push(l) }), 1);
  const r = JSON.parse(json[0]!) as Record<string, unknown>;
  assert.equal(r['status'], 'infeasible');
  assert.equal(r['minLatency'], 1);
});

test('missing, corrupt and invalid files are errors naming the file', { timeout: 10_000 }, async () => {
  const missing = join(dir, 'nope.json');
  await assert.rejects(
    solveCommand({ problem: missing, json: false, out: () => {} }),
    (e: unknown) => e instanceof LatpruneError && e.code === 'NOT_FOUND' && e.message.includes(missing),
  );
  const corrupt = write('corrupt.json', '{"budget": 3, "groups": [');
  await assert.rejects(
    solveCommand({ problem: corrupt, json: true, out: () => {} }),
    (e: unknown) => e instanceof LatpruneError && e.code === 'BAD_FILE' && e.message.includes(corrupt),
  );
  const invalid = write(
    'invalid.json',
    JSON.stringify({ budget: 3, groups: [{ id: 'x', values: [1], domain: { min: 0, max: 1, step: 1 }, costs: [1] }] }),
  );
  await assert.rejects(
    solveCommand({ problem: invalid, json: false, out: () => {} }),
    (e: unknown) =>
      e instanceof LatpruneError && e.code === 'SCHEMA' && e.message.startsWith(`${invalid}: groups[0].costs: expected 2 entries`),
  );
});
