/**
 * Damaged model files are named before tfjs sees them: a missing or
 * truncated weights shard (the .bin file, the model.json listing it, the
 * byte counts) and an unparseable model.json.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, stat, truncate, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { LatpruneError } from '../src/errors.js';
import { loadModel, manifestGroupBytes, readModelMetadata, saveModel } from '../src/model/index.js';
import { withTempDir } from './helpers/tmp.js';

function tinyModel(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [10, 10, 1] }),
      tf.layers.dense({ units: 400, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
}

/** Rewrites a saved model's single weights.bin as `n` shards of `shard` bytes (the converter's layout). */
async function shardModel(dir: string, shard: number): Promise<string[]> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { weightsManifest: Array<{ paths: string[] }> };
  const bytes = await readFile(join(dir, 'weights.bin'));
  const n = Math.ceil(bytes.length / shard);
  const paths = Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`);
  for (let i = 0; i < n; i++) await writeFile(join(dir, paths[i]!), bytes.subarray(i * shard, (i + 1) * shard));
  await rm(join(dir, 'weights.bin'));
  json.weightsManifest[0]!.paths = paths;
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  return paths;
}

const isNamed = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof LatpruneError, `expected a LatpruneError, got ${String(e)}`);
  assert.match(e.message, re);
  return true;
};

/** Runs `body` with a fresh temporary directory and a tiny model, cleaning both up after. */
async function withTinyModel(body: (dir: string, model: tf.LayersModel) => Promise<void>): Promise<void> {
  await initBackend({ requested: 'wasm' });
  await withTempDir('latprune-modelio-', async (dir) => {
    const model = tinyModel();
    try {
      await body(dir, model);
    } finally {
      model.dispose();
    }
  });
}

test('a truncated weights.bin is named with the expected and actual byte counts', { timeout: 60_000 }, async () => {
  await withTinyModel(async (dir, model) => {
    await saveModel(model, join(dir, 'm'));
    const bin = join(dir, 'm', 'weights.bin');
    const full = (await stat(bin)).size;
    // (100*400 + 400 + 400*10 + 10) float32 values
    assert.equal(full, (100 * 400 + 400 + 400 * 10 + 10) * 4);
    const json = JSON.parse(await readFile(join(dir, 'm', 'model.json'), 'utf8')) as {
      weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>;
    };
    assert.equal(manifestGroupBytes(json.weightsManifest[0]!.weights), full);
    await truncate(bin, full - 1000);
    await assert.rejects(loadModel(join(dir, 'm')), (e: unknown) => {
      isNamed(
        /weights\.bin: weights file has \d+ bytes, but .*model\.json lists 4 weights that take \d+ bytes \(truncated\)\. Re-save the model, or download/,
      )(e);
      const msg = (e as Error).message;
      assert.ok(msg.includes(`${full - 1000} bytes`), msg);
      assert.ok(msg.includes(`${full} bytes`), msg);
      assert.equal((e as LatpruneError).code, 'BAD_FILE');
      return true;
    });
    // too long (another model's weights file, or junk appended): named too
    await truncate(bin, full);
    await appendFile(bin, Buffer.alloc(16));
    await assert.rejects(
      loadModel(join(dir, 'm')),
      isNamed(new RegExp(`weights\\.bin: weights file has ${full + 16} bytes, .* take ${full} bytes \\(too long\\)`)),
    );
  });
});

test('a missing weights shard is named with the model.json listing it', { timeout: 60_000 }, async () => {
  await withTinyModel(async (dir, model) => {
    await saveModel(model, join(dir, 'm'));
    const paths = await shardModel(join(dir, 'm'), 65536);
    assert.equal(paths.length, 3);
    await rm(join(dir, 'm', paths[1]!));
    await assert.rejects(loadModel(join(dir, 'm')), (e: unknown) => {
      isNamed(/group1-shard2of3\.bin: weights file listed in .*[/\\]m[/\\]model\.json is missing\. Re-save the model/)(e);
      assert.equal((e as LatpruneError).code, 'NOT_FOUND');
      return true;
    });
  });
});

test('sharded weights: intact shards load as tfjs reads them; a truncated shard is the one named', { timeout: 60_000 }, async () => {
  await withTinyModel(async (dir, model) => {
    await saveModel(model, join(dir, 'm'));
    const paths = await shardModel(join(dir, 'm'), 65536);
    const loaded = await loadModel(join(dir, 'm'));
    const x = tf.randomNormal([2, 10, 10, 1], 0, 1, 'float32', 3);
    assert.deepEqual((loaded.predict(x) as tf.Tensor).dataSync(), (model.predict(x) as tf.Tensor).dataSync());
    loaded.dispose();
    const total = (100 * 400 + 400 + 400 * 10 + 10) * 4;
    // the middle shard cut short
    await truncate(join(dir, 'm', paths[1]!), 60000);
    await assert.rejects(
      loadModel(join(dir, 'm')),
      isNamed(
        new RegExp(
          `weights group 1 of .*model\\.json \\(4 weights\\) takes ${total} bytes, but its 3 shards hold ${total - 5536} bytes \\(truncated\\): .*group1-shard2of3\\.bin has 60000 bytes, expected 65536 \\(truncated\\)\\.`,
        ),
      ),
    );
    // the last shard cut short instead
    await truncate(join(dir, 'm', paths[1]!), 0);
    await writeFile(join(dir, 'm', paths[1]!), await readFile(join(dir, 'm', paths[0]!)));
    await truncate(join(dir, 'm', paths[2]!), 100);
    await assert.rejects(
      loadModel(join(dir, 'm')),
      isNamed(new RegExp(`group1-shard3of3\\.bin has 100 bytes, expected ${total - 2 * 65536} \\(truncated\\)`)),
    );
  });
});

test('an unparseable or empty model.json is a named BAD_FILE error', { timeout: 60_000 }, async () => {
  await withTinyModel(async (dir, model) => {
    await saveModel(model, join(dir, 'm'));
    const file = join(dir, 'm', 'model.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, Math.floor(text.length / 2)));
    await assert.rejects(loadModel(join(dir, 'm')), (e: unknown) => {
      isNamed(/model\.json: cannot read a tfjs model\.json \(it is not valid JSON: .*possibly truncated\)\. Re-save the model/)(e);
      assert.equal((e as LatpruneError).code, 'BAD_FILE');
      return true;
    });
    await assert.rejects(readModelMetadata(join(dir, 'm')), isNamed(/model\.json: cannot read a tfjs model\.json/));
    await writeFile(file, '');
    await assert.rejects(loadModel(file), isNamed(/model\.json: cannot read a tfjs model\.json \(the file is empty/));
    const json = JSON.parse(text) as { weightsManifest: unknown[] };
    json.weightsManifest = [{ paths: 'weights.bin', weights: [] }];
    await writeFile(file, JSON.stringify(json));
    await assert.rejects(loadModel(file), isNamed(/model\.json: weightsManifest\[0\] is malformed/));
  });
});
