// Turning a paramSpace (nested plain objects and arrays whose leaves are constants, Domains or
// gridSearch) into trial configs: finding the leaves, counting and enumerating the grid in Ray's
// order (grid paths sorted, the first one varying fastest), and resolving one variant: constants
// copied, grid values and searcher-chosen values put in, every other Domain sampled, sampleFrom
// functions last-resolved against the config so far (one that reads a value not yet resolved is
// retried after the others, as Ray's recursive dependency handling).
import type { TrialConfig } from '../types.js';
import type { Random } from './random.js';
import { Domain, FunctionDomain, GridSearch } from './space.js';

export type Path = readonly (string | number)[];

export interface SpaceLeaf {
  readonly path: Path;
  readonly key: string;
  readonly leaf: Domain | GridSearch;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Ray's JSON spelling of a grid, `{ grid_search: [...] }`, read as gridSearch. */
function asGrid(v: unknown): GridSearch | undefined {
  if (v instanceof GridSearch) return v;
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === 'grid_search' && Array.isArray(v.grid_search)) {
      if (v.grid_search.length === 0) throw new RangeError('{ grid_search: [] }: give at least one value');
      return new GridSearch(v.grid_search);
    }
  }
  return undefined;
}

export function pathKey(path: Path): string {
  return JSON.stringify(path);
}

export function formatPath(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(root)';
}

/** Every Domain and grid leaf of space, depth first in key order. */
export function spaceLeaves(space: unknown): SpaceLeaf[] {
  const out: SpaceLeaf[] = [];
  const walk = (v: unknown, path: (string | number)[]): void => {
    const grid = asGrid(v);
    if (grid !== undefined) out.push({ path: [...path], key: pathKey(path), leaf: grid });
    else if (v instanceof Domain) out.push({ path: [...path], key: pathKey(path), leaf: v });
    else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], [...path, i]);
    } else if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(space, []);
  return out;
}

function comparePaths(a: Path, b: Path): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return a.length - b.length;
}

export interface GridVar {
  readonly path: Path;
  readonly key: string;
  readonly values: readonly unknown[];
}

/** The grid's variables in Ray's order: sorted by path. */
export function gridVars(space: unknown): GridVar[] {
  return spaceLeaves(space)
    .filter((l): l is SpaceLeaf & { leaf: GridSearch } => l.leaf instanceof GridSearch)
    .sort((a, b) => comparePaths(a.path, b.path))
    .map((l) => ({ path: l.path, key: l.key, values: l.leaf.values }));
}

export function gridCount(vars: readonly GridVar[]): number {
  return vars.reduce((n, v) => n * v.values.length, 1);
}

/** The grid values of variant `index` (0 ≤ index < gridCount): the first variable varies fastest. */
export function gridVariant(vars: readonly GridVar[], index: number): Map<string, unknown> {
  const out = new Map<string, unknown>();
  let rest = index;
  for (const v of vars) {
    out.set(v.key, v.values[rest % v.values.length]);
    rest = Math.floor(rest / v.values.length);
  }
  return out;
}

/** A deep copy of plain objects and arrays; anything else (class instances, functions, Domains) kept by reference. */
export function copyPlain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyPlain);
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = copyPlain(x);
    return out;
  }
  return v;
}

function parentOf(root: any, path: Path): any {
  let p = root;
  for (let i = 0; i < path.length - 1; i++) p = p[path[i]!];
  return p;
}

class Unresolved extends Error {
  constructor(readonly path: Path) {
    super(`${formatPath(path)} is not resolved yet`);
  }
}

/**
 * One config from space: `fixed` gives values by path key (the grid's, or a searcher's choice);
 * every other Domain is sampled from rng, sampleFrom functions seeing the config as resolved.
 */
export function resolveConfig(
  space: Record<string, unknown>,
  fixed: ReadonlyMap<string, unknown>,
  rng: Random,
): TrialConfig {
  const config = copyPlain(space) as TrialConfig;
  for (const l of spaceLeaves(config)) {
    if (!fixed.has(l.key)) continue;
    parentOf(config, l.path)[l.path[l.path.length - 1]!] = copyPlain(fixed.get(l.key));
  }
  if (isPlainObject(config) && asGrid(config) !== undefined) {
    throw new TypeError(
      'the paramSpace itself is a gridSearch; put it under a key: { x: tune.gridSearch([...]) }',
    );
  }
  const pending = spaceLeaves(config);
  for (const l of pending) {
    if (l.leaf instanceof GridSearch) {
      throw new TypeError(
        `gridSearch at ${formatPath(l.path)} cannot be expanded here: ${
          fixed.has(l.key)
            ? 'a grid inside a grid value is not supported'
            : 'this searcher does not expand grids'
        }`,
      );
    }
    Object.defineProperty(parentOf(config, l.path), l.path[l.path.length - 1]!, {
      configurable: true,
      enumerable: true,
      get: () => {
        throw new Unresolved(l.path);
      },
    });
  }
  const spec = { config, random: () => rng.random() };
  let todo = pending;
  while (todo.length > 0) {
    const next: SpaceLeaf[] = [];
    let waitingOn: Unresolved | undefined;
    for (const l of todo) {
      let value: unknown;
      try {
        value = (l.leaf as Domain).sample(rng, spec);
      } catch (e) {
        if (e instanceof Unresolved && l.leaf instanceof FunctionDomain) {
          next.push(l);
          waitingOn ??= e;
          continue;
        }
        if (l.leaf instanceof FunctionDomain) {
          const msg = e instanceof Error ? e.message : String(e);
          throw new Error(`tune.sampleFrom at ${formatPath(l.path)} threw: ${msg}`, { cause: e });
        }
        throw e;
      }
      Object.defineProperty(parentOf(config, l.path), l.path[l.path.length - 1]!, {
        configurable: true,
        enumerable: true,
        writable: true,
        value,
      });
    }
    if (next.length === todo.length) {
      throw new Error(
        `tune.sampleFrom at ${formatPath(next[0]!.path)} reads ${formatPath(waitingOn!.path)}, which depends on it in turn; ` +
          'break the cycle so one of them is computed without the other',
      );
    }
    todo = next;
  }
  return config;
}
