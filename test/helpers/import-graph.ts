/**
 * The folder-level import graph of `src/`, read with the TypeScript compiler's
 * own pre-processor, and the layering rules of `docs/architecture.md`'s module
 * map. Used by `test/architecture-imports.test.ts`.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** One import of one source file. */
export interface ImportEdge {
  /** Importing file, relative to the source root (`prune/run.ts`). */
  readonly file: string;
  /** Imported file, relative to the source root (`train/index.ts`). */
  readonly target: string;
}

/** Top folder of a path relative to the source root (`prune/run.ts` -> `prune`; `errors.ts` -> `errors.ts`). */
export function topFolder(rel: string): string {
  const i = rel.indexOf('/');
  return i < 0 ? rel : rel.slice(0, i);
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/**
 * Every relative import (static, dynamic and `export ... from`) of every `.ts`
 * file under `root`, with `.js` specifiers mapped back to their `.ts` sources.
 */
export function importEdges(root: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of tsFiles(root)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const imp of info.importedFiles) {
      if (!imp.fileName.startsWith('.')) continue;
      const abs = resolve(dirname(file), imp.fileName).replace(/\.js$/, '.ts');
      // files outside src/ (package.json) are not modules of the map
      if (relative(root, abs).startsWith('..')) continue;
      edges.push({ file: relative(root, file).split(sep).join('/'), target: relative(root, abs).split(sep).join('/') });
    }
  }
  return edges;
}

/** Allowed folder imports: folder -> folders it may import (`*` = any). */
export type LayerRules = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * Reads the "may import" column of the module-map table in a Markdown file
 * (rows like ``| `prune/` | ... | graph, train, util |``; `–` = none, `*` = any).
 */
export function parseLayerRules(markdown: string): LayerRules {
  const rules = new Map<string, Set<string>>();
  for (const line of markdown.split('\n')) {
    const m = /^\|\s*`([a-z-]+)\/`\s*\|.*\|\s*([^|]*?)\s*\|\s*$/.exec(line);
    if (!m) continue;
    const deps = m[2].trim();
    rules.set(m[1], new Set(deps === '–' || deps === '-' ? [] : deps.split(',').map((d) => d.trim().replace(/\/$/, ''))));
  }
  return rules;
}

/** Imports that break the rules, one line each (`prune/run.ts imports cli/main.ts: prune may import ...`). */
export function layerViolations(edges: readonly ImportEdge[], rules: LayerRules): string[] {
  const bad: string[] = [];
  for (const { file, target } of edges) {
    const from = topFolder(file);
    const to = topFolder(target);
    if (from === to || to === 'errors.ts') continue;
    if (from === 'index.ts') {
      if (!/^[a-z-]+\/index\.ts$/.test(target))
        bad.push(`index.ts imports ${target}: the library entry may only re-export folders' index.ts`);
      continue;
    }
    const allowed = rules.get(from);
    if (allowed === undefined) {
      bad.push(`${file}: folder ${from}/ has no row in the module map; add one with what it may import`);
      continue;
    }
    if (allowed.has('*')) continue;
    if (!allowed.has(to)) {
      bad.push(`${file} imports ${target}: ${from}/ may import only ${[...allowed].join(', ') || 'nothing'} (docs/architecture.md)`);
    }
  }
  return bad;
}

/** A cycle among the rules' folders (`['a', 'b', 'a']`), or undefined when they form a DAG. */
export function ruleCycle(rules: LayerRules): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const d of rules.get(n) ?? []) {
      if (d === '*') continue;
      const c = visit(d);
      if (c) return c;
    }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of rules.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}
