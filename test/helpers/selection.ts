/**
 * Random channel selections for compaction and export tests.
 */
import type { ChannelGraph, Selection } from '../../src/graph/index.js';
import { seededRandom } from '../../src/util/random.js';

/** A random selection keeping 30-90% of every group. */
export function randomSelection(g: ChannelGraph, seed: number): Selection {
  const rnd = seededRandom(seed);
  return Object.fromEntries(
    g.groups.map((gr) => {
      const k = Math.max(gr.minKeep, Math.round(gr.size * (0.3 + 0.6 * rnd())));
      const idx = Array.from({ length: gr.size }, (_, i) => i)
        .sort(() => rnd() - 0.5)
        .slice(0, k)
        .sort((a, b) => a - b);
      return [gr.id, idx];
    }),
  );
}
