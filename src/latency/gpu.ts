/**
 * The GPU behind ONNX Runtime's WebGPU execution provider, and a stable
 * fingerprint that names its latency tables (`latency-tables/<fingerprint>/`).
 *
 * ORT does not expose Dawn's adapter info (vendor, architecture, device,
 * driver), and Node 20 has no `navigator.gpu`. So the description is put
 * together from what the machine does tell:
 * - the Vulkan loader's list of physical devices, printed when a child
 *   process opens a WebGPU session with `VK_LOADER_DEBUG=driver` (the device
 *   names Dawn chooses from, e.g. `NVIDIA H200` or `llvmpipe (LLVM 15.0.6,
 *   256 bits)`);
 * - the hardware devices ORT's verbose log lists (PCI vendor and device ids);
 * - the Vulkan ICD manifest in use (`VK_ICD_FILENAMES` / `VK_DRIVER_FILES`,
 *   else the system's), naming the driver library;
 * - `nvidia-smi` (name, driver version, compute capability) and
 *   `/proc/driver/nvidia/version` where present; Mesa's package version from
 *   its Debian changelog next to the driver.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** What is known of the GPU the WebGPU execution provider runs on. */
export interface GpuDescription {
  /** Whether a WebGPU session could be opened at all. */
  readonly available: boolean;
  /** Why not, when not available. */
  readonly reason?: string;
  /** `nvidia`, `amd`, `intel`, `mesa` (lavapipe, a CPU), or `unknown`. */
  readonly vendor: string;
  /** e.g. `hopper` (from the compute capability), `llvmpipe-256bit`; empty when unknown. */
  readonly architecture: string;
  /** Device name as the Vulkan driver reports it, e.g. `NVIDIA H200`. */
  readonly device: string;
  /** Driver and version, e.g. `nvidia 570.124.06`, `mesa 25.0.7-2~bpo12+1`. */
  readonly driver: string;
  /** Graphics API under Dawn (Linux: `vulkan`). */
  readonly backend: string;
  /** The Vulkan ICD manifest file in use, when one was found. */
  readonly icd?: string;
  /** PCI ids ORT discovered for GPUs (`10de:2335`). */
  readonly pciIds: readonly string[];
  /** Every physical device the Vulkan loader listed, in its sorted order. */
  readonly vulkanDevices: readonly string[];
  /** Where each field came from (for `doctor`). */
  readonly sources: readonly string[];
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'gpu-probe-child.js');

let cached: GpuDescription | undefined;

/** NVIDIA compute capability -> architecture name. */
function nvidiaArch(cc: string): string {
  const [maj, min] = cc.split('.').map(Number);
  if (maj === undefined || Number.isNaN(maj)) return '';
  if (maj >= 12 || maj === 10) return 'blackwell';
  if (maj === 9) return 'hopper';
  if (maj === 8) return min === 9 ? 'ada' : 'ampere';
  if (maj === 7) return min === 5 ? 'turing' : 'volta';
  if (maj === 6) return 'pascal';
  return `sm_${maj}${min ?? 0}`;
}

/** The Vulkan ICD manifest(s) the loader will read: the environment's, else the system's. */
function icdFiles(): string[] {
  const env = process.env['VK_DRIVER_FILES'] || process.env['VK_ICD_FILENAMES'];
  if (env) return env.split(':').filter(Boolean);
  const out: string[] = [];
  for (const dir of [
    '/usr/share/vulkan/icd.d',
    '/etc/vulkan/icd.d',
    '/usr/local/share/vulkan/icd.d',
    '/usr/local/nvidia/share/vulkan/icd.d',
  ]) {
    try {
      for (const f of readdirSync(dir)) if (f.endsWith('.json')) out.push(join(dir, f));
    } catch {
      // absent
    }
  }
  return out;
}

function icdLibrary(file: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { ICD?: { library_path?: string } }).ICD?.library_path;
  } catch {
    return undefined;
  }
}

/** Mesa's package version from the Debian changelog beside a driver library (`<root>/usr/lib/<triplet>/lib.so`). */
function mesaVersion(lib: string | undefined): string | undefined {
  const roots = lib && lib.startsWith('/') ? [join(dirname(lib), '..', '..', '..'), '/'] : ['/'];
  for (const root of roots) {
    const f = join(root, 'usr/share/doc/mesa-vulkan-drivers/changelog.Debian.gz');
    try {
      const first = gunzipSync(readFileSync(f)).toString('utf8').split('\n', 1)[0] ?? '';
      const m = /\(([^)]+)\)/.exec(first);
      if (m?.[1]) return m[1];
    } catch {
      // not there
    }
  }
  return undefined;
}

function run(cmd: string, args: readonly string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20000 });
  return r.status === 0 ? r.stdout : undefined;
}

