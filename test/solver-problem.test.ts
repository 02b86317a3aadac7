/**
 * Problem format: validation errors name the field, JSON round trip, and the
 * hand-checked JSON cases in test/cases/solver/.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { LatpruneError } from '../src/errors.js';
import {
  choiceValues,
  domainValues,
  keepValue,
  lpBound,
  parseProblem,
  problemToJson,
  solveMckp,
  solveMilp,
  validateProblem,
  type KnapsackProblem,
} from '../src/solver/index.js';

// dist/test/ -> test/cases/solver (JSON cases are not copied by tsc)
const casesDir = fileURLToPath(new URL('../../test/cases/solver/', import.meta.url));

const good = (): Record<string, unknown> => ({
  budget: 10,
  groups: [
    { id: 'a', values: [5, 3, 1], domain: { min: 0, max: 3, step: 1 }, costs: [0, 4, 6, 9] },
    { id: 'b', values: [4, 2], domain: { min: 0, max: 2, step: 1 }, costs: [0, 3, 5] },
  ],
});

/** Applies `edit` to a fresh valid problem and expects a SCHEMA error matching `re`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the edits write deliberately ill-typed values anywhere in the problem
function rejects(edit: (p: Record<string, any>) => void, re: RegExp): void {
  const p = good();
  edit(p);
  assert.throws(
    () => validateProblem(p, 'step3.problem.json'),
    (e: unknown) => e instanceof LatpruneError && e.code === 'SCHEMA' && e.message.startsWith('step3.problem.json: ') && re.test(e.message),
    re.source,
  );
}

test('validator accepts a good problem and names the field of a bad one', { timeout: 10_000 }, () => {
  assert.doesNotThrow(() => validateProblem(good()));
  rejects((p) => (p.budget = 'fast'), /budget: expected a finite number/);
  rejects((p) => delete p.groups, /groups: expected an array/);
  rejects((p) => (p.format = 'other/2'), /format: expected "latprune.knapsack\/1"/);
  rejects((p) => (p.groups[1].values = [2, 4]), /groups\[1\]\.values\[1\]: values must be sorted descending/);
  rejects((p) => (p.groups[0].values[1] = null), /groups\[0\]\.values\[1\]: expected a finite number/);
  rejects((p) => (p.groups[0].costs = [0, 4, 6]), /groups\[0\]\.costs: expected 4 entries/);
  rejects((p) => (p.groups[0].costs[2] = 'x'), /groups\[0\]\.costs\[2\]: expected a finite number/);
  rejects((p) => (p.groups[1].id = 'a'), /groups\[1\]\.id: duplicate group id "a"/);
  rejects((p) => (p.groups[0].domain.max = 4), /groups\[0\]\.domain\.max: 4 exceeds fixed \+ values\.length = 3/);
  rejects((p) => (p.groups[0].domain.step = 0), /groups\[0\]\.domain\.step: expected >= 1/);
  rejects((p) => (p.groups[0].fixed = 1), /groups\[0\]\.domain\.min: 0 is below fixed=1/);
  rejects((p) => (p.groups[0].domain = { min: 0, max: 3 }), /groups\[0\]\.domain\.step: expected an integer/);
  rejects((p) => (p.meta = { step: [1] }), /meta\.step: expected a string/);
  rejects((p) => (p.baseLatency = Infinity), /baseLatency: expected a finite number/);
});

test('parseProblem: invalid JSON is BAD_FILE naming the file; JSON round trip is lossless', { timeout: 10_000 }, () => {
  assert.throws(
    () => parseProblem('{"budget": 1,', 'runs/x/step7.json'),
    (e: unknown) =>
      e instanceof LatpruneError &&
      e.code === 'BAD_FILE' &&
      e.message.includes('runs/x/step7.json') &&
      e.message.includes('not valid JSON'),
  );
  const p = validateProblem({ ...good(), baseLatency: 1.25, meta: { step: 3, phase: 'prune' } });
  const text = problemToJson(p);
  const back = parseProblem(text);
  assert.equal(back.format, 'latprune.knapsack/1');
  assert.deepEqual({ ...back, format: undefined }, { ...p, format: undefined });
  assert.deepEqual(solveMckp(back).keep, solveMckp(p).keep);
});

test('domain and value helpers', { timeout: 10_000 }, () => {
  assert.deepEqual(domainValues({ min: 8, max: 30, step: 8 }), [8, 16, 24]);
  const g = { values: [0.5, 0.25, 0.125], fixed: 2, domain: { min: 2, max: 5, step: 1 } };
  assert.deepEqual(Array.from(choiceValues(g)), [0, 0.5, 0.75, 0.875]);
  assert.equal(keepValue(g, 4), 0.75);
});

test('JSON cases in test/cases/solver give the expected selections (DP and MILP agree)', { timeout: 10_000 }, () => {
  const files = readdirSync(casesDir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 4, `cases found in ${casesDir}`);
  for (const f of files) {
    const c = JSON.parse(readFileSync(join(casesDir, f), 'utf8')) as { problem: unknown; expect: Record<string, unknown> };
    const p: KnapsackProblem = parseProblem(JSON.stringify(c.problem), f);
    const dp = solveMckp(p);
    assert.equal(dp.status, c.expect['status'], f);
    assert.deepEqual(dp.keep, c.expect['keep'], f);
    if (typeof c.expect['value'] === 'number')
      assert.ok(Math.abs(dp.value - (c.expect['value'] as number)) < 1e-9, `${f}: value ${dp.value}`);
    if (typeof c.expect['latency'] === 'number')
      assert.ok(Math.abs(dp.latency - (c.expect['latency'] as number)) < 1e-9, `${f}: latency ${dp.latency}`);
    if (typeof c.expect['minLatency'] === 'number') assert.ok(Math.abs(dp.minLatency - (c.expect['minLatency'] as number)) < 1e-9, f);
    const milp = solveMilp(p);
    if (dp.status === 'optimal') {
      assert.ok(Math.abs(milp.value - dp.value) < 1e-9, `${f}: MILP ${milp.value}`);
      assert.ok(lpBound(p).bound >= dp.value - 1e-12, f);
    } else {
      assert.equal(milp.status, 'infeasible', f);
      assert.equal(lpBound(p).status, 'infeasible', f);
    }
  }
});
