/**
 * Runs the `latprune` CLI in a child process, exactly as a user calls it
 * (`node bin/latprune.js ...`), with a wall-clock limit: a command that does
 * not exit in time is killed and reported as hung.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tests run from dist/test/helpers). */
export const repoRoot = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin', 'latprune.js'))) dir = dirname(dir);
  return dir;
})();

/** What a finished (or killed) CLI run gave. */
export interface CliRun {
  /** Exit code; null when killed. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time in seconds. */
  readonly seconds: number;
  /** Whether it was killed at the limit (a hang). */
  readonly hung: boolean;
}

/** Runs `latprune <args>` with extra environment variables; kills it after `limitSeconds`. */
export function runCli(args: readonly string[], env: Record<string, string> = {}, limitSeconds = 120): Promise<CliRun> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'latprune.js'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, limitSeconds * 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (performance.now() - t0) / 1000, hung });
    });
  });
}

/** The committed ResNet-20 (28x28x1, batch 128, ORT) table of this device, else of any device. */
export function committedResnet20Table(fingerprint: string): string {
  const root = join(repoRoot, 'latency-tables');
  const name = 'resnet20-28x28x1-b128-ort.json';
  if (existsSync(join(root, fingerprint, name))) return join(root, fingerprint, name);
  const any = readdirSync(root).find((d) => existsSync(join(root, d, name)));
  if (!any) throw new Error(`no committed ${name} under ${root}`);
  return join(root, any, name);
}
