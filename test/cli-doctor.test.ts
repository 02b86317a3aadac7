/**
 * Backend selection rules and `latprune doctor`, run in-process.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../src/cli/main.js';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { initBackend, isSoftwareAdapter, parseBackendName, webGpuRefusal, type WebGpuAdapterInfo } from '../src/backend/index.js';
import { repoRoot } from './helpers/cli.js';
import { LatpruneError } from '../src/errors.js';
import { deviceFingerprint, describeDevice } from '../src/latency/device.js';
import { capture } from './helpers/capture.js';

async function nativeInstalled(pkg: string): Promise<boolean> {
  try {
    await import(pkg);
    return true;
  } catch {
    return false;
  }
}

test('unknown backend names are rejected with the valid list, from the flag and the environment', { timeout: 10_000 }, async () => {
  assert.throws(
    () => parseBackendName('gpu', '--backend'),
    (e: unknown) => e instanceof LatpruneError && /--backend: unknown backend 'gpu'.*node-gpu, node, webgpu, wasm, cpu/.test(e.message),
  );
  await assert.rejects(initBackend({ env: { LATPRUNE_BACKEND: 'tpu' } }), /LATPRUNE_BACKEND: unknown backend 'tpu'/);
  const io = capture();
  assert.equal(await main(['doctor', '--backend', 'webgl2'], io), 2);
  assert.match(io.errLines.join('\n'), /unknown backend 'webgl2'\. Valid backends: node-gpu, node, webgpu, wasm, cpu/);
});

test('an explicitly requested backend that cannot load is an error with the reason, not a fallback', { timeout: 10_000 }, async (t) => {
  if (await nativeInstalled('@tensorflow/tfjs-node')) return t.skip('tfjs-node is installed on this machine');
  await assert.rejects(
    initBackend({ requested: 'node' }),
    (e: unknown) =>
      e instanceof LatpruneError && e.code === 'BACKEND_UNAVAILABLE' && /package not installed.*@tensorflow\/tfjs-node/.test(e.message),
  );
});

test('auto-selection skips missing native packages and says why', { timeout: 10_000 }, async () => {
  const info = await initBackend({ env: {} });
  assert.equal(info.explicit, false);
  assert.ok(['node-gpu', 'node', 'webgpu', 'wasm'].includes(info.name), `expected a fast backend, got ${info.name}`);
  assert.ok(info.summary.includes(`tfjs backend '${info.name}'`), info.summary);
  for (const s of info.skipped) assert.ok(info.summary.includes(`${s.name}: ${s.reason}`), `${s.name}'s reason in: ${info.summary}`);
  const viaEnv = await initBackend({ env: { LATPRUNE_BACKEND: 'cpu' } });
  assert.equal(viaEnv.name, 'cpu');
  assert.match(viaEnv.summary, /requested by LATPRUNE_BACKEND/);
});

/** The fields of `doctor --json` this test reads. */
interface DoctorJson {
  tfjs: { backend: string };
  wasm: { simd: unknown };
  onnxruntime: { version: string; executionProviders: string[] };
  device: { cores: number };
  fingerprint: string;
}

test('doctor --json reports backend, ORT, CPU and a stable fingerprint', { timeout: 10_000 }, async () => {
  const io = capture();
  assert.equal(await main(['doctor', '--json', '--backend', 'wasm'], io), 0);
  const r = JSON.parse(io.outLines.at(-1)!) as DoctorJson;
  assert.equal(r.tfjs.backend, 'wasm');
  assert.equal(typeof r.wasm.simd, 'boolean');
  assert.match(r.onnxruntime.version, /^\d+\.\d+\.\d+/);
  assert.ok(r.onnxruntime.executionProviders.includes('cpu'));
  assert.equal(r.device.cores > 0, true);
  assert.equal(r.fingerprint, deviceFingerprint());
  assert.equal(deviceFingerprint(), deviceFingerprint(describeDevice()));
  assert.match(r.fingerprint, /^[a-z0-9]+-[a-z0-9_]+-[a-z0-9-]+-\d+c-[0-9a-f]{8}$/);
  // the fingerprint changes with what matters and only with that
  const d = describeDevice();
  assert.notEqual(deviceFingerprint({ ...d, cores: d.cores + 1 }), deviceFingerprint(d));
  assert.equal(deviceFingerprint({ ...d, memoryGiB: d.memoryGiB + 8 }), deviceFingerprint(d));
});

test('webgpu: auto-selection refuses a software adapter (lavapipe) and takes a hardware one; forced, either', { timeout: 10_000 }, () => {
  // what Dawn reports for Mesa 25's lavapipe, and for a GPU
  const lavapipe: WebGpuAdapterInfo = {
    vendor: 'mesa',
    architecture: 'software',
    device: 'llvmpipe-llvm-15-0-6-256-bits-',
    description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
    isFallbackAdapter: true,
  };
  const h200: WebGpuAdapterInfo = {
    vendor: 'nvidia',
    architecture: 'hopper',
    device: '',
    description: 'NVIDIA H200',
    isFallbackAdapter: false,
  };
  assert.equal(isSoftwareAdapter(lavapipe), true);
  assert.equal(isSoftwareAdapter({ ...lavapipe, isFallbackAdapter: false, architecture: '' }), true, 'by its name alone');
  assert.equal(isSoftwareAdapter(h200), false);
  const probe = (adapter: WebGpuAdapterInfo) => ({ available: true, adapter, software: isSoftwareAdapter(adapter) });
  assert.match(webGpuRefusal(probe(lavapipe), false) ?? '', /only a software adapter, llvmpipe.*slower than wasm.*--backend webgpu/);
  assert.equal(webGpuRefusal(probe(lavapipe), true), undefined);
  assert.equal(webGpuRefusal(probe(h200), false), undefined);
  assert.equal(webGpuRefusal({ available: false, software: false, reason: 'no adapter here' }, true), 'no adapter here');
});

test('webgpu: --backend webgpu without an adapter is an error naming the packages and the driver it needs', { timeout: 60_000 }, () => {
  // a Vulkan loader pointed at no driver: Dawn finds no adapter on any machine
  const env = { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' };
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'latprune.js'), 'doctor', '--backend', 'webgpu'], {
    env,
    encoding: 'utf8',
    timeout: 50_000,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--backend: backend 'webgpu' cannot be loaded: (Dawn found no WebGPU adapter|the optional package)/);
  assert.match(r.stderr, /npm install webgpu @tensorflow\/tfjs-backend-webgpu/);
  assert.match(r.stderr, /bench\/gpu\/lavapipe\.sh/);
});
