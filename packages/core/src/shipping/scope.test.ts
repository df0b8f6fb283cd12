import { parse } from 'acorn';
import { describe, expect, it } from 'vitest';
import { type AstNode, analyseScopes } from './scope.js';

/** The free names of a function expression's source, sorted and deduplicated. */
function free(source: string): string[] {
  const program = parse(`(${source})`, { ecmaVersion: 'latest' }) as unknown as AstNode;
  return [...new Set(analyseScopes(program).free.map((ref) => ref.name))].sort();
}

describe('scope analysis: declarations', () => {
  it('parameters, including defaults, destructuring and rest', () => {
    expect(free('function f(a, b = a, { c, d: [e] }, ...rest) { return a + b + c + e + rest }')).toEqual([]);
    expect(free('(a, { b = x } = {}) => a + b')).toEqual(['x']);
    expect(free('function f({ [key]: v }) { return v }')).toEqual(['key']);
  });

  it('let/const are block scoped; var is function scoped and hoisted', () => {
    expect(free('function f() { { let a = 1 } return a }')).toEqual(['a']);
    expect(free('function f() { { var a = 1 } return a }')).toEqual([]);
    expect(free('function f() { g(a); var a = 1; function g() {} }')).toEqual([]);
    expect(free('function f() { if (x) { const y = 1; } return y }')).toEqual(['x', 'y']);
  });

  it('nested functions and closures see outer declarations, not the other way round', () => {
    expect(free('function f(a) { return () => a + b }')).toEqual(['b']);
    expect(free('function f() { function g() { var inner = 1 } return inner }')).toEqual(['inner']);
    expect(free('function f() { const k = 2; return [1].map((x) => x * k) }')).toEqual([]);
  });

  it('shadowing hides outer names only inside the shadowing scope', () => {
    expect(free('function f() { { let db = 1; use(db) } return db }')).toEqual(['db', 'use']);
    expect(free('(db) => { { const db = 2 } return db }')).toEqual([]);
  });

  it('named function expressions see their own name; declarations are visible to siblings', () => {
    expect(free('function fact(n) { return n ? n * fact(n - 1) : 1 }')).toEqual([]);
    expect(free('() => { const g = function h() { return h }; return h }')).toEqual(['h']);
    expect(free('() => { class A {} return new A() }')).toEqual([]);
  });

  it('`arguments` exists in functions but not at the top of an arrow', () => {
    expect(free('function f() { return arguments.length }')).toEqual([]);
    expect(free('() => arguments.length')).toEqual(['arguments']);
    expect(free('function f() { return () => arguments[0] }')).toEqual([]);
  });

  it('`this`, `super`, `new.target` and `import.meta`-free code report nothing', () => {
    expect(free('function f() { return this.x + new.target }')).toEqual([]);
  });
});

describe('scope analysis: statements', () => {
  it('try/catch: the catch parameter (also destructured) is scoped to the handler', () => {
    expect(free('() => { try { risky() } catch (e) { log(e) } return e }')).toEqual(['e', 'log', 'risky']);
    expect(free('() => { try {} catch ({ message }) { return message } }')).toEqual([]);
    expect(free('() => { try {} catch { } finally { done() } }')).toEqual(['done']);
  });

  it('for / for-in / for-of bindings', () => {
    expect(free('(xs) => { for (const x of xs) use(x); return x }')).toEqual(['use', 'x']);
    expect(free('(o) => { for (let k in o) o[k]++ }')).toEqual([]);
    expect(free('() => { for (let i = 0; i < n; i++) {} }')).toEqual(['n']);
    expect(free('(xs) => { for (const [a, { b }] of xs) a + b }')).toEqual([]);
    expect(free('(xs) => { for (var v of xs); return v }')).toEqual([]);
    expect(free('(xs) => { for (item of xs); }')).toEqual(['item']);
  });

  it('labels are not references', () => {
    expect(free('() => { outer: for (;;) { inner: for (;;) { break outer; continue inner } } }')).toEqual([]);
  });

  it('switch cases share one block scope', () => {
    expect(free('(k) => { switch (k) { case 1: let a = 1; break; default: a = 2 } return a }')).toEqual([
      'a',
    ]);
  });

  it('assignment to an undeclared name is a reference', () => {
    expect(free('() => { counter = 1 }')).toEqual(['counter']);
    expect(free('() => { [a, { b }] = pair() }')).toEqual(['a', 'b', 'pair']);
    expect(free('() => { let a; ({ a = dflt } = {}) }')).toEqual(['dflt']);
  });

  it('`typeof name` on an undeclared name is allowed (the standard existence test)', () => {
    expect(free('() => typeof window === "undefined"')).toEqual([]);
    expect(free('() => typeof window.document')).toEqual(['window']);
  });
});

