#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/src/cli (built by `npm run build`, run by `npm ci`'s prepare step).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write(`latprune: ${entry} is missing; run \`npm run build\` in ${root} first.\n`);
  process.exit(2);
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
