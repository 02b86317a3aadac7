/**
 * Progress bars for long jobs (cli-progress on stderr). On a terminal the bar
 * redraws in place; elsewhere (CI, logs of background runs) it prints a line
 * every `logEverySeconds`.
 */
import cliProgress from 'cli-progress';

/** Values shown next to the bar. */
export type ProgressPayload = Record<string, string | number>;

/** A started bar. */
export interface Progress {
  update(value: number, payload?: ProgressPayload): void;
  stop(): void;
}

/**
 * Starts a bar for `total` units named `stage`; `fields` lists the payload
 * keys shown after the bar, in order.
 */
export function startProgress(stage: string, total: number, start = 0, fields: readonly string[] = [], logEverySeconds = 30): Progress {
  const extra = fields.map((f) => `${f} {${f}}`).join(' | ');
  const bar = new cliProgress.SingleBar(
    {
      format: `${stage} |{bar}| {value}/{total} | ${extra}${extra ? ' | ' : ''}ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: false,
      etaBuffer: 50,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: logEverySeconds * 1000,
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, start, Object.fromEntries(fields.map((f) => [f, '-'])));
  return {
    update: (value, payload) => bar.update(value, payload),
    stop: () => bar.stop(),
  };
}
