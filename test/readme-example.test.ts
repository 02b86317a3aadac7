/**
 * The README's "Use it from code" example, compiled against the package's
 * published types and run by importing the package by name ('latprune'),
 * with a committed latency table in place of the user's.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import ts from 'typescript';
import { committedResnet20Table, repoRoot } from './helpers/cli.js';
import { deviceFingerprint } from '../src/latency/index.js';

/** The TypeScript block that follows `<!-- API EXAMPLE -->` in the README. */
function readmeExample(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const at = readme.indexOf('<!-- API EXAMPLE -->');
  assert.ok(at >= 0, 'README.md has no <!-- API EXAMPLE --> marker');
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, 'no ```ts block after the API EXAMPLE marker');
  return m[1]!;
}

test('the README example compiles against the package types and runs by importing latprune', { timeout: 300_000 }, async () => {
  const source = readmeExample();
  assert.match(source, /from 'latprune'/, 'the example imports the package by name');
  const runDir = await mkdtemp(join(tmpdir(), 'latprune-readme-'));
  const lutLine = /^const lut = '[^']*';$/m;
  const runLine = /^const run = '[^']*';$/m;
  assert.match(source, lutLine);
  assert.match(source, runLine);
  const code = source
    .replace(lutLine, `const lut = ${JSON.stringify(committedResnet20Table(deviceFingerprint()))};`)
    .replace(runLine, `const run = ${JSON.stringify(join(runDir, 'run'))};`);
  // inside the package, so that 'latprune' resolves to this checkout through package.json "exports"
  const dir = join(repoRoot, 'dist', 'readme-example');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'example.mts');
  writeFileSync(file, code);
  try {
    const program = ts.createProgram([file], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      skipLibCheck: true,
      types: ['node'],
      outDir: dir,
      rootDir: dir,
    });
    const emitted = program.emit();
    const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics].map((d) =>
      ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    );
    assert.deepEqual(diagnostics, [], 'the README example type-checks');
    const r = spawnSync(process.execPath, [join(dir, 'example.mjs')], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 280_000,
      env: { ...process.env, LATPRUNE_BACKEND: process.env['LATPRUNE_BACKEND'] ?? 'wasm' },
    });
    assert.equal(r.status, 0, `example exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    const out = r.stdout.split('\n');
    assert.match(out[0] ?? '', /^\d+ channel groups; dense: \d+ FPS \(estimate\)$/);
    assert.ok(
      out.some((l) => /^PASS \(estimate\).* top-1 \d+\.\d%$/.test(l)),
      r.stdout,
    );
    assert.ok(
      out.some((l) => /^\d+ parameters, \d+ FPS at batch 1 on this machine$/.test(l)),
      r.stdout,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  }
});
