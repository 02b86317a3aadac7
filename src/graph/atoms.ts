/**
 * Channel atoms: every channel a layer creates is an atom; coupling unions
 * atoms (union-find). Atoms created by the same layer form a "space"; spaces
 * whose atoms were unioned end up in the same channel group. An atom can be
 * pinned (never pruned): model inputs and outputs, ignored layers.
 */

/** Union-find over atoms with per-class pin flags, and over the spaces that created them. */
export class AtomTable {
  private readonly parent: number[] = [];
  private readonly pinnedRoot: boolean[] = [];
  /** Space (creation call) of each atom. */
  readonly spaceOf: number[] = [];
  /** Layer name of each space, in creation order. */
  readonly spaceLayer: string[] = [];
  private readonly spaceParent: number[] = [];

  /** Number of atoms. */
  get size(): number {
    return this.parent.length;
  }

  /** Creates `n` fresh atoms in a new space owned by `layer`; returns them in channel order. */
  fresh(n: number, layer: string, pinned = false): Int32Array {
    const space = this.spaceLayer.length;
    this.spaceLayer.push(layer);
    this.spaceParent.push(space);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const a = this.parent.length;
      this.parent.push(a);
      this.pinnedRoot.push(pinned);
      this.spaceOf.push(space);
      out[i] = a;
    }
    return out;
  }

  /** Representative of `a`'s class. */
  find(a: number): number {
    let r = a;
    while (this.parent[r] !== r) r = this.parent[r]!;
    while (this.parent[a] !== r) {
      const next = this.parent[a]!;
      this.parent[a] = r;
      a = next;
    }
    return r;
  }

  /** Representative of a space's class. */
  findSpace(s: number): number {
    let r = s;
    while (this.spaceParent[r] !== r) r = this.spaceParent[r]!;
    while (this.spaceParent[s] !== r) {
      const next = this.spaceParent[s]!;
      this.spaceParent[s] = r;
      s = next;
    }
    return r;
  }

  /** Merges the classes of `a` and `b` (and their spaces). */
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    const sa = this.findSpace(this.spaceOf[ra]!);
    const sb = this.findSpace(this.spaceOf[rb]!);
    if (sa !== sb) this.spaceParent[Math.max(sa, sb)] = Math.min(sa, sb);
    if (ra === rb) return;
    const [keep, drop] = ra < rb ? [ra, rb] : [rb, ra];
    this.parent[drop] = keep;
    this.pinnedRoot[keep] = this.pinnedRoot[keep]! || this.pinnedRoot[drop]!;
  }

  /** Pins `a`'s class. */
  pin(a: number): void {
    this.pinnedRoot[this.find(a)] = true;
  }

  /** Whether `a`'s class is pinned. */
  isPinned(a: number): boolean {
    return this.pinnedRoot[this.find(a)]!;
  }
}
