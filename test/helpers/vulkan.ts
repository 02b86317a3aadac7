/**
 * The environment that selects a Vulkan driver for WebGPU (Dawn) in a child
 * process: the caller's own when it names an ICD, else the lavapipe set up by
 * `bench/gpu/lavapipe.sh` in `.latprune-cache/lavapipe/env.sh`. Its
 * variables must be set before the child starts (the dynamic loader reads
 * LD_LIBRARY_PATH only then), so GPU work runs in a child process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './cli.js';

/** The environment that selects a Vulkan driver, or why there is none (a test's skip reason). */
export function vulkanEnv(): { env: NodeJS.ProcessEnv } | { skip: string } {
  if (process.env['VK_ICD_FILENAMES'] || process.env['VK_DRIVER_FILES']) return { env: process.env };
  const envFile = join(repoRoot, '.latprune-cache', 'lavapipe', 'env.sh');
  if (!existsSync(envFile)) {
    return {
      skip: `no Vulkan driver for WebGPU: VK_ICD_FILENAMES/VK_DRIVER_FILES are unset and ${envFile} does not exist (run \`bench/gpu/lavapipe.sh\` to set up Mesa's lavapipe >= 25, or export a GPU driver's ICD file)`,
    };
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const line of readFileSync(envFile, 'utf8').split('\n')) {
    const m = /^export (\w+)=(.*)$/.exec(line);
    if (!m) continue;
    env[m[1]!] = m[2]!.replace(
      /\$\{LD_LIBRARY_PATH:\+:\$LD_LIBRARY_PATH\}/,
      process.env['LD_LIBRARY_PATH'] ? `:${process.env['LD_LIBRARY_PATH']}` : '',
    );
  }
  return { env };
}
