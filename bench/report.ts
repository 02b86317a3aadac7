/**
 * bench:report — rebuilds bench/RESULTS.md from the stored results in
 * bench/results/ (nothing is trained or timed):
 *
 * - `halp-vs-iee.json` (written by `npm run bench:halp-vs-iee`): one table of
 *   every run at the main budget, one of the runs at the ablation budget,
 *   the latency detail behind them and the command of every run;
 * - `lut-accuracy.json`: the latency-table accuracy runs made on the tables
 *   as committed;
 * - `train-step.json`, `solver.json`, when present: the final JSON line of
 *   `npm run bench:train-step` / `npm run bench:solver`.
 *
 *   npm run bench:report
 *
 * `npm run bench:halp-vs-iee` calls the same writer after each measurement pass.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

type Entry = Record<string, unknown>;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const pct = (v: number | undefined, digits = 1): string => (v === undefined ? '-' : `${(100 * v).toFixed(digits)}%`);
const times = (v: number | undefined, digits = 2): string => (v === undefined ? '-' : `${v.toFixed(digits)}x`);
const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;
const table = (head: string[], rows: string[][]): string => [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
/** The table's estimate of a run's latency: a checked run's `latency_ms` is what its check measured. */
const estimatedMs = (e: Entry): number | undefined => num(e['estimated_latency_ms']) ?? num(e['latency_ms']);
const utc = (iso: unknown): string => (typeof iso === 'string' ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : 'not recorded');

/** What a run's `latprune prune` command says about it. */
function describe(cmd: string): { method: string; kd: boolean; check: boolean; budget: 'main' | 'ablation' | 'scratch' } {
  const flag = (name: string): string | undefined => new RegExp(`--${name} (\\S+)`).exec(cmd)?.[1];
  const has = (name: string): boolean => new RegExp(`--${name}(\\s|$)`).test(cmd);
  const method = flag('method') ?? 'iee';
  const extra: string[] = [];
  for (const f of ['ramp', 'ramp-interval', 'omega', 'grow']) if (flag(f) !== undefined) extra.push(`--${f} ${flag(f)}`);
  for (const f of ['no-explore', 'no-freeze', 'zero-init']) if (has(f)) extra.push(`--${f}`);
  let name: string;
  if (method === 'halp') name = `HALP (${flag('steps')} prunes ${flag('interval')} iterations apart)`;
  else if (has('from-scratch')) name = 'IEE from scratch';
  else if (flag('ramp') !== undefined && flag('omega') !== undefined) name = "IEE from HALP's descent";
  else if (flag('ramp') !== undefined) name = 'IEE, step 0 in several prunes';
  else name = 'IEE, one-shot step 0 (paper)';
  if (extra.length) name += ` \`${extra.join(' ')}\``;
  const budget = has('from-scratch') ? 'scratch' : has('train-subset') ? 'ablation' : 'main';
  return { method: name, kd: has('distill'), check: !has('no-check-latency'), budget };
}

/** The dense network's latency in the measurement pass of an entry: its latency times its speed-up, both from the same rounds. */
const denseMeasuredMs = (e: Entry): number | undefined => {
  const ms = num(e['measured_ms']);
  const sp = num(e['measured_speedup']);
  return ms !== undefined && sp !== undefined ? ms * sp : undefined;
};

