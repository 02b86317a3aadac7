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
// exit as soon as the command is done, whatever it left behind (a worker thread, a runtime's thread
// pool, a timer): a CLI that finished, or failed, must never hang. The commands clean up after
// themselves too; this is the last guard. stdout/stderr writes are synchronous for files and pipes.
process.exit(await main(process.argv.slice(2)));
