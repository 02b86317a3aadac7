/**
 * Entry point of a gradient worker thread (see `gradients.ts`): holds a model
 * replica on its own tfjs backend and returns loss and gradients for shards.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/index.js';
import {
  localGradients,
  modelFromTopology,
  teacherFromSpec,
  trainableVariables,
  type WorkerReply,
  type WorkerRequest,
} from './gradients.js';
import type { LossConfig } from './loss.js';
import { faultPoint } from '../util/fault.js';

if (!parentPort) throw new Error('grad-worker.js must run as a worker thread');
const port = parentPort;

let model: tf.LayersModel | undefined;
let vars: tf.Variable[] = [];
let loss: LossConfig | undefined;
let teacher: tf.LayersModel | undefined;

function reply(r: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(r, transfer);
}

// eslint-disable-next-line @typescript-eslint/no-misused-promises -- the handler catches every error and replies with it; the port ignores the promise
port.on('message', async (m: WorkerRequest) => {
  try {
    if (m.kind === 'init') {
      await initBackend({ requested: m.backend });
      model = await modelFromTopology(m.topology);
      vars = trainableVariables(model);
      loss = m.loss;
      if (m.teacher) teacher = await teacherFromSpec(m.teacher);
      reply({ kind: 'ready' });
      return;
    }
    if (!model || !loss) throw new Error('step before init');
    faultPoint('grad-worker-step');
    if (m.weights.length !== vars.length) throw new Error(`expected ${vars.length} weight arrays, got ${m.weights.length}`);
    vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(m.weights[i]!, v.shape))));
    const { loss: l, grads } = await localGradients(model, vars, m.batch, loss, teacher);
    let out: Float32Array[];
    try {
      // copies: the cpu backend's data() returns its own storage, which must not be transferred
      out = await Promise.all(vars.map(async (v) => ((await grads[v.name]!.data()) as Float32Array).slice()));
    } finally {
      tf.dispose(grads);
    }
    reply(
      { kind: 'grads', loss: l, grads: out },
      out.map((a) => a.buffer as ArrayBuffer),
    );
  } catch (err) {
    reply({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
  }
});