function pruningSection(file: string): string {
  const all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const entries = Object.entries(all).filter(
    (x): x is [string, Entry] => x[1] !== null && typeof x[1] === 'object' && 'top1' in (x[1] as object),
  );
  const dense = entries.find(([n]) => n === 'dense')?.[1];
  const denseTop1 = num(dense?.['top1']);
  const runs = entries.filter(([n, e]) => n !== 'dense' && typeof e['command'] === 'string');
  const info = new Map(runs.map(([n, e]) => [n, describe(String(e['command']))]));
  // the runs on the same estimator budget (no on-device check) first: only training differs between them
  const order = (n: string): number => (info.get(n)!.check ? 1 : 0);
  const byBudget = (b: string): [string, Entry][] =>
    runs.filter(([n]) => info.get(n)!.budget === b).sort((a, b2) => order(a[0]) - order(b2[0]));
  const main = byBudget('main');
  const other = [...byBudget('ablation'), ...byBudget('scratch')];
  const abl = all['ablation'] as { trainSubset?: number; epochs?: number; H?: number; T?: number } | undefined;
  const resultRow = (n: string, e: Entry): string[] => {
    const d = info.get(n)!;
    const top1 = num(e['top1']);
    const estSpeedup = (num(e['dense_latency_ms']) ?? NaN) / (estimatedMs(e) ?? NaN);
    const host = (denseMeasuredMs(e) ?? NaN) / (num(e['dense_latency_ms']) ?? NaN);
    return [
      `\`${n}\``,
      d.method,
      d.kd ? 'yes' : 'no',
      d.check ? 'yes' : 'no',
      top1 === undefined ? '-' : `${(100 * top1).toFixed(2)}%`,
      top1 === undefined || denseTop1 === undefined ? '-' : `${(100 * (top1 - denseTop1)).toFixed(2)}`,
      times(Number.isFinite(estSpeedup) ? estSpeedup : undefined),
      times(num(e['measured_speedup'])),
      times(Number.isFinite(host) ? host : undefined),
      utc(e['measured_at']),
      `${((num(e['params']) ?? 0) / 1000).toFixed(1)}k`,
      `${((num(e['train_seconds']) ?? 0) / 60).toFixed(0)} min`,
    ];
  };
  const head = [
    'run',
    'method',
    'distillation',
    'on-device check',
    'top-1',
    'vs dense (points)',
    'estimated speed-up',
    'measured speed-up',
    'host: dense measured / estimated',
    'measured (UTC)',
    'params',
    'train time',
  ];
  const detail = [...main, ...other].map(([n, e]) => {
    const check = num(e['check_speedup']);
    return [
      `\`${n}\``,
      `${(estimatedMs(e) ?? NaN).toFixed(2)}`,
      `${(num(e['dense_latency_ms']) ?? NaN).toFixed(2)}`,
      `${(num(e['measured_ms']) ?? NaN).toFixed(2)}`,
      `${(denseMeasuredMs(e) ?? NaN).toFixed(2)}`,
      pct(num(e['predicted_error'])),
      check === undefined ? '-' : `${check.toFixed(3)}x (${String(e['check_rounds'])})`,
      e['kept'] ? `\`${Object.values(e['kept'] as Record<string, number>).join(' ')}\`` : '-',
    ];
  });
  // the same kept counts measured in different passes: the host's state, not the selection
  const groups = new Map<string, string[]>();
  for (const [n, e] of runs) {
    const key = `${JSON.stringify(e['kept'])}@${String(e['dense_latency_ms'])}`;
    groups.set(key, [...(groups.get(key) ?? []), n]);
  }
  const same = [...groups.values()]
    .filter((g) => g.length > 1)
    .map(
      (g) =>
        `- ${g.map((n) => `\`${n}\` ${times(num(all[n] && (all[n] as Entry)['measured_speedup']), 3)} (measured ${utc((all[n] as Entry)['measured_at'])})`).join(', ')}: the same kept counts.`,
    );
  // the main-budget runs by measurement pass: speed-ups compare only within one (the host's state moves them)
  const passes = new Map<string, [string, Entry][]>();
  for (const r of main) {
    const at = r[1]['measured_at'];
    if (typeof at !== 'string') continue;
    passes.set(at, [...(passes.get(at) ?? []), r]);
  }
  const methodsIn = (rs: [string, Entry][]): number => new Set(rs.map(([, e]) => String(e['method']))).size;
  // the pass that measured the most methods together, the latest of those
  const together = [...passes.entries()].sort((a, b) => methodsIn(b[1]) - methodsIn(a[1]) || b[0].localeCompare(a[0]))[0];
  const allMethods = methodsIn(main);
  const headline = together?.[1] ?? [];
  const rest = main.filter((r) => !headline.includes(r));
  const epochs = `${String(all['epochs'])} epochs of full Fashion-MNIST`;
  const mainSection = [
    together && methodsIn(headline) === allMethods
      ? `### Every method at the main budget, measured together (${epochs}; pass of ${utc(together[0])} UTC)`
      : `### The main budget (${epochs}): no pass has measured every method together yet (\`npm run bench:halp-vs-iee -- --epochs ${String(all['epochs'])} --only halp,iee\` trains and measures them in one pass)`,
    '',
    table(
      head,
      headline.map(([n, e]) => resultRow(n, e)),
    ),
    '',
    ...(rest.length
      ? [
          `### Other runs at the main budget (${epochs}), measured in other passes`,
          '',
          'Their speed-ups compare with each other only within one pass (the same *measured (UTC)*), not with the table above.',
          '',
          table(
            head,
            rest.map(([n, e]) => resultRow(n, e)),
          ),
          '',
        ]
      : []),
  ];
  const unrecorded = runs.some(([, e]) => e['measured_at'] == null);
  // each command as a user would rerun it: its run folder under runs/bench/, wherever the pass wrote it
  const commands = runs.map(([n, e]) => `- \`${n}\`: \`${String(e['command']).replace(/--out \S+/, `--out runs/bench/${n}`)}\``);
  // the table each run was pruned under (the host's own): runs from earlier hosts are named with theirs
  const byTable = new Map<string, string[]>();
  for (const [n, e] of runs) {
    const lut = /--lut (\S+)/.exec(String(e['command']))?.[1] ?? String(all['lut']);
    byTable.set(lut, [...(byTable.get(lut) ?? []), n]);
  }
  const current = byTable.get(String(all['lut'])) ?? [];
  const earlier = [...byTable].filter(([lut]) => lut !== String(all['lut']));
  const quote = (ns: string[]) => {
    const q = ns.map((n) => `\`${n}\``);
    return q.length > 1 ? `${q.slice(0, -1).join(', ')} and ${q[q.length - 1]!}` : (q[0] ?? '');
  };
  const tables =
    earlier.length === 0
      ? ''
      : earlier.length === 1 && current.length > 0
        ? ` Every run but ${quote(current)} was pruned on an earlier host, under its table \`${earlier[0]![0]}\`: its latencies are on that host's scale, so compare those runs by speed-up only.`
        : ` Runs pruned on earlier hosts, under their tables: ${earlier.map(([lut, ns]) => `\`${lut}\` (${quote(ns)})`).join('; ')}; their latencies are on those hosts' scales, so compare them by speed-up only.`;
  return [
    `## Pruning: HALP and IEE on ResNet-20 / Fashion-MNIST at 2x FPS`,
    '',
    `ResNet-20 from the pretrained \`models/resnet20-fashion-mnist\` (dense top-1 ${denseTop1 === undefined ? '-' : `${(100 * denseTop1).toFixed(2)}%`}), pruned to 2x the dense model's estimated FPS under \`${String(all['lut'])}\` (ORT CPU, batch 128), seed 1, on \`${String(all['device'])}\` (2 cores, shared). Every run is exported to ONNX and timed with ONNX Runtime against the dense export in interleaved rounds.${tables}`,
    '',
    ...mainSection,
    'How to read it:',
    '',
    "- **On-device check: no** means the run was pruned to the estimator's budget (2x the dense estimate, less the 5% margin) and nothing else: those runs differ only in training, so their accuracies compare directly. With the check, the selection was timed during pruning and re-solved, so each run ends at its own measured budget.",
    "- **Estimated speed-up** is the dense model's estimated latency over the run's, under the table calibration the run was pruned with. **Measured speed-up** is the dense export's latency over the run's, timed in the same rounds, median over the rounds.",
    "- **Host** is the dense export's measured latency over its estimate in that pass: 1.00x is the state the table was calibrated in; above it the shared host ran slower. The measured speed-up moves with that state, because small networks slow down more than the dense one when the host is slow, so figures from different passes are not measured together. The absolute FPS moves far more (the latency detail below): compare speed-ups, not FPS, across passes.",
    ...(unrecorded
      ? [
          '- *Not recorded*: measured before the bench stamped entries with their pass (those passes ran on 2026-12-01 between 00:44 and 01:32 UTC).',
        ]
      : []),
    '',
    ...(same.length ? ['Runs whose final structures are identical, measured in different passes:', '', ...same, ''] : []),
    `### Runs at the ablation budget (${abl?.epochs ?? '-'} epochs of the first ${abl?.trainSubset ?? '-'} training images, H = J = Q = ${abl?.H ?? '-'}, T = ${abl?.T ?? '-'}) and from scratch (${String(all['scratch_epochs'])} epochs)`,
    '',
    table(
      head,
      other.map(([n, e]) => resultRow(n, e)),
    ),
    '',
    '### Latency detail',
    '',
    "Estimated: the table's estimate under the calibration the run was pruned with. Measured: ONNX Runtime, median over the interleaved rounds of its pass; dense measured: the dense export in the same rounds. Estimate error: (estimated - measured) / measured, which is mostly the host's state at that pass (see *host* above). Check: the speed-up the on-device check measured during pruning for the selection it kept (selections timed).",
    '',
    table(
      ['run', 'estimated ms', 'dense estimated ms', 'measured ms', 'dense measured ms', 'estimate error', 'check', 'kept counts'],
      detail,
    ),
    '',
    '### Commands',
    '',
    'Each run (`config.json` records it):',
    '',
    ...commands,
  ].join('\n');
}

