/**
 * `latprune compare`: a Markdown table and an SVG plot (accuracy against
 * measured FPS, dense model marked) over finished runs.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LatpruneError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';

/** One row of the comparison. */
export interface CompareRow {
  readonly name: string;
  readonly method: string;
  readonly top1: number;
  /** Measured FPS (from the run's verify.json), if verified. */
  readonly measuredFps?: number;
  readonly predictedFps: number;
  readonly speedup: number;
  readonly params: number;
  readonly macs: number;
  readonly trainSeconds: number;
  readonly imagesSeen: number;
  readonly dense?: boolean;
}

/** Reads a run directory (result.json, optional verify.json). */
export async function readRun(dir: string): Promise<CompareRow> {
  const resultFile = join(dir, 'result.json');
  if (!existsSync(resultFile))
    throw new LatpruneError(
      'NOT_FOUND',
      `${dir}: result.json is missing; is it a finished \`latprune prune\` run (or a dense reference written by the demo)?`,
    );
  const r = JSON.parse(await readFile(resultFile, 'utf8')) as Record<string, number | string | boolean>;
  const v = existsSync(join(dir, 'verify.json'))
    ? (JSON.parse(await readFile(join(dir, 'verify.json'), 'utf8')) as { fps: number })
    : undefined;
  return {
    name: basename(dir),
    method: String(r['method']),
    top1: Number(r['top1']),
    ...(v ? { measuredFps: v.fps } : {}),
    // the table's figures (a prune run's fps/latency_ms are the on-device check's when it measured)
    predictedFps: Number(r['estimated_fps'] ?? r['fps']),
    speedup: Number(r['dense_latency_ms']) / Number(r['estimated_latency_ms'] ?? r['latency_ms']),
    params: Number(r['params']),
    macs: Number(r['macs']),
    trainSeconds: Number(r['train_seconds']),
    imagesSeen: Number(r['images_seen']),
    ...(r['dense'] === true ? { dense: true } : {}),
  };
}

const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(2)}%` : '-');
const num = (v: number | undefined, d = 1) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));

/**
 * The Markdown table. Speed-up vs dense is given twice: predicted (the
 * table's dense estimate over the run's estimate) and measured (the run's
 * measured FPS over the dense row's, when both were verified; measured at
 * the same time, as the bench's final pass does, it is the figure to trust).
 */
export function markdownTable(rows: readonly CompareRow[]): string {
  const denseFps = rows.find((r) => r.dense)?.measuredFps;
  const head =
    '| run | method | top-1 | measured FPS | predicted FPS | speed-up vs dense, predicted | speed-up vs dense, measured | params | MMACs | train time | images |\n|---|---|---|---|---|---|---|---|---|---|---|\n';
  return (
    head +
    rows
      .map((r) => {
        const measured = denseFps !== undefined && r.measuredFps !== undefined ? `${num(r.measuredFps / denseFps, 2)}x` : '-';
        return `| ${r.dense ? `**${r.name}** (dense)` : r.name} | ${r.method} | ${pct(r.top1)} | ${num(r.measuredFps)} | ${num(r.predictedFps)} | ${num(r.speedup, 2)}x | ${measured} | ${(r.params / 1e3).toFixed(1)}k | ${(r.macs / 1e6).toFixed(1)} | ${(r.trainSeconds / 60).toFixed(1)} min | ${r.imagesSeen} |`;
      })
      .join('\n') +
    '\n'
  );
}

/** An SVG scatter plot of top-1 against FPS (measured where available, else predicted). */
export function accuracyFpsSvg(rows: readonly CompareRow[]): string {
  const W = 640;
  const H = 420;
  const m = { l: 70, r: 30, t: 40, b: 60 };
  const pts = rows.filter((r) => Number.isFinite(r.top1)).map((r) => ({ r, x: r.measuredFps ?? r.predictedFps, y: 100 * r.top1 }));
  if (!pts.length) throw new LatpruneError('BAD_ARGUMENT', 'compare: no run has an accuracy to plot.');
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  const pad = (lo: number, hi: number, f: number) => (hi - lo < 1e-9 ? [lo - 1, hi + 1] : [lo - (hi - lo) * f, hi + (hi - lo) * f]);
  const [x0, x1] = pad(Math.min(...xs), Math.max(...xs), 0.1) as [number, number];
  const [y0, y1] = pad(Math.min(...ys), Math.max(...ys), 0.15) as [number, number];
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const ticks = (lo: number, hi: number, n: number) => Array.from({ length: n + 1 }, (_, i) => lo + ((hi - lo) * i) / n);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">Top-1 accuracy vs throughput (ONNX Runtime)</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    ...ticks(x0, x1, 5).map((t) => `<text x="${sx(t).toFixed(1)}" y="${H - m.b + 18}" text-anchor="middle">${t.toFixed(0)}</text>`),
    ...ticks(y0, y1, 5).map((t) => `<text x="${m.l - 8}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${t.toFixed(1)}</text>`),
    `<text x="${W / 2}" y="${H - 15}" text-anchor="middle">images / s (measured; predicted where not verified)</text>`,
    `<text x="18" y="${H / 2}" text-anchor="middle" transform="rotate(-90 18 ${H / 2})">top-1 (%)</text>`,
    ...pts.map(({ r, x, y }) =>
      r.dense
        ? `<rect x="${(sx(x) - 6).toFixed(1)}" y="${(sy(y) - 6).toFixed(1)}" width="12" height="12" fill="#444"/><text x="${(sx(x) + 10).toFixed(1)}" y="${(sy(y) - 8).toFixed(1)}">${esc(r.name)} (dense)</text>`
        : `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="6" fill="${r.method.startsWith('halp') ? '#d62728' : '#1f77b4'}"/><text x="${(sx(x) + 10).toFixed(1)}" y="${(sy(y) - 8).toFixed(1)}">${esc(r.name)}</text>`,
    ),
    '</svg>',
  ];
  return parts.join('\n') + '\n';
}

/** Writes `report.md` and `accuracy-fps.svg` into `out`; returns the Markdown. */
export async function compareRuns(dirs: readonly string[], out: string): Promise<string> {
  if (!dirs.length) throw new LatpruneError('BAD_ARGUMENT', 'compare: give at least one run directory.');
  const rows = [];
  for (const d of dirs) rows.push(await readRun(d));
  const md = `# latprune comparison\n\n${markdownTable(rows)}\n![accuracy vs FPS](accuracy-fps.svg)\n`;
  await writeFileAtomic(join(out, 'report.md'), md);
  await writeFileAtomic(join(out, 'accuracy-fps.svg'), accuracyFpsSvg(rows));
  return md;
}
