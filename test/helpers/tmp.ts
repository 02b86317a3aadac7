/**
 * Temporary directories for tests, removed when the test that made them ends
 * (via `t.after`, so also when it fails or times out), or when a body settles.
 */
import { after, type TestContext } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary directory, removed after test `t` (and its subtests) ends. */
export async function tempDir(t: TestContext, prefix = 'latprune-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** {@link tempDir} for synchronous tests. */
export function tempDirSync(t: TestContext, prefix = 'latprune-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh temporary directory shared by the tests of one file, removed after all of them. */
export function fileTempDir(prefix = 'latprune-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `body` in a fresh temporary directory, removed when `body` settles. */
export async function withTempDir<T>(prefix: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
