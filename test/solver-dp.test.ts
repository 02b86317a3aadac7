/**
 * Exact MCKP DP against javascript-lp-solver's MILP, brute force and a plain
 * textbook DP; LP bound against the library's LP relaxation.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultResolution,
  domainSize,
  lpBound,
  scoreChoice,
  scoreKeep,
  seededRandom,
  solveLpRelaxation,
  solveMckp,
  solveMilp,
  validateProblem,
  type KnapsackProblem,
  type ProblemGroup,
} from '../src/solver/index.js';

type Rng = () => number;
const int = (rnd: Rng, lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));

/**
 * A random small problem: up to `maxGroups` groups × `maxChoices` choices;
 * costs with cliffs off multiples of 8, noise, and (sometimes) negative
 * marginal costs; sometimes a fixed active set (grow).
 */
function randomProblem(rnd: Rng, maxGroups: number, maxChoices: number, integerCosts = false): KnapsackProblem {
  const G = int(rnd, 1, maxGroups);
  const groups: ProblemGroup[] = [];
  const negative = rnd() < 0.3;
  for (let g = 0; g < G; g++) {
    const n = int(rnd, 1, maxChoices);
    const step = int(rnd, 1, 3);
    const fixed = rnd() < 0.3 ? int(rnd, 1, 4) : 0;
    const min = fixed + int(rnd, 0, 2);
    const max = min + (n - 1) * step;
    const values = Array.from({ length: max - fixed }, () => rnd() * 10 - (rnd() < 0.1 ? 3 : 0)).sort((a, b) => b - a);
    const perCh = 0.5 + rnd() * 2;
    const costs = Array.from({ length: n }, (_, i) => {
      const k = min + i * step;
      let c = perCh * k * (k % 8 === 0 ? 1 : 1.3) + rnd() * 3 - (negative ? perCh * max * 0.7 : 0);
      if (integerCosts) c = Math.round(c);
      return c;
    });
    groups.push({ id: `g${g}`, values, fixed, domain: { min, max, step }, costs });
  }
  let lo = 0;
  let hi = 0;
  for (const g of groups) {
    lo += Math.min(...g.costs);
    hi += Math.max(...g.costs);
  }
  let base = rnd() < 0.5 ? rnd() * 20 : 0;
  if (integerCosts) base = Math.round(base);
  let budget = base + lo + (rnd() * 1.2 - 0.1) * (hi - lo);
  if (integerCosts) budget = Math.round(budget);
  return validateProblem({ budget, baseLatency: base, groups });
}

/** All selections, by enumeration (tiny problems only). */
function bruteForce(p: KnapsackProblem): { value: number; minLatency: number } {
  let best = -Infinity;
  let minLatency = Infinity;
  const choice = p.groups.map(() => 0);
  const rec = (g: number): void => {
    if (g === p.groups.length) {
      const s = scoreChoice(p, choice);
      minLatency = Math.min(minLatency, s.latency);
      if (s.latency <= p.budget + 1e-9 && s.value > best) best = s.value;
      return;
    }
    for (let i = 0; i < p.groups[g]!.costs.length; i++) {
      choice[g] = i;
      rec(g + 1);
    }
  };
  rec(0);
  return { value: best, minLatency };
}

const close = (a: number, b: number, tol = 1e-7): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));