/** Parses the child's output (exported for tests). */
export function parseProbeOutput(text: string): { ok: boolean; error?: string; vulkanDevices: string[]; pciIds: string[] } {
  const lines = text.split('\n');
  const vulkanDevices: string[] = [];
  // the loader prints "Sorted order:" then "[i] name" lines; take the first such list
  const at = lines.findIndex((l) => /Sorted order:/.test(l));
  if (at >= 0) {
    for (let i = at + 1; i < lines.length; i++) {
      const m = /\[\d+\]\s+(.*?)\s*$/.exec(lines[i]!);
      if (!m || !/DRIVER/.test(lines[i]!)) break;
      vulkanDevices.push(m[1]!);
    }
  }
  const pciIds = new Set<string>();
  for (const l of lines) {
    const m = /Discovered OrtHardwareDevice \{vendor_id:0x([0-9a-f]+), device_id:0x([0-9a-f]+), vendor:[^,]*, type:1/i.exec(l);
    if (m) pciIds.add(`${m[1]!.padStart(4, '0')}:${m[2]!.padStart(4, '0')}`);
  }
  const last = lines.filter((l) => l.startsWith('latprune-gpu-probe: ')).at(-1);
  const ok = last === 'latprune-gpu-probe: ok';
  return {
    ok,
    ...(ok
      ? {}
      : {
          error: last
            ? last.replace(/^latprune-gpu-probe: error /, '').replace(/^.* was false\. /, '')
            : 'the probe process printed no result',
        }),
    vulkanDevices,
    pciIds: [...pciIds],
  };
}

/**
 * Describes the GPU of the WebGPU execution provider (cached per process;
 * opens one WebGPU session in a child process, about a second).
 */
export function describeGpu(): GpuDescription {
  if (cached) return cached;
  const sources: string[] = [];
  const child = spawnSync(process.execPath, [CHILD], {
    encoding: 'utf8',
    timeout: 120000,
    env: { ...process.env, VK_LOADER_DEBUG: 'driver' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const text = `${child.stdout ?? ''}\n${child.stderr ?? ''}`;
  const probe = parseProbeOutput(text);
  const icds = icdFiles();
  const icd = icds.length === 1 ? icds[0] : (icds.find((f) => /nvidia/i.test(f)) ?? icds[0]);
  const lib = icd ? icdLibrary(icd) : undefined;
  let device = probe.vulkanDevices[0] ?? '';
  if (device) sources.push('device: Vulkan loader (VK_LOADER_DEBUG=driver)');
  let vendor = 'unknown';
  let architecture = '';
  let driver = '';
  const smi =
    existsSync('/proc/driver/nvidia/version') || /nvidia/i.test(device)
      ? run('nvidia-smi', ['--query-gpu=name,driver_version,compute_cap', '--format=csv,noheader'])
      : undefined;
  if (/nvidia/i.test(device) || smi || probe.pciIds.some((p) => p.startsWith('10de:'))) {
    vendor = 'nvidia';
    const [name, ver, cc] = (smi?.split('\n')[0] ?? '').split(',').map((s) => s.trim());
    if (name) {
      if (!device) device = name;
      driver = `nvidia ${ver ?? ''}`.trim();
      architecture = nvidiaArch(cc ?? '');
      sources.push('driver, architecture: nvidia-smi');
    } else {
      try {
        const v = /Kernel Module\s+([\d.]+)/.exec(readFileSync('/proc/driver/nvidia/version', 'utf8'))?.[1];
        if (v) {
          driver = `nvidia ${v}`;
          sources.push('driver: /proc/driver/nvidia/version');
        }
      } catch {
        // no NVIDIA kernel module
      }
    }
  } else if (/llvmpipe|lavapipe/i.test(device) || (lib && /lvp/.test(lib))) {
    vendor = 'mesa';
    const bits = /(\d+) bits/.exec(device)?.[1];
    architecture = `llvmpipe${bits ? `-${bits}bit` : ''}`;
    const v = mesaVersion(lib);
    driver = `mesa${v ? ` ${v}` : ''}`;
    if (v) sources.push('driver: Mesa Debian changelog');
  } else if (/radeon|amd/i.test(device) || probe.pciIds.some((p) => p.startsWith('1002:'))) {
    vendor = 'amd';
    driver = /radv/i.test(device) ? 'mesa radv' : '';
  } else if (/intel/i.test(device) || probe.pciIds.some((p) => p.startsWith('8086:'))) {
    vendor = 'intel';
  }
  if (icd) sources.push(`icd: ${icd}`);
  cached = {
    available: probe.ok,
    ...(probe.ok ? {} : { reason: probe.error ?? 'unknown' }),
    vendor,
    architecture,
    device: device || 'unknown-gpu',
    driver,
    backend: 'vulkan',
    ...(icd ? { icd } : {}),
    pciIds: probe.pciIds,
    vulkanDevices: probe.vulkanDevices,
    sources,
  };
  return cached;
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/\(.*$/, '')
    .replace(/nvidia|corporation|graphics/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 24);
}

/**
 * Stable fingerprint of a GPU, such as `webgpu-nvidia-h200-1a2b3c4d`:
 * readable prefix plus 8 hex digits of a hash over vendor, device,
 * architecture, driver and backend (a driver update can change the kernels'
 * speed, so it starts a new table).
 */
export function gpuFingerprint(g: GpuDescription = describeGpu()): string {
  const key = [g.vendor, g.device, g.architecture, g.driver, g.backend].join('|');
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return `webgpu-${g.vendor}-${slug(g.device) || 'gpu'}-${hash}`;
}

/** One line for tables and `doctor`: `NVIDIA H200 (nvidia, hopper; nvidia 570.x; vulkan)`. */
export function gpuSummary(g: GpuDescription): string {
  return `${g.device} (${[g.vendor, g.architecture].filter(Boolean).join(', ')}; ${g.driver || 'driver unknown'}; ${g.backend})`;
}

/** Whether an execution provider runs on the GPU through WebGPU. */
export function isWebGpu(ep: string): boolean {
  return ep === 'webgpu';
}
