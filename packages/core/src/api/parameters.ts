// How many arguments a function can take, for the arity check of `.remote()`: its declared
// parameters (defaults included, unlike fn.length), unbounded with a rest parameter. Found by
// parsing its source once at definition time; code that cannot be parsed is not checked.
import { acorn } from '../shipping/acorn.js';

export function maxArguments(target: Function): number {
  let source: string;
  try {
    source = Function.prototype.toString.call(target);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
  try {
    if (/^class\b/.test(source)) {
      const node = acorn().parseExpressionAt(`(${source})`, 0, { ecmaVersion: 'latest' }) as any;
      const ctor = node.body?.body?.find((m: any) => m.kind === 'constructor');
      return ctor ? countParams(ctor.value.params) : Number.POSITIVE_INFINITY;
    }
    // Methods (`f(x) {}`) are not expressions on their own: make them one.
    const text = /^(async\s+)?(function\b|\(|[\w$]+\s*=>|async\s*\()/.test(source)
      ? source
      : `function ${source}`;
    const node = acorn().parseExpressionAt(`(${text})`, 0, { ecmaVersion: 'latest' }) as any;
    return node.params ? countParams(node.params) : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function countParams(params: { type: string }[]): number {
  if (params.some((p) => p.type === 'RestElement')) return Number.POSITIVE_INFINITY;
  return params.length;
}
