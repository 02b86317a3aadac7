/**
 * `latprune eval`.
 */
import { addDataOptions, dataSpecFromFlags, type DataFlagValues } from '../data-flag.js';
import { describePreprocess, evaluateTestSplit, openModelAndData } from '../../train/index.js';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

/** Registers `latprune eval`. */
export function registerEval(program: Command, ctx: CommandContext): void {
  const { io, setExit, backend } = ctx;
  const cmd = program
    .command('eval')
    .description(
      "top-1 accuracy of a model on a dataset's test split (or an image folder's val/ split); prints the input and normalisation it used",
    )
    .requiredOption('--model <name|path>', 'tfjs model.json / folder, an ONNX file, or a zoo name (untrained)');
  addDataOptions(cmd, { training: false, hideAdvanced: false })
    .option('--json', 'print one JSON object')
    .addOption(ctx.backendOption())
    .action(async (o: DataFlagValues & { model: string; json?: boolean; backend?: string }) => {
      await backend(o.backend);
      const { spec, preprocessFile } = dataSpecFromFlags(o);
      const md = await openModelAndData(o.model, spec, preprocessFile !== undefined ? { preprocessFile } : {});
      const { data } = md;
      try {
        if (!o.json) {
          io.err(data.describe());
          io.err(describePreprocess(md));
        }
        const r = await evaluateTestSplit(md.model, data);
        const p = md.preprocess;
        if (o.json) {
          io.out(
            JSON.stringify({
              model: md.source,
              dataset: data.name,
              data_dir: data.dir,
              origin: data.origin,
              input: [...p.input, p.channels],
              mean: p.mean,
              std: p.std,
              normalization_from: md.normalizationSource,
              ...r,
            }),
          );
        } else {
          io.out(
            `${md.source} on ${data.name} ${data.kind === 'image-folder' ? 'val' : 'test'} (${r.count} images from ${data.dir}): top-1 ${(100 * r.top1).toFixed(2)}%, loss ${r.loss.toFixed(4)}; ${describePreprocess(md, false)}`,
          );
        }
      } finally {
        md.model.dispose();
      }
      setExit(0);
    });
}
