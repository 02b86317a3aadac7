/**
 * `latprune export`.
 */
import { latpruneVersion } from '../doctor.js';
import { parseDataFlag } from '../data-flag.js';
import { exportOnnx, parseExportOptions, type ExportOptions } from '../../export/index.js';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

/** Registers `latprune export`. */
export function registerExport(program: Command, ctx: CommandContext): void {
  const { io, setExit, backend, num } = ctx;
  program
    .command('export')
    .description('compact a pruning run (or export a tfjs model) to ONNX, checked against tfjs on real images')
    .option('--run <dir>', 'a latprune prune run directory')
    .option('--model <path>', 'or a tfjs model.json / folder, or an ONNX file')
    .requiredOption('--out <file>', 'ONNX file to write')
    .option('--opset <n>', 'ONNX opset', num, 13)
    .option('--no-fold-bn', 'keep BatchNormalization nodes instead of folding them into convolutions')
    .option(
      '--data <name|dir>',
      "dataset or image folder for the parity check (default: the run's; without one, a model that does not take Fashion-MNIST images is checked on random inputs)",
    )
    .option('--dataset <name>', 'what --data DIR holds (fashion-mnist, mnist, cifar10, folder; default: guessed)')
    .option('--json', 'print one JSON object')
    .addOption(ctx.backendOption())
    .action(
      async (o: {
        run?: string;
        model?: string;
        out: string;
        opset: number;
        foldBn: boolean;
        data?: string;
        dataset?: string;
        json?: boolean;
        backend?: string;
      }) => {
        const data = o.data || o.dataset ? parseDataFlag(o.data, o.dataset) : undefined;
        const options: ExportOptions = {
          ...(o.run ? { run: o.run } : {}),
          ...(o.model ? { model: o.model } : {}),
          out: o.out,
          opset: o.opset,
          foldBn: o.foldBn,
          ...(data?.dataset !== undefined ? { dataset: data.dataset } : {}),
          ...(data?.dir !== undefined ? { dataDir: data.dir } : {}),
          producerVersion: latpruneVersion(),
        };
        // bad options are refused before the backend is set up
        parseExportOptions(options);
        await backend(o.backend);
        const r = await exportOnnx(options);
        const line = `wrote ${r.out}${r.preprocessFile ? ` (and ${r.preprocessFile})` : ''}: ${r.params} parameters; parity on ${r.parityData}: max abs diff ${r.parity.maxAbsDiff.toExponential(2)} (${r.parity.relDiff.toExponential(2)} relative), top-1 agreement ${(100 * r.parity.top1Agreement).toFixed(1)}%`;
        io.out(o.json ? JSON.stringify(r) : line);
        setExit(0);
      },
    );
}
