// The paramSpace in experiment_state.json, so Tuner.restore needs only the path and the trainable:
// each search-space Domain (and gridSearch) is stored by its kind and fields and made again on
// restore. A sampleFrom function cannot be stored: such a space must be passed to restore again.
import {
  CategoricalDomain,
  FloatDomain,
  FunctionDomain,
  GridSearch,
  IntegerDomain,
} from '../search/space.js';

const TAG = '$tune';

type Encoded = unknown;

function num(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

function unnum(v: unknown): number {
  return typeof v === 'string' ? Number(v) : (v as number);
}

/** The space as JSON; `hasFunctions` when a sampleFrom (or other function) could not be stored. */
export function encodeSpace(space: Record<string, unknown>): { json: Encoded; hasFunctions: boolean } {
  let hasFunctions = false;
  const walk = (value: unknown): Encoded => {
    if (value instanceof FloatDomain || value instanceof IntegerDomain) {
      return {
        [TAG]: value instanceof FloatDomain ? 'float' : 'int',
        lower: num(value.lower),
        upper: num(value.upper),
        sampler: value.sampler,
        ...(value.q === undefined ? {} : { q: value.q }),
      };
    }
    if (value instanceof CategoricalDomain)
      return { [TAG]: 'choice', categories: value.categories.map(walk) };
    if (value instanceof GridSearch) return { [TAG]: 'grid', values: value.values.map(walk) };
    if (value instanceof FunctionDomain || typeof value === 'function') {
      hasFunctions = true;
      return { [TAG]: 'function' };
    }
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    }
    return value;
  };
  return { json: walk(space), hasFunctions };
}

export function decodeSpace(json: Encoded): Record<string, unknown> {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== 'object') return value;
    const o = value as Record<string, unknown>;
    switch (o[TAG]) {
      case undefined:
        return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, walk(v)]));
      case 'float':
        return new FloatDomain(unnum(o.lower), unnum(o.upper), o.sampler as never, o.q as number | undefined);
      case 'int':
        return new IntegerDomain(
          unnum(o.lower),
          unnum(o.upper),
          o.sampler as never,
          o.q as number | undefined,
        );
      case 'choice':
        return new CategoricalDomain((o.categories as unknown[]).map(walk));
      case 'grid':
        return new GridSearch((o.values as unknown[]).map(walk));
      default:
        throw new Error('the paramSpace has a sampleFrom function, which the experiment state cannot hold');
    }
  };
  return walk(json) as Record<string, unknown>;
}