/** The date and time a lut-accuracy run description starts with or contains, e.g. "2026-12-01 05:07 UTC". */
const runTime = (text: string): string | undefined => {
  const m = /(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})/.exec(text);
  return m ? `${m[1]}T${m[2]}` : undefined;
};

function lutSection(file: string): string {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { runs: { command: string; result: Record<string, unknown> }[] };
  const rows: string[][] = [];
  for (const model of ['resnet20', 'mobilenet_v1', 'resnet50']) {
    const found = doc.runs.flatMap((r) => {
      const m = r.result[model] as Entry | undefined;
      return m && typeof m['table'] === 'string' ? [{ when: runTime(r.command), table: m['table'], m }] : [];
    });
    if (!found.length) continue;
    // runs on each committed table (one per host) as it is now: the same file name and the same
    // calibration (the run's first control network is the table's first calibration network, with its time then)
    const committedTables = [...new Set(found.map((f) => f.table).filter((t) => t.startsWith('latency-tables/') && existsSync(t)))];
    const base = (p: string): string => p.split('/').pop()!;
    const chosen = committedTables.flatMap((committed) => {
      const first = (JSON.parse(readFileSync(committed, 'utf8')) as { calibration?: { samples?: { measuredMs?: number }[] } }).calibration
        ?.samples?.[0]?.measuredMs;
      return found
        .filter((f) => {
          const c = (f.m['control'] as { calibration_ms?: number }[] | undefined)?.[0]?.calibration_ms;
          return base(f.table) === base(committed) && first !== undefined && c !== undefined && Math.abs(c - first) < 0.0015;
        })
        .map((f) => ({ ...f, committed }));
    });
    for (const f of chosen) {
      const m = f.m;
      const pair = (a: string, b: string): string => (num(m[a]) === undefined ? '-' : `${pct(num(m[a]))} / ${pct(num(m[b]))}`);
      rows.push([
        model === 'resnet20'
          ? 'ResNet-20, 28x28x1, b128'
          : model === 'mobilenet_v1'
            ? 'MobileNet-V1, 224x224x3, b1'
            : 'ResNet-50, 224x224x3, b1',
        f.when ? f.when.replace('T', ' ') : '-',
        (num(f.m['align']) ?? 1) > 1 ? `multiples of ${num(f.m['align'])!}` : 'any',
        f.table === f.committed
          ? `as committed (\`${f.committed.split('/')[1]!}\`)`
          : 'as built, before it was copied into latency-tables/',
        pair('latprune_median_err', 'latprune_p90_err'),
        pair('latprune_median_err_drift_corrected', 'latprune_p90_err_drift_corrected'),
        pair('latprune_median_err_refit', 'latprune_p90_err_refit'),
        pair('noise_floor_median_err', 'noise_floor_p90_err'),
        times(num(m['control_drift'])),
        pair('halp_median_err', 'halp_p90_err'),
      ]);
    }
  }
  return [
    '## Latency tables: estimate against measured networks',
    '',
    "`npm run bench:lut-accuracy`: 30 random-width networks per model (every group keeps 20-100% of its channels; *widths any*: most off the runtime's fast multiples, as a table must also handle; *multiples of 4* (`--align 4`): what `latprune prune` keeps by default), each timed with ONNX Runtime once per round over 5 rounds, against latprune's estimate; |estimate - measured| / measured, median / p90. Goal: 3% / 8%. Every run on the committed tables with their current calibration (UTC):",
    '',
    table(
      [
        'model',
        'run (UTC)',
        'widths',
        'table',
        'latprune',
        'drift-corrected',
        'refitted on controls',
        'noise floor',
        'host vs calibration',
        'HALP-style sum',
      ],
      rows,
    ),
    '',
    "- *Host vs calibration*: the table's calibration networks, timed again in the same rounds, over their time at calibration (above 1.00x the host ran slower than when the table was calibrated). *Drift-corrected* scales the estimates by it; *refitted on controls* refits the calibration on those networks as timed now (what `latprune profile --recalibrate` does); *noise floor* is the same network timed in odd against even rounds, the best any estimate could show at that moment.",
    "- The raw column is within the goal when the host is in the state the table was calibrated in; when the host's speed has moved, the raw error follows it and the drift-corrected column shows the estimator's own error.",
    '- Every run, with its per-network times: `bench/results/lut-accuracy.json`.',
  ].join('\n');
}