test('DP optimum equals the MILP optimum within the discretisation bound on 200 random instances', { timeout: 10_000 }, () => {
  const rnd = seededRandom(20240601);
  let feasible = 0;
  let infeasible = 0;
  let exactTies = 0;
  for (let it = 0; it < 200; it++) {
    const p = randomProblem(rnd, 10, 16);
    const dp = solveMckp(p);
    const G = p.groups.length;
    assert.ok(dp.discretisationBound <= G * dp.resolution * (1 + 1e-9), `instance ${it}: bound ${dp.discretisationBound} above G·r`);
    const milp = solveMilp(p);
    if (milp.status === 'infeasible') {
      infeasible++;
      assert.equal(dp.status, 'infeasible', `instance ${it}: MILP infeasible but DP ${dp.status}`);
      let minLat = p.baseLatency ?? 0;
      for (const g of p.groups) minLat += Math.min(...g.costs);
      assert.ok(close(dp.minLatency, minLat), `instance ${it}: minLatency ${dp.minLatency} vs ${minLat}`);
      assert.ok(dp.minLatency > p.budget);
      assert.ok(close(dp.latency, dp.minLatency), 'infeasible result carries the fastest selection');
      continue;
    }
    feasible++;
    assert.equal(milp.status, 'optimal');
    assert.equal(dp.status, 'optimal', `instance ${it}: MILP feasible but DP ${dp.status}`);
    // feasible on exact costs, never better than the exact optimum
    assert.ok(
      dp.latency <= p.budget + 1e-9 * Math.max(1, Math.abs(p.budget)),
      `instance ${it}: DP latency ${dp.latency} > budget ${p.budget}`,
    );
    assert.ok(dp.value <= milp.value + 1e-7 * Math.max(1, Math.abs(milp.value)), `instance ${it}: DP ${dp.value} above MILP ${milp.value}`);
    assert.ok(
      dp.upperBound >= milp.value - 1e-7 * Math.max(1, Math.abs(milp.value)),
      `instance ${it}: upper bound ${dp.upperBound} below MILP ${milp.value}`,
    );
    if (dp.exact) assert.ok(close(dp.value, milp.value), `instance ${it}: certified exact ${dp.value} but MILP ${milp.value}`);
    if (close(dp.value, milp.value)) {
      exactTies++;
    } else {
      // at least the exact optimum of the budget reduced by the stated bound
      const tighter = solveMilp({ ...p, budget: p.budget - dp.discretisationBound });
      assert.ok(
        tighter.status === 'infeasible' || dp.value >= tighter.value - 1e-7 * Math.max(1, Math.abs(tighter.value)),
        `instance ${it}: DP ${dp.value} below MILP(budget - δ) ${tighter.value}`,
      );
    }
    // the LP bound is an upper bound
    assert.ok(lpBound(p).bound >= milp.value - 1e-7 * Math.max(1, Math.abs(milp.value)));
  }
  assert.ok(feasible > 100 && infeasible > 5, `mix of cases: ${feasible} feasible, ${infeasible} infeasible`);
  assert.ok(
    exactTies > feasible * 0.9,
    `the default grid is fine enough to hit the exact optimum in most cases (${exactTies}/${feasible})`,
  );
});

test('with integer costs and resolution 1 the DP is exact: equals brute force', { timeout: 10_000 }, () => {
  const rnd = seededRandom(7);
  for (let it = 0; it < 150; it++) {
    const p = randomProblem(rnd, 5, 6, true);
    const dp = solveMckp(p, { resolution: 1 });
    const bf = bruteForce(p);
    assert.equal(dp.discretisationBound, 0);
    if (bf.value === -Infinity) {
      assert.equal(dp.status, 'infeasible', `instance ${it}`);
      assert.ok(close(dp.minLatency, bf.minLatency));
    } else {
      assert.equal(dp.status, 'optimal', `instance ${it}`);
      assert.ok(close(dp.value, bf.value, 1e-9), `instance ${it}: DP ${dp.value} vs brute force ${bf.value}`);
    }
  }
});

/** Unpruned textbook MCKP DP over integer costs (for cross-checking the pruned one). */
function textbookDp(p: KnapsackProblem): number {
  const mins = p.groups.map((g) => Math.min(...g.costs));
  const W = p.budget - (p.baseLatency ?? 0) - mins.reduce((a, b) => a + b, 0);
  if (W < 0) return -Infinity;
  let prev = new Float64Array(W + 1);
  for (let gi = 0; gi < p.groups.length; gi++) {
    const g = p.groups[gi]!;
    const cur = new Float64Array(W + 1).fill(-Infinity);
    for (let i = 0; i < g.costs.length; i++) {
      const c = g.costs[i]! - mins[gi]!;
      const v = scoreChoice({ budget: 0, groups: [g] }, [i]).value;
      for (let w = c; w <= W; w++) if (prev[w - c]! + v > cur[w]!) cur[w] = prev[w - c]! + v;
    }
    prev = cur;
  }
  return prev[W]!;
}

test('pruned DP equals an unpruned textbook DP on larger integer instances', { timeout: 10_000 }, () => {
  const rnd = seededRandom(99);
  for (let it = 0; it < 25; it++) {
    const p = randomProblem(rnd, 24, 40, true);
    const dp = solveMckp(p, { resolution: 1 });
    const ref = textbookDp(p);
    if (ref === -Infinity) assert.equal(dp.status, 'infeasible');
    else assert.ok(close(dp.value, ref, 1e-9), `instance ${it}: ${dp.value} vs ${ref}`);
  }
});

