/**
 * ONNX Runtime's WebGPU execution provider end to end, on whatever Vulkan
 * driver the environment selects: in CI Mesa's software driver lavapipe
 * (`bench/gpu/lavapipe.sh`; its timings mean nothing as GPU latencies, so
 * only correctness and plumbing are checked). Skips, saying why, when no
 * Vulkan driver Dawn accepts can be brought up. The GPU work runs in a child
 * process with the driver's environment (see `helpers/webgpu-e2e.ts` and
 * `helpers/vulkan.ts`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  apiTimesPerRun,
  gpuSamplesSettled,
  isFast,
  parseProbeOutput,
  programVectorWidth,
  regimeOf,
  channelMultiple,
  validateTable,
  warmUpUntilStable,
} from '../src/latency/index.js';
import { repoRoot } from './helpers/cli.js';
import { vulkanEnv } from './helpers/vulkan.js';

test('webgpu: GPU kernel times per run come from the Api events, split by model_run', () => {
  const ev = (cat: string, name: string, ts: number, dur: number, key = '') => ({ cat, name, ts, dur, args: { cache_key: key } });
  const events = [
    ev('Session', 'model_run', 100, 50),
    ev('Session', 'model_run', 200, 50),
    ev('Api', 'L__conv_token_5&Conv&Conv2dMM', 110, 30, 'Conv2dMM[ActivationKind: 1;|1|4,1,1,1,0,32,32,32,4,]:8,8,1:1|1:2;4|2;4|2;1:2;4'),
    ev('Api', 'Q_conv&Conv&MatMul', 140, 5),
    // after its run's end, before the next: still the first run's
    ev('Api', 'L__conv_token_5&Conv&Transpose', 155, 2),
    ev('Api', 'L__conv_token_5&Conv&Conv2dMM', 210, 20),
    ev('Node', 'L__conv_token_5_kernel_time', 210, 999),
  ];
  const runs = apiTimesPerRun(events);
  assert.equal(runs.length, 2);
  assert.ok(Math.abs(runs[0]!.get('L__conv_token_5')!.ms - 0.032) < 1e-12, 'CPU dispatch (Node events) is not GPU time');
  assert.deepEqual(runs[0]!.get('L__conv_token_5')!.programs, ['Conv2dMM', 'Transpose']);
  assert.ok(Math.abs(runs[1]!.get('L__conv_token_5')!.ms - 0.02) < 1e-12);
  assert.equal(runs[1]!.get('Q_conv'), undefined);
});

test('webgpu: vector width of a program from its cache key; the vec4 rule (inputs and outputs in fours)', () => {
  assert.equal(programVectorWidth('Conv2dMM[ActivationKind: 1;|1|4,1,1,1,0,32,32,32,4,]:8,8,1:1|1|1|4|2|2|1|1|1||:2;4|2;4|2;1:2;4'), 4);
  assert.equal(
    programVectorWidth('Conv2dMM[ActivationKind: 1;|1|3,1,1,1,0,32,32,24,4,]:8,8,1:1|1|1|4|2|2|1|1|1||:0;4|2;4|2;1:2;4'),
    1,
    'one scalar input makes the kernel scalar',
  );
  assert.equal(programVectorWidth('MatMul[ActivationKind: 1;|4-4-1|1|4|1|1]:8,8,1:1|1|1|1|1|1|1||:2;3|2;2|1:3:1'), 4);
  assert.equal(programVectorWidth('GroupedConv[ActivationKind: 1;|1|1]:1|2|2|2|1|1||:0;4|0;4|0;1:0;4'), 1);
  assert.equal(programVectorWidth('no key'), undefined);
  const rules = { conv: { below: 1, align: 4, outPad: 1, outAlign: 4 } };
  assert.equal(isFast(rules.conv, 16, 32), true);
  assert.equal(isFast(rules.conv, 16, 33), false, 'an output width off the multiple is scalar on WebGPU');
  assert.equal(isFast(rules.conv, 17, 32), false);
  assert.equal(regimeOf(rules, 'conv', 16, 30).cls, 'plain');
  assert.deepEqual(regimeOf(rules, 'conv', 16, 32), { cls: 'fast', cinEff: 16, coutEff: 32 });
  assert.equal(channelMultiple(rules), 4);
  assert.equal(channelMultiple({ conv: { below: 1, align: 4, outPad: 1, outAlign: 8 } }), 8);
});

test('webgpu: warm-up runs past shader compilation; GPU samples settle at the profiler resolution', async () => {
  const times = [4000, 900, 3, 2.9, 2.95, 3];
  let i = 0;
  const n = await warmUpUntilStable(async () => times[Math.min(i++, times.length - 1)]!, 2);
  assert.equal(n, 4, 'stops once two consecutive runs agree within 1.25x');
  assert.equal(gpuSamplesSettled([0.004, 0.005, 0.004, 0.005, 0.004, 0.005, 0.004, 0.005], 0.02), true, 'within the 1 us resolution');
  assert.equal(gpuSamplesSettled([1, 2, 1, 2, 1, 2, 1, 2], 0.02), false);
});

test('webgpu: the loader and ORT logs name the GPU', () => {
  const text = [
    'INFO | DRIVER:    linux_read_sorted_physical_devices:',
    'INFO | DRIVER:         Original order:',
    'INFO | DRIVER:               [0] NVIDIA H200',
    'INFO | DRIVER:         Sorted order:',
    'INFO | DRIVER:               [0] NVIDIA H200  ',
    '[I:onnxruntime:onnxruntime-node, device_discovery_common.cc:34 operator()] Discovered OrtHardwareDevice {vendor_id:0x10de, device_id:0x2335, vendor:NVIDIA, type:1, metadata: []}',
    'latprune-gpu-probe: ok',
  ].join('\n');
  assert.deepEqual(parseProbeOutput(text), { ok: true, vulkanDevices: ['NVIDIA H200'], pciIds: ['10de:2335'] });
  assert.equal(
    parseProbeOutput('latprune-gpu-probe: error ... was false. Failed to get a WebGPU adapter: No supported adapters').error,
    'Failed to get a WebGPU adapter: No supported adapters',
  );
});

test('webgpu: table, verify and CPU parity on a Vulkan driver (lavapipe in CI)', async (t) => {
  const v = vulkanEnv();
  if ('skip' in v) {
    t.skip(v.skip);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'latprune-webgpu-'));
  try {
    const r = spawnSync(process.execPath, [join(repoRoot, 'dist', 'test', 'helpers', 'webgpu-e2e.js'), dir], {
      env: v.env,
      encoding: 'utf8',
      timeout: 280000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('webgpu-e2e: '));
    if (!line && /could not open a WebGPU device/.test(r.stderr ?? '')) {
      // the message's last occurrence (an uncaught error's report also quotes the throwing source line)
      const why = [...r.stderr.matchAll(/could not open a WebGPU device \((.*)\)\. It needs/g)].at(-1)?.[1] ?? 'see its stderr';
      t.skip(`no WebGPU device with this Vulkan environment (VK_ICD_FILENAMES=${v.env['VK_ICD_FILENAMES'] ?? ''}): ${why}`);
      return;
    }
    assert.ok(line, `the WebGPU run printed no result (exit ${r.status}, signal ${r.signal}):\n${(r.stderr ?? '').slice(-3000)}`);
    const res = JSON.parse(line.slice('webgpu-e2e: '.length)) as {
      gpu: { available: boolean; vendor: string; device: string };
      probe: { layout: Record<string, { align: number; outAlign?: number }>; seconds: number };
      table: {
        seconds: number;
        entries: number;
        device: { fingerprint: string; gpu?: { device: string } };
        runtime: { ep: string };
        points: number[][];
      };
      verify: { ep: string; runs: number; fps: number; verdict: string };
      parity: { elements: number; maxAbsDiff: number; maxAbsCpu: number };
    };
    t.diagnostic(
      `GPU ${res.gpu.device}; probe ${JSON.stringify(res.probe.layout)} in ${res.probe.seconds.toFixed(1)} s; table ${res.table.entries} entries in ${res.table.seconds.toFixed(1)} s; verify ${res.verify.verdict}; parity max |diff| ${res.parity.maxAbsDiff.toExponential(2)}`,
    );
    assert.equal(res.gpu.available, true);
    // table format: a WebGPU table of this GPU, named by its fingerprint, valid under the schema
    assert.equal(res.table.runtime.ep, 'webgpu');
    assert.match(res.table.device.fingerprint, /^webgpu-[a-z0-9]+-[a-z0-9-]+-[0-9a-f]{8}$/);
    assert.equal(res.table.device.gpu?.device, res.gpu.device);
    assert.equal(res.table.entries, 6);
    assert.ok(res.table.points.every((p) => p.length === 3 && p[2]! > 0));
    validateTable(JSON.parse(readFileSync(join(dir, 'table.json'), 'utf8')), 'table.json');
    // the probe found a rule for convolutions (ORT 1.30's vec4 kernels: inputs and outputs in fours)
    assert.ok(res.probe.layout['conv'], `no conv rule probed: ${JSON.stringify(res.probe.layout)}`);
    assert.equal(res.verify.ep, 'webgpu');
    assert.ok(res.verify.runs >= 3 && res.verify.fps > 0);
    assert.ok(
      res.parity.maxAbsDiff <= 1e-4 * Math.max(1, res.parity.maxAbsCpu),
      `WebGPU outputs differ from the CPU's by ${res.parity.maxAbsDiff}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
