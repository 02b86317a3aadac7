/**
 * Decode worker of {@link ImageFolderStream}: receives one `init` then `task`s (a
 * chunk of one batch: files and their augmentation), decodes each image into a
 * Float32Array slot, and posts the chunk back (buffer transferred) with the
 * files that failed. A failing file never ends the worker; only a broken message
 * or a failure to load sharp does (reported as `fatal`).
 */

import { parentPort } from 'node:worker_threads';
import { faultPoint } from '../../util/fault.js';
import { decodeInto, loadSharp, type DecodeConfig, type ItemAugmentation, type SharpModule } from './decode.js';

/** Main thread -> worker. */
export type DecodeRequest =
  | { readonly kind: 'init'; readonly config: DecodeConfig; readonly concurrency: number }
  | { readonly kind: 'task'; readonly id: number; readonly files: readonly string[]; readonly augs: readonly ItemAugmentation[] };

/** Worker -> main thread. */
export type DecodeReply =
  | { readonly kind: 'done'; readonly id: number; readonly x: Float32Array; readonly failed: readonly { readonly i: number; readonly message: string }[] }
  | { readonly kind: 'fatal'; readonly message: string };

if (!parentPort) throw new Error('decode-worker.js must run as a worker thread');
const port = parentPort;

let config: DecodeConfig | undefined;
let concurrency = 1;
let sharp: Promise<SharpModule> | undefined;
// tasks run one after another, in arrival order
let queue: Promise<void> = Promise.resolve();

async function runTask(id: number, files: readonly string[], augs: readonly ItemAugmentation[]): Promise<void> {
  faultPoint('decode-worker-task');
  const cfg = config as DecodeConfig;
  const s = await (sharp as Promise<SharpModule>);
  const size = cfg.height * cfg.width * cfg.channels;
  const x = new Float32Array(files.length * size);
  const failed: { i: number; message: string }[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      try {
        await decodeInto(s, files[i], augs[i], cfg, x, i * size);
      } catch (err) {
        x.fill(0, i * size, (i + 1) * size);
        failed.push({ i, message: err instanceof Error ? err.message.split('\n')[0] : String(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, files.length)) }, lane));
  failed.sort((a, b) => a.i - b.i);
  const reply: DecodeReply = { kind: 'done', id, x, failed };
  port.postMessage(reply, [x.buffer as ArrayBuffer]);
}

port.on('message', (m: DecodeRequest) => {
  if (m.kind === 'init') {
    config = m.config;
    concurrency = m.concurrency;
    sharp = loadSharp();
    sharp.catch((err: unknown) => {
      const reply: DecodeReply = { kind: 'fatal', message: `could not load sharp: ${err instanceof Error ? err.message : String(err)}` };
      port.postMessage(reply);
    });
    return;
  }
  if (m.kind === 'task' && config !== undefined) {
    queue = queue.then(() => runTask(m.id, m.files, m.augs)).catch((err: unknown) => {
      const reply: DecodeReply = { kind: 'fatal', message: err instanceof Error ? err.message : String(err) };
      port.postMessage(reply);
    });
    return;
  }
  const reply: DecodeReply = { kind: 'fatal', message: `unexpected message ${JSON.stringify(m).slice(0, 200)}` };
  port.postMessage(reply);
});
