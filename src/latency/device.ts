/**
 * Device description and a stable fingerprint used to name latency tables
 * (`latency-tables/<fingerprint>/...`). Two machines share a fingerprint when
 * they have the same CPU model, vector extensions, core count and OS/arch:
 * those decide a CPU runtime's kernel choices and so the table's contents.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The CPU vector extensions that change which kernels runtimes pick. */
const RELEVANT_FLAGS = ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx_vnni', 'amx_tile', 'neon', 'asimd'];

/** What the fingerprint is computed from. */
export interface DeviceDescription {
  readonly platform: string;
  readonly arch: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly cpuFlags: readonly string[];
  readonly memoryGiB: number;
}

/** Reads the current machine's description (Linux /proc/cpuinfo for flags when present). */
export function describeDevice(): DeviceDescription {
  const cpus = os.cpus();
  let flags: string[] = [];
  let model = cpus[0]?.model?.trim() || 'unknown-cpu';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const flagLine = /^(flags|Features)\s*:\s*(.*)$/m.exec(info);
    const have = new Set((flagLine?.[2] ?? '').split(/\s+/));
    flags = RELEVANT_FLAGS.filter((f) => have.has(f));
    const modelLine = /^model name\s*:\s*(.*)$/m.exec(info);
    if (modelLine?.[1]) model = modelLine[1].trim();
  } catch {
    // not Linux: the model from os.cpus() and no flags
  }
  return {
    platform: process.platform,
    arch: process.arch,
    cpuModel: model,
    cores: cpus.length,
    cpuFlags: flags,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/\(r\)|\(tm\)|cpu|processor|@.*$/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32);
}

/**
 * Stable fingerprint such as `linux-x64-amd-epyc-2c-3f9a1c2b`: readable
 * prefix plus 8 hex digits of a hash over everything that matters.
 */
export function deviceFingerprint(d: DeviceDescription = describeDevice()): string {
  const key = [d.platform, d.arch, d.cpuModel, d.cores, d.cpuFlags.join(',')].join('|');
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return `${d.platform}-${d.arch}-${slug(d.cpuModel) || 'cpu'}-${d.cores}c-${hash}`;
}
