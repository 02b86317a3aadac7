/**
 * `latprune eval`.
 */
import { parseDataFlag } from '../data-flag.js';
import { evaluate } from '../../train/index.js';
import { resolveModel } from '../../model/index.js';
import { defaultNormalization, loadDataset } from '../../data/index.js';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

/** Registers `latprune eval`. */
export function registerEval(program: Command, ctx: CommandContext): void {
  const { io, setExit, backend } = ctx;
  program
    .command('eval')
    .description('top-1 accuracy of a model on a dataset\'s test split')
    .requiredOption('--model <name|path>', 'tfjs model.json / folder (or a zoo name, untrained)')
    .option('--data <name|dir>', 'dataset name or directory', 'fashion-mnist')
    .option('--dataset <name>', 'which dataset --data DIR holds', 'fashion-mnist')
    .option('--json', 'print one JSON object')
    .addOption(ctx.backendOption())
    .action(async (o: { model: string; data?: string; dataset?: string; json?: boolean; backend?: string }) => {
      await backend(o.backend);
      const choice = parseDataFlag(o.data, o.dataset);
      const data = await loadDataset(choice.dataset, choice.dir ? { dir: choice.dir } : {});
      const { model, source } = await resolveModel(o.model, { inputShape: [data.test.height, data.test.width, data.test.channels], numClasses: data.test.classNames.length });
      const r = evaluate(model, data.test, { normalization: defaultNormalization(data.name) });
      if (o.json) io.out(JSON.stringify({ model: source, dataset: data.name, data_dir: data.dir, origin: data.origin, ...r }));
      else io.out(`${source} on ${data.name} test (${r.count} images from ${data.dir}): top-1 ${(100 * r.top1).toFixed(2)}%, loss ${r.loss.toFixed(4)}`);
      setExit(0);
    });
}