/**
 * A bench stored by `--save` (bench/store.ts): one column per configuration,
 * one row per field of its final JSON line, with when and where it ran.
 */
function lastLineSection(title: string, file: string, command: string): string {
  if (!existsSync(file))
    return `### ${title}\n\n\`${command}\` prints its figures as a final JSON line; \`${command} -- --save\` stores it here (none stored yet).`;
  const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Entry>;
  const configs = Object.keys(stored);
  const fields: string[] = [];
  for (const c of configs)
    for (const [k, v] of Object.entries(stored[c]!))
      if ((typeof v !== 'object' || v === null) && k !== 'bench' && !fields.includes(k)) fields.push(k);
  const cell = (k: string, v: unknown): string => (v === undefined ? '-' : k === 'measured_at' ? `${utc(v)} UTC` : String(v));
  return `### ${title}\n\n\`${command} -- --save\` (\`${file}\`; the latest line of each configuration):\n\n${table(
    ['field', ...configs.map((c) => `\`${c}\``)],
    fields.map((k) => [k, ...configs.map((c) => cell(k, stored[c]![k]))]),
  )}`;
}

/** The report, from the JSON files in `dir`. */
export function buildReport(dir = 'bench/results'): string {
  const parts = [
    '# Benchmark results',
    '',
    `Generated by \`npm run bench:report\` from \`${dir}/\` (\`npm run bench:halp-vs-iee\` rewrites it after each measurement pass, the other benches with \`--save\`); edit the benches, not this file.`,
    '',
  ];
  const hvi = join(dir, 'halp-vs-iee.json');
  if (existsSync(hvi)) parts.push(pruningSection(hvi), '');
  const lut = join(dir, 'lut-accuracy.json');
  if (existsSync(lut)) parts.push(lutSection(lut), '');
  parts.push(
    '## Other benches',
    '',
    lastLineSection('Training step (ResNet-20, 28x28x1, one SGD step)', join(dir, 'train-step.json'), 'npm run bench:train-step'),
    '',
    lastLineSection(
      'Knapsack solver (synthetic ResNet-50 and MobileNet-V1 at half their latency)',
      join(dir, 'solver.json'),
      'npm run bench:solver',
    ),
    '',
    '## Reproduce',
    '',
    "Full Fashion-MNIST is required (Debian's `dataset-fashion-mnist`, or `LATPRUNE_DATA=DIR`); the bench refuses the shipped subset. Runs are resumable and reuse finished ones in `--out`; run them on an otherwise idle machine (hours on 2 cores).",
    '',
    '```sh',
    '# every method at the main budget, trained and measured in one pass (the first table)',
    'npm run bench:halp-vs-iee -- --epochs 8 --only halp,iee --out runs/bench',
    '# the four runs at the same estimator budget (no on-device check)',
    'npm run bench:halp-vs-iee -- --epochs 8 --with-kd --with-descent --no-check --only halp_nc,halp_kd_nc,iee_descent_nc,iee_descent_kd_nc --out runs/bench',
    '# the runs with the on-device check, and the ablations',
    'npm run bench:halp-vs-iee -- --epochs 8 --with-kd --with-ramp --with-descent --out runs/bench',
    '# measure every finished run in runs/bench together, in one pass of interleaved rounds',
    'npm run bench:halp-vs-iee -- --epochs 8 --measure-only --rounds 5 --out runs/bench',
    '# latency-table accuracy, training step, solver',
    'npm run bench:lut-accuracy',
    'npm run bench:train-step -- --save',
    'npm run bench:train-step -- --workers 2 --save',
    'npm run bench:solver -- --save',
    '# rebuild this file from bench/results/',
    'npm run bench:report',
    '```',
    '',
  );
  return parts.join('\n');
}

/** Writes the report atomically. */
export function writeReport(dir = 'bench/results', out = 'bench/RESULTS.md'): void {
  writeFileSync(`${out}.tmp`, buildReport(dir));
  renameSync(`${out}.tmp`, out);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeReport();
  console.log(JSON.stringify({ bench: 'report', out: 'bench/RESULTS.md' }));
}
