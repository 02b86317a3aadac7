/**
 * The newcomer's path, as a user runs it: the CLI in a child process on the
 * shipped Fashion-MNIST subset (prune a few dozen iterations to a speed-up
 * target, export, verify by measured speed-up against the dense export,
 * compare), and the promise that no failure leaves the process running:
 * faults injected inside a data-parallel gradient worker and between two
 * engine steps must end the CLI with exit code 2 within seconds, and the
 * library must have stopped its worker threads by the time `runPrune` rejects.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initBackend } from '../../src/backend/index.js';
import { embeddedSubsetDir } from '../../src/data/index.js';
import { deviceFingerprint } from '../../src/latency/index.js';
import { runPrune, type PruneRunOptions } from '../../src/prune/index.js';
import { liveGradientWorkers } from '../../src/train/gradients.js';
import { committedResnet20Table, repoRoot, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const mini = embeddedSubsetDir()!;
const model = join(repoRoot, 'models', 'resnet20-fashion-mnist');
const lut = committedResnet20Table(deviceFingerprint());
const env = { LATPRUNE_DATA: mini };

/** A short prune: 40 iterations of batch 32 over the first 1,280 images, HALP, no on-device check. */
const pruneArgs = (out: string, extra: string[] = []): string[] => [
  'prune',
  '--model',
  model,
  '--lut',
  lut,
  '--speedup',
  '2x',
  '--method',
  'halp',
  '--iterations',
  '40',
  '--batch',
  '32',
  '--train-subset',
  '1280',
  '--workers',
  '2',
  '--no-check-latency',
  '--no-distill',
  '--out',
  out,
  ...extra,
];

test('prune -> export -> verify -> compare on the shipped subset, as a user calls them', { timeout: 420_000 }, async (t) => {
  const dir = await tempDir(t, 'latprune-e2e-');
  const run = join(dir, 'halp');
  await t.test('prune ends with a verdict line and an honest result.json', async () => {
    const r = await runCli(pruneArgs(run), env, 150);
    assert.equal(r.hung, false, 'prune exited');
    assert.equal(r.code, 0, r.stderr);
    const last = r.stdout.trim().split('\n').at(-1)!;
    assert.match(last, /^PASS \(estimate\): top-1 .*%/, 'the last line is the verdict');
    assert.match(r.stderr, /schedule: 40 iterations: .* prunes .* then \d+ of fine-tuning/);
    const res = JSON.parse(await readFile(join(run, 'result.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(res['judged_by'], 'estimate');
    assert.equal(res['measured_latency_ms'], null);
    assert.equal(res['target_met'], true);
    assert.ok((res['top1'] as number) > 0.5, `top-1 ${String(res['top1'])} after 40 iterations from the pretrained model`);
  });
  await t.test('export the pruned and the dense model', async () => {
    const a = await runCli(['export', '--run', run, '--out', join(run, 'model.onnx')], env, 60);
    assert.equal(a.code, 0, a.stderr);
    const b = await runCli(['export', '--model', model, '--out', join(dir, 'dense', 'model.onnx')], env, 60);
    assert.equal(b.code, 0, b.stderr);
  });
  await t.test('verify by measured speed-up over the dense export', async () => {
    // the selection is 2x by the table; 1.4x measured leaves room for a noisy CI host
    const v = await runCli(
      [
        'verify',
        join(run, 'model.onnx'),
        '--baseline',
        join(dir, 'dense', 'model.onnx'),
        '--target-speedup',
        '1.4',
        '--batch',
        '128',
        '--json',
      ],
      env,
      90,
    );
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const j = JSON.parse(v.stdout.trim().split('\n').at(-1)!) as { speedup: number; met: boolean };
    assert.ok(j.speedup >= 1.4 && j.met, `measured ${j.speedup}x`);
  });
  await t.test('compare the run with itself', async () => {
    const c = await runCli(['compare', run, '--out', join(dir, 'report')], env, 60);
    assert.equal(c.code, 0, c.stderr);
    assert.ok(existsSync(join(dir, 'report', 'accuracy-fps.svg')));
  });
});

test(
  'bad input is refused before any work: --train-subset beyond the data, a schedule with no fine-tuning',
  { timeout: 120_000 },
  async (t) => {
    const dir = await tempDir(t, 'latprune-e2e-');
    const big = await runCli(
      [
        ...pruneArgs(join(dir, 'a')).filter((a, i, all) => a !== '--train-subset' && all[i - 1] !== '--train-subset'),
        '--train-subset',
        '25600',
      ],
      env,
      60,
    );
    assert.equal(big.code, 2);
    assert.match(big.stderr, /--train-subset 25600 asks for more images than the training split of .* holds \(4000\)/);
    assert.ok(!existsSync(join(dir, 'a')), 'nothing written');
    const short = await runCli([...pruneArgs(join(dir, 'b')), '--steps', '30', '--interval', '40'], env, 60);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /HALP's 30 prunes 40 iterations apart take 1200 of the run's 40 iterations, leaving 0 to fine-tune/);
    assert.ok(!existsSync(join(dir, 'b', 'checkpoint.ckpt')), 'no training happened');
    const omega = await runCli([...pruneArgs(join(dir, 'c')), '--method', 'iee', '--omega', '1.5'], env, 60);
    assert.equal(omega.code, 2);
    assert.match(omega.stderr, /latprune: error: prune: --omega \(iee\.omega\): must be in \[0, 1\), got 1\.5/);
    assert.ok(!existsSync(join(dir, 'c')), 'nothing written');
  },
);

for (const fault of ['grad-worker-step@3', 'prune-boundary@2']) {
  test(`a fault at ${fault} ends the CLI with exit code 2 within seconds, never a hang`, { timeout: 120_000 }, async (t) => {
    const dir = await tempDir(t, 'latprune-fault-');
    const r = await runCli(pruneArgs(join(dir, 'run')), { ...env, LATPRUNE_FAULT: fault }, 90);
    assert.equal(r.hung, false, `the process hung (killed after ${r.seconds.toFixed(0)} s); stderr:\n${r.stderr}`);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`latprune: error: .*injected fault at ${fault.split('@')[0]}`));
  });
}

test('runPrune stops its gradient workers before it rejects (worker fault and engine fault)', { timeout: 120_000 }, async (t) => {
  const info = await initBackend({ requested: 'wasm' });
  const dir = await tempDir(t, 'latprune-fault-');
  const o: PruneRunOptions = {
    model,
    fromScratch: false,
    dataset: 'fashion-mnist',
    dataDir: mini,
    lut,
    target: { speedup: 2 },
    method: 'halp',
    criterion: 'taylor',
    epochs: 1,
    iterations: 30,
    batchSize: 32,
    lr: 0.01,
    weightDecay: 5e-4,
    seed: 1,
    workers: 2,
    omega: 0.05,
    schedule: 'cosine',
    explore: true,
    freeze: true,
    zeroInit: false,
    granularity: 0,
    trainSubset: 640,
    out: '',
    resume: false,
    command: 'test',
  };
  for (const fault of ['grad-worker-step@2', 'prune-boundary@1']) {
    process.env['LATPRUNE_FAULT'] = fault;
    try {
      await assert.rejects(
        runPrune({ ...o, out: join(dir, fault) }, info.tfjsName, () => {}),
        /injected fault/,
      );
    } finally {
      delete process.env['LATPRUNE_FAULT'];
    }
    // a terminated worker reports its exit asynchronously
    for (let i = 0; i < 50 && liveGradientWorkers() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(liveGradientWorkers(), 0, `${fault}: worker threads left running`);
  }
});
