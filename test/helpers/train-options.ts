/**
 * Options of a short `runTraining` on the shipped Fashion-MNIST subset
 * (ResNet-20, batch 16, 6 steps), for tests to override.
 */
import { embeddedSubsetDir } from '../../src/data/index.js';
import type { TrainRunOptions } from '../../src/train/index.js';

/** A short training run writing to `out`; `over` replaces any field. */
export function trainRunOptions(out: string, over: Partial<TrainRunOptions> = {}): TrainRunOptions {
  return {
    model: 'resnet20',
    dataset: 'fashion-mnist',
    dataDir: embeddedSubsetDir()!,
    epochs: 1,
    batchSize: 16,
    lr: 0.05,
    momentum: 0.9,
    nesterov: false,
    weightDecay: 5e-4,
    warmupEpochs: 0,
    labelSmoothing: 0.1,
    seed: 3,
    workers: 1,
    out,
    resume: false,
    checkpointEvery: 100,
    maxSteps: 6,
    command: 'test',
    ...over,
  };
}