test('LP bound (convex-hull greedy) equals javascript-lp-solver LP relaxation', { timeout: 10_000 }, () => {
  const rnd = seededRandom(31337);
  let compared = 0;
  for (let it = 0; it < 60; it++) {
    const p = randomProblem(rnd, 8, 12);
    const mine = lpBound(p);
    const ref = solveLpRelaxation(p);
    assert.equal(mine.status, ref.status, `instance ${it}`);
    if (ref.status === 'feasible') {
      compared++;
      // the library rounds its result to ~1e-8
      assert.ok(
        Math.abs(mine.bound - ref.bound) <= 1e-6 * Math.max(1, Math.abs(ref.bound)),
        `instance ${it}: ${mine.bound} vs ${ref.bound}`,
      );
      assert.ok(mine.integralValue <= mine.bound + 1e-12);
    }
  }
  assert.ok(compared > 30);
});

test('negative, non-monotone costs: keeps 24 channels rather than a slower 17', { timeout: 10_000 }, () => {
  // one group, k in 16..24; 17..23 hit a cliff and are slower than 24
  const costs = [-4, 3, 3.2, 3.4, 3.6, 3.8, 4, 4.2, -2];
  const p = validateProblem({
    budget: 0,
    groups: [{ id: 'conv', values: Array.from({ length: 24 }, (_, i) => 24 - i), domain: { min: 16, max: 24, step: 1 }, costs }],
  });
  const dp = solveMckp(p);
  assert.equal(dp.status, 'optimal');
  assert.deepEqual(dp.keep, { conv: 24 });
  assert.equal(dp.latency, -2);
  const tight = solveMckp({ ...p, budget: -3 });
  assert.deepEqual(tight.keep, { conv: 16 });
  const none = solveMckp({ ...p, budget: -5 });
  assert.equal(none.status, 'infeasible');
  assert.equal(none.minLatency, -4);
  assert.deepEqual(none.keep, { conv: 16 });
});

test('rounding is conservative: a selection reported optimal is feasible on exact costs even at a coarse grid', { timeout: 10_000 }, () => {
  const rnd = seededRandom(5);
  let conservative = 0;
  for (let it = 0; it < 100; it++) {
    const p = randomProblem(rnd, 10, 16);
    const coarse = solveMckp(p, { lossFraction: 0.2 });
    if (coarse.status === 'optimal') {
      assert.ok(coarse.latency <= p.budget + 1e-9 * Math.max(1, Math.abs(p.budget)));
      assert.ok(close(scoreKeep(p, coarse.keep).latency, coarse.latency));
      assert.ok(coarse.value <= coarse.upperBound + 1e-9);
      if (!coarse.exact) conservative++;
    }
  }
  assert.ok(conservative > 10, `the rounded-up grid path was exercised (${conservative} times)`);
});

test('default resolution keeps the worst-case loss at 0.1% of the budget', { timeout: 10_000 }, () => {
  const rnd = seededRandom(11);
  for (let it = 0; it < 50; it++) {
    const p = randomProblem(rnd, 10, 16);
    const dp = solveMckp(p);
    if (dp.status !== 'optimal' || p.budget <= 0) continue;
    const scale = Math.max(p.budget, p.budget - dp.minLatency);
    assert.ok(dp.discretisationBound <= 1e-3 * scale * (1 + 1e-9), `instance ${it}: δ=${dp.discretisationBound}`);
    assert.equal(dp.resolution, defaultResolution(p.budget, p.budget - dp.minLatency, p.groups.length));
  }
});

test('grow: fixed channels always stay and count towards k', { timeout: 10_000 }, () => {
  const p = validateProblem({
    budget: 10,
    groups: [
      { id: 'a', values: [5, 1], fixed: 3, domain: { min: 3, max: 5, step: 1 }, costs: [0, 4, 8] },
      { id: 'b', values: [4, 3, 2], fixed: 2, domain: { min: 2, max: 5, step: 1 }, costs: [0, 3, 6, 9] },
    ],
  });
  const dp = solveMckp(p);
  assert.equal(domainSize(p.groups[1]!.domain), 4);
  // best: a keeps 1 candidate (5, cost 4) and b keeps 2 candidates (7, cost 6)
  assert.deepEqual(dp.keep, { a: 4, b: 4 });
  assert.equal(dp.value, 12);
  assert.equal(dp.latency, 10);
});
