/**
 * bench/RESULTS.md's pruning section: the headline table holds the runs of one
 * measurement pass, the one that measured every method together.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildReport } from '../bench/report.js';
import { tempDir } from './helpers/tmp.js';

const run = (method: 'halp' | 'iee', at: string | undefined, top1: number) => ({
  method,
  top1,
  latency_ms: 9,
  dense_latency_ms: 19,
  measured_ms: 10,
  measured_speedup: 2.1,
  params: 90000,
  train_seconds: 3600,
  kept: { a: 4 },
  command: `latprune prune --method ${method} --epochs 8${method === 'halp' ? ' --steps 30 --interval 40' : ''}`,
  ...(at ? { measured_at: at } : {}),
});

/** The rows of the Markdown table under `heading` (run names). */
function rowsUnder(report: string, heading: RegExp): string[] {
  const start = report.search(heading);
  assert.ok(start >= 0, `no heading ${String(heading)}`);
  const lines = report.slice(start).split('\n').slice(1);
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[] = [];
  for (const l of lines.slice(first + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(/^\| `([^`]+)`/.exec(l)![1]!);
  }
  return rows;
}

test('bench report: the headline table is the pass that measured every method together', { timeout: 10_000 }, async (t) => {
  const dir = await tempDir(t, 'latprune-bench-report-');
  const write = (o: object) => writeFile(join(dir, 'halp-vs-iee.json'), JSON.stringify({ device: 'd', lut: 'l', epochs: 8, ...o }));
  await write({
    dense: { method: 'dense', dense: true, top1: 0.936, measured_at: '2026-12-01T19:00:00Z' },
    halp_old: run('halp', '2026-12-01T10:00:00Z', 0.93),
    iee_old: run('iee', '2026-12-01T10:00:00Z', 0.925),
    halp_late: run('halp', '2026-12-01T19:00:00Z', 0.931),
    iee_unstamped: run('iee', undefined, 0.92),
  });
  let r = buildReport(dir);
  assert.match(
    r,
    /### Every method at the main budget, measured together \(8 epochs of full Fashion-MNIST; pass of 2026-12-01 10:00 UTC\)/,
  );
  assert.deepEqual(rowsUnder(r, /### Every method at the main budget/), ['halp_old', 'iee_old']);
  assert.deepEqual(rowsUnder(r, /### Other runs at the main budget/), ['halp_late', 'iee_unstamped']);
  // a later pass with both methods takes the headline
  await write({
    halp_old: run('halp', '2026-12-01T10:00:00Z', 0.93),
    iee_old: run('iee', '2026-12-01T10:00:00Z', 0.925),
    halp_new: run('halp', '2026-12-02T08:00:00Z', 0.931),
    iee_new: run('iee', '2026-12-02T08:00:00Z', 0.927),
  });
  r = buildReport(dir);
  assert.deepEqual(rowsUnder(r, /### Every method at the main budget/), ['halp_new', 'iee_new']);
  // no pass with both: said, and the best pass is still shown on its own
  await write({ halp_a: run('halp', '2026-12-01T10:00:00Z', 0.93), iee_b: run('iee', '2026-12-01T11:00:00Z', 0.925) });
  r = buildReport(dir);
  assert.match(r, /no pass has measured every method together yet \(`npm run bench:halp-vs-iee -- --epochs 8 --only halp,iee`/);
  assert.deepEqual(rowsUnder(r, /### The main budget/), ['iee_b']);
  assert.deepEqual(rowsUnder(r, /### Other runs at the main budget/), ['halp_a']);
});

test(
  'bench report: commands name a run folder under runs/bench, and runs from an earlier host name its table',
  { timeout: 10_000 },
  async (t) => {
    const dir = await tempDir(t, 'latprune-bench-report-');
    const at = '2026-12-02T08:00:00Z';
    const withLut = (r: ReturnType<typeof run>, lut: string, out: string) => ({ ...r, command: `${r.command} --lut ${lut} --out ${out}` });
    await writeFile(
      join(dir, 'halp-vs-iee.json'),
      JSON.stringify({
        device: 'host-b',
        lut: 'latency-tables/host-b/t.json',
        epochs: 8,
        halp: withLut(run('halp', at, 0.93), 'latency-tables/host-b/t.json', '/home/someone/scratch/halp'),
        iee: withLut(run('iee', at, 0.925), 'latency-tables/host-b/t.json', 'runs/x/iee'),
        halp_old: withLut(run('halp', '2026-12-01T10:00:00Z', 0.92), 'latency-tables/host-a/t.json', 'runs/pass7/halp_old'),
      }),
    );
    const r = buildReport(dir);
    assert.match(r, /- `halp`: `latprune prune .* --out runs\/bench\/halp`/);
    assert.match(r, /- `halp_old`: `latprune prune .* --out runs\/bench\/halp_old`/);
    assert.doesNotMatch(r, /someone|pass7/);
    assert.match(r, /Every run but `halp` and `iee` was pruned on an earlier host, under its table `latency-tables\/host-a\/t\.json`/);
  },
);
