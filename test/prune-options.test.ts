/**
 * The pruning options schema: defaults, the method union, errors naming flag
 * and path, the resume keys derived from it, and the CLI's flag/config
 * mapping and help.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RESUME_MUST_MATCH, parsePruneOptions, toRunOptions } from '../src/prune/index.js';
import { pruneHelpAll, pruneInputFromFlags } from '../src/cli/commands/prune.js';
import { main } from '../src/cli/main.js';

const minimal = {
  model: 'models/resnet20-fashion-mnist',
  method: 'iee',
  target: { speedup: 2 },
  latency: { table: 't.json' },
  run: { out: 'runs/x' },
} as const;

test('defaults are filled in and flatten to what the engine takes', { timeout: 10_000 }, () => {
  const o = parsePruneOptions(minimal);
  assert.equal(o.method, 'iee');
  assert.ok(o.method === 'iee' && o.iee.omega === 0.05 && o.iee.grow === 'explored');
  assert.equal(o.training.batchSize, 128);
  assert.equal(o.latency.margin, 0.05);
  assert.equal(o.latency.check, true);
  const r = toRunOptions(o, 'cmd');
  assert.equal(r.lut, 't.json');
  assert.equal(r.granularity, 0, "'auto' is the engine's 0");
  assert.deepEqual(
    r.distill,
    { teacher: 'models/resnet20-fashion-mnist', alpha: 0.5, temperature: 4 },
    'a model file distils from itself by default',
  );
  assert.equal(toRunOptions(parsePruneOptions({ ...minimal, model: 'resnet20' }), 'cmd').distill, undefined, 'a zoo name has no teacher');
  const h = parsePruneOptions({ ...minimal, method: 'halp', halp: { steps: 10 } });
  assert.equal(toRunOptions(h, 'cmd').steps, 10);
});

test('bad options are named by flag and path before any work', { timeout: 10_000 }, () => {
  assert.throws(() => parsePruneOptions({ ...minimal, iee: { omega: 2 } }), /--omega \(iee\.omega\)/);
  assert.throws(
    () => parsePruneOptions({ ...minimal, target: { speedup: 1 } }),
    /--speedup \(target\.speedup\): must be above 1 \(e\.g\. 2 for 2x\), got 1/,
  );
  assert.throws(() => parsePruneOptions({ ...minimal, target: {} }), /exactly one of --target-fps, --target-latency-ms, --speedup/);
  assert.throws(() => parsePruneOptions({ ...minimal, method: 'halp', iee: { omega: 0.1 } }), /unknown option iee/);
  assert.throws(() => parsePruneOptions({ ...minimal, method: 'magic' }), /--method must be one of iee, halp/);
  assert.throws(() => parsePruneOptions({ ...minimal, training: { bacthSize: 3 } }), /training: unknown option bacthSize/);
  const { latency: _l, ...noTable } = minimal;
  assert.throws(() => parsePruneOptions(noTable), /--lut \(latency\.table\) is required/);
});

test('resume keys come from the schema: every option but where the run lives', { timeout: 10_000 }, () => {
  for (const k of ['model', 'method', 'omega', 'steps', 'margin', 'distill', 'trainSubset', 'granularity', 'checkLatency'])
    assert.ok(RESUME_MUST_MATCH.includes(k), k);
  for (const k of ['out', 'resume', 'maxIterations', 'command', 'dataDir']) assert.ok(!RESUME_MUST_MATCH.includes(k), k);
});

test('flags map onto the schema and win over a --config file', { timeout: 10_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'latprune-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'run.json');
  await writeFile(cfg, JSON.stringify({ method: 'iee', iee: { omega: 0.1, H: 50 }, training: { epochs: 8 }, target: { fps: 100 } }));
  const { input } = pruneInputFromFlags({
    config: cfg,
    model: 'm',
    lut: 't.json',
    out: 'o',
    omega: '0.2',
    speedup: '2x',
    explore: true,
    checkLatency: false,
  });
  const o = parsePruneOptions(input);
  assert.ok(o.method === 'iee');
  assert.equal(o.iee.omega, 0.2, 'the flag wins');
  assert.equal(o.iee.H, 50, 'the file fills what flags leave');
  assert.equal(o.training.epochs, 8);
  assert.deepEqual(o.target, { speedup: 2 }, 'a target flag replaces the file target');
  assert.equal(o.latency.check, false);
  assert.equal(o.iee.explore, true);
  assert.throws(
    () => pruneInputFromFlags({ model: 'm', method: 'halp', omega: '0.2' }),
    /--omega is an option of --method iee, but the run uses --method halp/,
  );
  assert.throws(() => pruneInputFromFlags({ model: 'm', speedup: '2', targetFps: '10' }), /exactly one of/);
  await writeFile(cfg, '{ not json');
  assert.throws(() => pruneInputFromFlags({ config: cfg }), /--config .*run\.json: not valid JSON/);
});

test('prune --help fits on one screen; --help-all lists every flag with its config path', { timeout: 20_000 }, async () => {
  const out: string[] = [];
  const code = await main(['prune', '--help'], { out: (l) => out.push(l), err: (l) => out.push(l) });
  assert.equal(code, 0);
  const lines = out.join('\n').split('\n');
  assert.ok(lines.length <= 40, `prune --help has ${lines.length} lines`);
  assert.ok(!lines.some((l) => /--omega|--ramp|--zero-init/.test(l)), 'research knobs stay out of --help');
  const all = pruneHelpAll().join('\n');
  for (const f of ['--omega', 'iee.omega', '--steps', 'halp.steps', '--distill-alpha', 'training.distill.alpha', '--max-iterations'])
    assert.ok(all.includes(f), f);
  const bad: string[] = [];
  assert.equal(
    await main(['prune', '--model', 'resnet20', '--lut', 'x.json', '--out', '/tmp/never', '--omega', '3', '--speedup', '2'], {
      out: () => {},
      err: (l) => bad.push(l),
    }),
    2,
  );
  assert.match(bad.join('\n'), /--omega \(iee\.omega\)/);
});
