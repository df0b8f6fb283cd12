import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeRemote } from './describe.js';
import type { ShippedByValue } from './shipped-code.js';

const byValue = (target: Function, options = {}) => describeRemote(target, options) as ShippedByValue;

/** A function built from exactly this text (test files are transformed, so their own functions are not). */
const fromSource = (text: string): Function => new Function(`return (${text})`)();

/** Evaluates shipped source with stand-ins for the bindings loadRemote provides. */
function evaluate(code: ShippedByValue): any {
  const names = Object.keys(code.captures);
  const __name = (f: Function, value: string) =>
    Object.defineProperty(f, 'name', { value, configurable: true });
  return new Function('tray', 'require', '__name', '__trayImport', ...names, `return ${code.source}`)(
    {},
    undefined,
    __name,
    undefined,
    ...names.map((n) => code.captures[n]),
  );
}

describe('describeRemote: kinds of functions', () => {
  it('plain, arrow, async and generator functions ship as expressions that evaluate to them', async () => {
    expect(
      evaluate(
        byValue(function add(a: number, b: number) {
          return a + b;
        }),
      )(2, 3),
    ).toBe(5);
    expect(evaluate(byValue((x: number) => x * 2))(4)).toBe(8);
    expect(await evaluate(byValue(async (x: number) => x + 1))(1)).toBe(2);
    const gen = evaluate(
      byValue(function* count(n: number) {
        for (let i = 0; i < n; i++) yield i;
      }),
    );
    expect([...gen(3)]).toEqual([0, 1, 2]);
    const asyncGen = evaluate(
      byValue(async function* (n: number) {
        yield n;
        yield n + 1;
      }),
    );
    const seen: number[] = [];
    for await (const v of asyncGen(5)) seen.push(v);
    expect(seen).toEqual([5, 6]);
  });

  it('method shorthand (plain, async, generator, async generator, getter) becomes a function', async () => {
    const o = {
      twice(x: number) {
        return 2 * x;
      },
      async later(x: number) {
        return x;
      },
      *gen() {
        yield 1;
      },
      async *agen() {
        yield 2;
      },
      get answer() {
        return 42;
      },
      'quoted name'() {
        return 'q';
      },
      [Symbol.iterator]() {
        return 'sym';
      },
    };
    expect(evaluate(byValue(o.twice))(21)).toBe(42);
    expect(await evaluate(byValue(o.later))(7)).toBe(7);
    expect([...evaluate(byValue(o.gen))()]).toEqual([1]);
    expect((await evaluate(byValue(o.agen))().next()).value).toBe(2);
    expect(evaluate(byValue(Object.getOwnPropertyDescriptor(o, 'answer')!.get!))()).toBe(42);
    expect(evaluate(byValue(o['quoted name']))()).toBe('q');
    expect(evaluate(byValue(o[Symbol.iterator]))()).toBe('sym');
    expect(byValue(o.twice).kind).toBe('function');
  });

  it('a static class method ships as a function', () => {
    // biome-ignore lint/complexity/noStaticOnlyClass: a static method is what this test ships
    class Tools {
      static triple(x: number) {
        return 3 * x;
      }
    }
    expect(evaluate(byValue(Tools.triple))(3)).toBe(9);
  });

  it('default, destructured and rest parameters; arity is fn.length', () => {
    const fn = ({ a }: { a: number }, [b]: number[], c = 10, ...rest: number[]) => a + b + c + rest.length;
    const code = byValue(fn);
    expect(evaluate(code)({ a: 1 }, [2], undefined, 0, 0)).toBe(15);
    expect(code.arity).toBe(2);
    expect(code.name).toBe('fn');
  });

  it('a class ships as a class; arity is its constructor length', () => {
    class Counter {
      count: number;
      constructor(start: number, _step: number) {
        this.count = start;
      }
      inc() {
        return ++this.count;
      }
    }
    const code = byValue(Counter);
    expect(code.kind).toBe('class');
    expect(code.arity).toBe(2);
    const Shipped = evaluate(code);
    expect(new Shipped(5, 1).inc()).toBe(6);
    expect(Shipped.name).toBe('Counter');
  });

  it('a method named `class` is still a function', () => {
    const o = {
      class() {
        return 'c';
      },
    };
    const code = byValue(o.class);
    expect(code.kind).toBe('function');
    expect(evaluate(code)()).toBe('c');
  });
});

