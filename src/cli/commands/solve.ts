/**
 * `latprune solve --problem FILE.json [--json]`: solve a saved knapsack
 * problem with the exact DP and report it against the LP bound.
 */

import { readFile } from 'node:fs/promises';
import { LatpruneError } from '../../errors.js';
import { lpBound, relativeGap } from '../../solver/index.js';
import { solveMckp } from '../../solver/index.js';
import { domainSize, parseProblem } from '../../solver/index.js';

/** Options of {@link solveCommand}. */
export interface SolveCommandOptions {
  /** Path of the problem JSON file (see {@link KnapsackProblem}). */
  readonly problem: string;
  /** Print one JSON object instead of the human summary. */
  readonly json: boolean;
  /** Line sink (e.g. `console.log`). */
  readonly out: (line: string) => void;
}

const fmt = (x: number): string => (Number.isFinite(x) ? Number(x.toPrecision(6)).toString() : String(x));

/**
 * Runs the solve command.
 *
 * @param opts - file, output mode and line sink
 * @returns exit code: 0 when the budget is met (status `optimal`), 1 when it is infeasible
 * @throws LatpruneError `NOT_FOUND` / `BAD_FILE` (unreadable or invalid JSON) / `SCHEMA` (bad field), each naming the file
 */
export async function solveCommand(opts: SolveCommandOptions): Promise<number> {
  let text: string;
  try {
    text = await readFile(opts.problem, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new LatpruneError(
        'NOT_FOUND',
        `--problem ${opts.problem}: file not found; pass the problem JSON saved next to a pruning checkpoint`,
        { cause: e },
      );
    }
    throw new LatpruneError('BAD_FILE', `--problem ${opts.problem}: cannot read (${(e as Error).message})`, { cause: e });
  }
  const p = parseProblem(text, opts.problem);
  const t0 = performance.now();
  const sol = solveMckp(p);
  const ms = performance.now() - t0;
  const lp = lpBound(p);
  const gap = sol.status === 'optimal' ? relativeGap(sol.value, lp.bound) : null;
  if (opts.json) {
    opts.out(
      JSON.stringify({
        problem: opts.problem,
        status: sol.status,
        value: sol.value,
        latency: sol.latency,
        budget: sol.budget,
        minLatency: sol.minLatency,
        lpBound: sol.status === 'optimal' ? lp.bound : null,
        gap,
        resolution: sol.resolution,
        discretisationBound: sol.discretisationBound,
        exact: sol.exact,
        upperBound: sol.status === 'optimal' ? sol.upperBound : null,
        solveMs: ms,
        keep: sol.keep,
      }),
    );
  } else {
    const choices = p.groups.reduce((s, g) => s + domainSize(g.domain), 0);
    opts.out(`problem: ${opts.problem} (${p.groups.length} groups, ${choices} choices)`);
    if (sol.status === 'infeasible') {
      opts.out(
        `status: infeasible: budget ${fmt(sol.budget)} is below the minimum reachable latency ${fmt(sol.minLatency)}; raise the budget (the fastest selection is listed below)`,
      );
    } else {
      opts.out(`status: optimal (value ${fmt(sol.value)}, LP bound ${fmt(lp.bound)}, gap ${fmt(100 * gap!)}%)`);
      opts.out(`latency: ${fmt(sol.latency)} of budget ${fmt(sol.budget)} (minimum reachable ${fmt(sol.minLatency)})`);
      opts.out(
        sol.exact
          ? `grid: resolution ${fmt(sol.resolution)}; exact optimum (certified); ${fmt(ms)} ms`
          : `grid: resolution ${fmt(sol.resolution)}; value >= exact optimum at budget - ${fmt(sol.discretisationBound)}, exact optimum <= ${fmt(sol.upperBound)}; ${fmt(ms)} ms`,
      );
    }
    const w = Math.max(5, ...p.groups.map((g) => g.id.length));
    opts.out(`${'group'.padEnd(w)}  kept/max  cost`);
    p.groups.forEach((g, gi) => {
      const kept = `${sol.keep[g.id]}/${g.domain.max}`;
      opts.out(`${g.id.padEnd(w)}  ${kept.padEnd(8)}  ${fmt(g.costs[sol.choice[gi]!]!)}`);
    });
  }
  return sol.status === 'optimal' ? 0 : 1;
}

import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

/** Registers `latprune solve`. */
export function registerSolve(program: Command, ctx: CommandContext): void {
  const { io, setExit } = ctx;
  program
    .command('solve')
    .description('solve a saved knapsack problem (keep/grow channels within a latency budget); exit 1 if infeasible')
    .requiredOption('--problem <file>', 'problem JSON (the pruning engine saves one per step)')
    .option('--json', 'print one JSON object')
    .action(async (o: { problem: string; json?: boolean }) => {
      setExit(await solveCommand({ problem: o.problem, json: o.json === true, out: (l) => io.out(l) }));
    });
}
