/**
 * `latprune zoo`.
 */
import { LatpruneError } from '../../errors.js';
import { initBackend } from '../../backend/index.js';
import { modelStats, zooNames, buildZooModel } from '../../zoo/index.js';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

/** Registers `latprune zoo`. */
export function registerZoo(program: Command, ctx: CommandContext): void {
  const { io, setExit } = ctx;
  program
    .command('zoo')
    .description('list the model zoo with parameters and MACs')
    .option('--input <HxWxC>', 'input shape', '32x32x3')
    .option('--json', 'print JSON')
    .addOption(ctx.backendOption())
    .action(async (o: { input: string; json?: boolean; backend?: string }) => {
      await initBackend({ requested: o.backend });
      const shape = o.input.split('x').map(Number);
      if (shape.length !== 3 || shape.some((v) => !Number.isInteger(v) || v <= 0)) {
        throw new LatpruneError('BAD_ARGUMENT', `--input must look like 32x32x3, got '${o.input}'.`);
      }
      const rows = zooNames().map((name) => {
        const input = name === 'resnet50' || name === 'mobilenet_v1' ? ([224, 224, 3] as const) : (shape as [number, number, number]);
        const m = buildZooModel(name, { inputShape: input });
        const s = modelStats(m);
        m.dispose();
        return { name, input: input.join('x'), params: s.params, trainable: s.trainableParams, macs: s.macs };
      });
      if (o.json) io.out(JSON.stringify(rows));
      else
        for (const r of rows)
          io.out(
            `${r.name.padEnd(14)} input ${r.input.padEnd(10)} params ${(r.params / 1e6).toFixed(3).padStart(8)}M  MACs ${(r.macs / 1e6).toFixed(1).padStart(8)}M`,
          );
      setExit(0);
    });
}