describe('describeRemote: code that cannot be shipped', () => {
  it('bound functions say to pass the original', () => {
    function f(this: unknown) {
      return this;
    }
    expect(() => describeRemote(f.bind(null))).toThrow(/bound function .* Pass the original function/);
  });

  it('native functions say to wrap them', () => {
    expect(() => describeRemote(Math.max)).toThrow(
      /built-in or native function .* tray\.remote\(\(\.\.\.args\) => max/,
    );
  });

  it('methods using super say to ship the class', () => {
    class A {
      m() {
        return 1;
      }
    }
    class B extends A {
      override m() {
        return super.m() + 1;
      }
    }
    expect(() => describeRemote(B.prototype.m)).toThrow(/uses `super`.*Ship the whole class/);
  });

  it('non-functions and bad options are TypeErrors that say what was expected', () => {
    expect(() => describeRemote(42 as any)).toThrow(/expects a function or a class, got number/);
    expect(() => describeRemote(() => 1, 'x' as any)).toThrow(/options must be an object/);
    expect(() => describeRemote(() => 1, { captures: [1] as any })).toThrow(/captures must be an object/);
    expect(() => describeRemote(() => 1, { captures: { 'not-a-name': 1 } })).toThrow(
      /"not-a-name" is not a valid/,
    );
    expect(() => describeRemote(() => 1, { captures: { tray: 1 } })).toThrow(/`tray` is provided by tray/);
  });
});

describe('describeRemote: free identifiers', () => {
  it('names the identifier, its position, and the fix', () => {
    const fetchAll = fromSource("function fetchAll() {\n  return db.query('x');\n}");
    expect(() => describeRemote(fetchAll)).toThrow(TypeError);
    expect(() => describeRemote(fetchAll)).toThrow(
      'tray.remote(fetchAll): `db` (at 2:10) is defined outside the function, and remote code runs in another ' +
        'process where it does not exist. Pass it in captures — tray.remote(fetchAll, { captures: { db } }) — or ' +
        'create it inside the function (require()/import() work there).',
    );
  });

  it('reports every offending identifier at once, with every position', () => {
    const a = 1;
    const b = 2;
    const sum = () => a + b + a;
    let message = '';
    try {
      describeRemote(sum);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/`a` \(at 1:7, 1:15\) and `b` \(at 1:11\) are defined outside/);
    expect(message).toContain('{ captures: { a, b } }');
  });

  it('captures make the names legal and travel as given', () => {
    const db = { url: 'x' };
    const other = () => 1;
    const code = byValue(() => db.url + other(), { captures: { db, other } });
    expect(code.captures.db).toBe(db);
    expect(code.captures.other).toBe(other);
    expect(evaluate(code)()).toBe('x1');
  });

  it('standard globals, Node globals, tray, require, __name and import() are allowed', () => {
    // Built from text: vitest's own transform would rewrite import() in this file.
    const code = byValue(
      fromSource(`async () => {
        const fs = require('node:fs');
        const path = await import('node:path');
        setTimeout(() => {}, 0);
        return [Math.max(1), JSON.stringify({}), Buffer.from('a'), process.pid, new URL('file:///x'), fs, path,
          structuredClone(1), new TextEncoder(), performance.now(), crypto.randomUUID(), globalThis, fetch,
          new AbortController(), queueMicrotask, WebAssembly, atob, tray, __name, Intl, Proxy, console];
      }`),
    );
    expect(code.source).toContain('__trayImport(');
    expect(code.source).not.toMatch(/\bimport\(/);
  });

  it('__filename and __dirname are always reported, with a specific hint', () => {
    expect(() => describeRemote(() => __dirname)).toThrow(
      /`__dirname` \(at 1:7\).*does not exist remotely; pass the path/,
    );
  });

  it('compiler helpers other than __name are pointed out', () => {
    expect(() => describeRemote(new Function('return __publicField') as () => unknown)).toThrow(
      /`__publicField`.*looks like a helper injected by your compiler/,
    );
  });

  it('names a custom display name', () => {
    expect(() => describeRemote(() => missing, { name: 'job' })).toThrow(/^tray\.remote\(job\): `missing`/);
  });
});

describe('describeRemote: identity and strictness', () => {
  it('the hash depends on source and capture names, not capture values', () => {
    const make = () => (x: number) => x + k;
    const k = 1;
    const a = byValue(make(), { captures: { k } });
    const b = byValue(make(), { captures: { k: 2 } });
    const c = byValue(make(), { captures: { k, extra: 1 } });
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.hash).toBe(b.hash);
    expect(a.hash).not.toBe(c.hash);
    expect(byValue((x: number) => x - 1).hash).not.toBe(a.hash);
  });

  it('strict code stays strict; sloppy plain functions stay sloppy', () => {
    expect(byValue(() => 1).strict).toBe(true);
    const sloppy = new Function('return this') as () => unknown;
    const code = byValue(sloppy);
    expect(code.strict).toBe(false);
  });
});

describe('describeRemote: by reference', () => {
  it('ships the module and export name instead of source, without the free-identifier check', () => {
    const fn = () => notDefinedAnywhere;
    const code = describeRemote(fn, { module: 'file:///app/tasks.js', exportName: 'fn' });
    expect(code).toMatchObject({
      by: 'reference',
      moduleUrl: 'file:///app/tasks.js',
      exportName: 'fn',
      kind: 'function',
    });
    expect(code.hash).toMatch(/^[0-9a-f]{64}$/);
    expect('source' in code).toBe(false);
  });

  it('absolute paths become file URLs; package names stay', () => {
    expect(describeRemote(() => 1, { module: '/app/t.js', exportName: 'f' })).toMatchObject({
      moduleUrl: pathToFileURL('/app/t.js').href,
    });
    expect(describeRemote(() => 1, { module: 'my-pkg/tasks', exportName: 'f' })).toMatchObject({
      moduleUrl: 'my-pkg/tasks',
    });
  });

  it('module and exportName must both be non-empty strings', () => {
    expect(() => describeRemote(() => 1, { module: 'x.js' })).toThrow(
      /`exportName` must be the non-empty name/,
    );
    expect(() => describeRemote(() => 1, { exportName: 'f' })).toThrow(/`module` must be a non-empty string/);
    expect(() => describeRemote(() => 1, { module: ' ', exportName: 'f' })).toThrow(/`module` must be/);
    expect(() => describeRemote(() => 1, { module: 'x.js', exportName: 'f', captures: { a: 1 } })).toThrow(
      /captures are not used when shipping by reference/,
    );
  });
});

declare const missing: unknown;
declare const notDefinedAnywhere: unknown;
