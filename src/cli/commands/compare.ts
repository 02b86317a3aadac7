/**
 * `latprune compare`.
 */
import { compareRuns } from '../../report/index.js';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

/** Registers `latprune compare`. */
export function registerCompare(program: Command, ctx: CommandContext): void {
  const { io, setExit } = ctx;
  program
    .command('compare')
    .description('compare finished runs: Markdown table and SVG plot of accuracy against FPS')
    .argument('<runs...>', 'run directories')
    .requiredOption('--out <dir>', 'report directory')
    .action(async (runs: string[], o: { out: string }) => {
      io.out(await compareRuns(runs, o.out));
      setExit(0);
    });
}
