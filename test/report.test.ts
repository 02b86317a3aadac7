/**
 * latprune compare: Markdown table and SVG from run directories.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareRuns } from '../src/report/index.js';
import { tempDir } from './helpers/tmp.js';

test(
  'compare: table rows, measured FPS from verify.json, dense marked in the plot; missing results are named',
  { timeout: 10_000 },
  async (t) => {
    const dir = await tempDir(t, 'latprune-report-');
    const run = async (name: string, r: object, v?: object) => {
      await mkdir(join(dir, name), { recursive: true });
      await writeFile(join(dir, name, 'result.json'), JSON.stringify(r));
      if (v) await writeFile(join(dir, name, 'verify.json'), JSON.stringify(v));
      return join(dir, name);
    };
    const dense = await run(
      'dense',
      {
        method: 'dense',
        dense: true,
        top1: 0.93,
        latency_ms: 40,
        fps: 3200,
        dense_latency_ms: 40,
        params: 272186,
        macs: 31e6,
        train_seconds: 0,
        images_seen: 0,
      },
      { fps: 3000 },
    );
    const iee = await run(
      'iee',
      {
        method: 'iee',
        top1: 0.925,
        latency_ms: 20,
        fps: 6400,
        dense_latency_ms: 40,
        params: 120000,
        macs: 14e6,
        train_seconds: 600,
        images_seen: 120000,
      },
      { fps: 6100 },
    );
    const halp = await run('halp', {
      method: 'halp',
      top1: 0.918,
      latency_ms: 20.5,
      fps: 6243.9,
      dense_latency_ms: 40,
      params: 118000,
      macs: 13e6,
      train_seconds: 620,
      images_seen: 120000,
    });
    const md = await compareRuns([dense, iee, halp], join(dir, 'report'));
    assert.match(md, /\| \*\*dense\*\* \(dense\) \| dense \| 93\.00% \| 3000\.0 \| 3200\.0 \| 1\.00x \| 1\.00x \|/);
    assert.match(
      md,
      /\| iee \| iee \| 92\.50% \| 6100\.0 \| 6400\.0 \| 2\.00x \| 2\.03x \| 120\.0k \| 14\.0 \| 10\.0 min \| 120000 \|/,
      'measured: 6100 / 3000 FPS',
    );
    assert.match(md, /\| halp \| halp \| 91\.80% \| - \| 6243\.9 \| 1\.95x \| - \|/, 'not verified: no measured speed-up');
    const svg = await readFile(join(dir, 'report', 'accuracy-fps.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.equal((svg.match(/<circle /g) ?? []).length, 2);
    assert.equal((svg.match(/<rect x=/g) ?? []).length, 1, 'the dense model is drawn as a square');
    assert.match(svg, /dense \(dense\)/);
    assert.ok(svg.trim().endsWith('</svg>'));
    await assert.rejects(compareRuns([join(dir, 'nope')], join(dir, 'r2')), /nope: result\.json is missing/);
  },
);
