/**
 * Solver benchmark (`npm run bench:solver`): coupled selection on a synthetic
 * ResNet-50 (37 groups over 53 convs, granularity 8) and a per-channel
 * MobileNet-V1 (14 groups over 27 convs, granularity 1), at half the full
 * latency. Prints a table, then one JSON line with median times (ms) and the
 * relative gap to the LP bound of the linearisation at the returned selection.
 * `--save` also stores that line in bench/results/solver.json and rebuilds
 * bench/RESULTS.md.
 */

import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import {
  linearise,
  lpBound,
  relativeGap,
  solveCoupled,
  solveMckp,
  SyntheticLatencyModel,
  syntheticGroups,
  syntheticMobileNetV1Net,
  syntheticResNet50Net,
  type CoupledProblem,
  type SyntheticNet,
} from '../src/solver/index.js';
import { saveBenchLine } from './store.js';

const { values } = parseArgs({ options: { save: { type: 'boolean', default: false } } });

const BUDGET_FRACTION = 0.5;

interface Instance {
  readonly name: string;
  readonly model: SyntheticLatencyModel;
  readonly problem: CoupledProblem;
  readonly choices: number;
}

function instance(name: string, net: SyntheticNet, granularity: number): Instance {
  const model = new SyntheticLatencyModel(net);
  const groups = syntheticGroups(net, granularity, 2024);
  const choices = groups.reduce((s, g) => s + (g.domain.max - g.domain.min) / g.domain.step + 1, 0);
  return { name, model, problem: { budget: BUDGET_FRACTION * model.fullLatency(), groups }, choices };
}

const median = (bench: Bench, task: string): number => {
  const r = bench.getTask(task)?.result;
  if (!r || (r.state !== 'completed' && r.state !== 'aborted-with-statistics')) throw new Error(`bench task ${task} did not complete`);
  return r.latency.p50;
};

const resnet = instance('resnet50_g8', syntheticResNet50Net(), 8);
const mobilenet = instance('mobilenet_g1', syntheticMobileNetV1Net(), 1);
const out: Record<string, unknown> = { bench: 'solver' };

const bench = new Bench({ time: 3000, iterations: 20, warmupIterations: 5 });
for (const inst of [resnet, mobilenet]) {
  const first = linearise(inst.problem, inst.model, Object.fromEntries(inst.problem.groups.map((g) => [g.id, g.domain.max])));
  bench.add(`${inst.name} coupled`, () => {
    solveCoupled(inst.problem, inst.model);
  });
  bench.add(`${inst.name} single DP`, () => {
    solveMckp(first);
  });
  bench.add(`${inst.name} LP bound`, () => {
    lpBound(first);
  });
}
await bench.run();

for (const inst of [resnet, mobilenet]) {
  const sol = solveCoupled(inst.problem, inst.model);
  const lin = linearise(inst.problem, inst.model, sol.keep);
  const gap = relativeGap(sol.value, lpBound(lin).bound);
  const key = inst.name.split('_')[0]!;
  out[`${inst.name}_ms`] = +median(bench, `${inst.name} coupled`).toFixed(2);
  out[`${key}_gap`] = +gap.toExponential(3);
  out[`${inst.name}_dp_ms`] = +median(bench, `${inst.name} single DP`).toFixed(2);
  out[`${inst.name}_lp_ms`] = +median(bench, `${inst.name} LP bound`).toFixed(2);
  out[`${key}_status`] = sol.status;
  out[`${key}_latency_over_budget`] = +(sol.latency / inst.problem.budget).toFixed(5);
  out[`${key}_iterations`] = sol.iterations;
  out[`${key}_groups`] = inst.problem.groups.length;
  out[`${key}_choices`] = inst.choices;
}
console.table(
  bench.tasks.map((t) => {
    const r = t.result;
    const ok = r.state === 'completed' || r.state === 'aborted-with-statistics';
    return { task: t.name, median_ms: ok ? +r.latency.p50.toFixed(3) : NaN, samples: ok ? r.latency.samplesCount : 0 };
  }),
);
if (values.save) {
  const file = await saveBenchLine('solver', 'resnet50_g8, mobilenet_g1', out);
  process.stderr.write(`stored in ${file}; bench/RESULTS.md rebuilt\n`);
}
console.log(JSON.stringify(out));