describe('scope analysis: expressions', () => {
  it('object shorthand `{x}` references x; keys and member names do not', () => {
    expect(free('() => ({ x })')).toEqual(['x']);
    expect(free('() => ({ y: 1, z() { return 2 } })')).toEqual([]);
    expect(free('(a) => a.b.c')).toEqual([]);
    expect(free('(a) => a[b]')).toEqual(['b']);
    expect(free('() => ({ [computed]: 1 })')).toEqual(['computed']);
  });

  it('optional chaining and calls', () => {
    expect(free('(a) => a?.b?.[c]?.(d)')).toEqual(['c', 'd']);
  });

  it('template literals, tagged templates, spread', () => {
    expect(free(['(a) => `$', '{a} and $', '{b}`'].join(''))).toEqual(['b']);
    expect(free(['() => tag`x$', '{y}`'].join(''))).toEqual(['tag', 'y']);
    expect(free('(a) => [...a, ...more]')).toEqual(['more']);
  });

  it('getters and setters in object literals', () => {
    expect(free('() => ({ get v() { return hidden }, set v(x) { store = x } })')).toEqual([
      'hidden',
      'store',
    ]);
  });

  it('dynamic import() is recorded and its argument analysed', () => {
    const program = parse('(async () => { await import(name); return import("x") })', {
      ecmaVersion: 'latest',
    }) as unknown as AstNode;
    const analysis = analyseScopes(program);
    expect(analysis.free.map((ref) => ref.name)).toEqual(['name']);
    expect(analysis.imports).toHaveLength(2);
  });
});

describe('scope analysis: classes', () => {
  it('methods, fields, static blocks and private members', () => {
    const cls = `class C extends Base {
      #count = start;
      static registry = new Map();
      static { C.registry.set('c', C); let local = 1; sideEffect(local); }
      constructor(n) { super(); this.#count = n; }
      get count() { return this.#count; }
      set count(v) { this.#count = v; }
      #bump() { return #count in this; }
      [key]() { return helper(); }
      static async *stream() { yield* source; }
    }`;
    expect(free(cls)).toEqual(['Base', 'Map', 'helper', 'key', 'sideEffect', 'source', 'start']);
  });

  it('the class name is visible inside the class only', () => {
    expect(free('class A { m() { return A } }')).toEqual([]);
    expect(free('() => { const B = class A {}; return A }')).toEqual(['A']);
  });

  it('field initialisers see the class, not the constructor', () => {
    expect(free('class A { x = () => this.y; z = w }')).toEqual(['w']);
    expect(free('class A { constructor() { let p = 1 } q = p }')).toEqual(['p']);
  });

  it('a var in a static block stays in the block', () => {
    expect(free('class A { static { var v = 1 } static w = v }')).toEqual(['v']);
  });
});

describe('scope analysis: positions', () => {
  it('reports each use of a free name with its offset', () => {
    const program = parse('(() => db.query(db))', { ecmaVersion: 'latest' }) as unknown as AstNode;
    expect(analyseScopes(program).free).toEqual([
      { name: 'db', start: 7 },
      { name: 'db', start: 16 },
    ]);
  });
});
