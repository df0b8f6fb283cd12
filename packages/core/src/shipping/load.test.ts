import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRemote } from './describe.js';
import { loadRemote } from './load.js';
import { hashByValue, type ShippedByValue } from './shipped-code.js';

/** Sets a name the way esbuild's helper does (tsx output calls it). */
const esbuildName = (f: Function, value: string) =>
  Object.defineProperty(f, 'name', { value, configurable: true });

/**
 * A function built from exactly this text (vitest rewrites `import()` in test files themselves),
 * as strict or sloppy code.
 */
const fromSource = (text: string, mode: 'strict' | 'sloppy' = 'strict'): Function =>
  new Function('__name', `${mode === 'strict' ? "'use strict';" : ''} return (${text})`)(esbuildName);

let workingDir: string;
const fakeTray = { kind: 'the worker tray api' };

function write(relative: string, content: string): void {
  const file = join(workingDir, relative);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, content);
}

beforeAll(() => {
  workingDir = mkdtempSync(join(tmpdir(), 'tray-shipping-'));
  write('node_modules/fake-cjs/package.json', JSON.stringify({ name: 'fake-cjs', main: 'main.js' }));
  write('node_modules/fake-cjs/main.js', 'exports.greet = (n) => "hello " + n;');
  write(
    'node_modules/fake-esm-only/package.json',
    JSON.stringify({ name: 'fake-esm-only', type: 'module', exports: { '.': { import: './index.js' } } }),
  );
  write('node_modules/fake-esm-only/index.js', 'export const shout = (s) => s.toUpperCase() + "!";');
  write('local/helper.mjs', 'export default function double(x) { return 2 * x; }');
  write(
    'tasks.mjs',
    'export function square(x) { return x * x; }\nexport class Box { constructor(v) { this.v = v; } }\nexport const notFn = 1;',
  );
});

afterAll(() => {
  rmSync(workingDir, { recursive: true, force: true });
});

const env = (captures: Record<string, unknown> = {}) => ({ tray: fakeTray, workingDir, captures });

describe('loadRemote by value', () => {
  it('evaluates the shipped function with its captures', async () => {
    const factor = 3;
    const scale = (x: number) => x * factor;
    const code = describeRemote(scale, { captures: { factor } });
    const loaded = await loadRemote(code, env({ factor: 3 }));
    expect(loaded(5)).toBe(15);
  });

  it('binds `tray` to the worker API given in env', async () => {
    const code = describeRemote(fromSource('() => tray'));
    expect((await loadRemote(code, env()))()).toBe(fakeTray);
  });

  it('`require` resolves packages from the working directory', async () => {
    const code = describeRemote(fromSource(`(name) => require('fake-cjs').greet(name)`));
    expect((await loadRemote(code, env()))('tray')).toBe('hello tray');
  });

  it('`import()` resolves bare, ESM-only, relative and builtin specifiers from the working directory', async () => {
    const code = describeRemote(
      fromSource(`async (x) => {
        const { greet } = await import('fake-cjs');
        const { shout } = await import('fake-esm-only');
        const { default: double } = await import('./local/helper.mjs');
        const { join } = await import('node:path');
        return [greet(x), shout(x), double(2), join('a', 'b')];
      }`),
    );
    expect(await (await loadRemote(code, env()))('w')).toEqual(['hello w', 'W!', 4, join('a', 'b')]);
  });

  it('a missing package fails with the working directory and the npm command in the message', async () => {
    const code = describeRemote(fromSource(`() => import('no-such-package-here')`));
    const loaded = await loadRemote(code, env());
    await expect(loaded()).rejects.toThrow(
      /Cannot find module 'no-such-package-here' from the job's working directory .*npm install no-such-package-here/,
    );
  });

  it('defines __name as esbuild does, so tsx output runs', async () => {
    const code = describeRemote(
      fromSource(
        'function outer(y){const helper=__name(function helper(z){return z+1},"helper");return helper(y)}',
      ),
    );
    expect((await loadRemote(code, env()))(1)).toBe(2);
    const cls = describeRemote(fromSource('class C{static{__name(this,"C")}get v(){return 7}}'));
    const C = (await loadRemote(cls, env())) as new () => { v: number };
    expect(new C().v).toBe(7);
    expect(C.name).toBe('C');
  });

  it('captures other functions, and a capture can be another remote-looking function', async () => {
    const inc = (x: number) => x + 1;
    const twiceInc = (x: number) => inc(inc(x));
    const code = describeRemote(twiceInc, { captures: { inc } });
    expect((await loadRemote(code, env({ inc })))(1)).toBe(3);
  });

  it('strict code runs strict, sloppy code runs sloppy', async () => {
    const strict = describeRemote(fromSource('function f() { return this }', 'strict'));
    expect((await loadRemote(strict, env()))()).toBe(undefined);
    const sloppy = describeRemote(fromSource('function f() { return this }', 'sloppy'));
    expect((await loadRemote(sloppy, env()))()).toBe(globalThis);
  });
});

describe('loadRemote cache', () => {
  it('returns the same function for the same code and captures object, a new one for new captures', async () => {
    const code = describeRemote(fromSource('(x) => x + k'), { captures: { k: 1 } });
    const captures = { k: 1 };
    const first = await loadRemote(code, env(captures));
    expect(await loadRemote(code, env(captures))).toBe(first);
    const other = await loadRemote(code, env({ k: 10 }));
    expect(other).not.toBe(first);
    expect([first(1), other(1)]).toEqual([2, 11]);
  });

  it('functions without captures are compiled and instantiated once', async () => {
    const code = describeRemote(fromSource('() => 1'));
    expect(await loadRemote(code, env())).toBe(await loadRemote(code, env({})));
  });

  it('captures that do not match the shipped names are refused', async () => {
    const code = describeRemote(fromSource('() => a'), { captures: { a: 1 } });
    await loadRemote(code, env({ a: 1 }));
    await expect(loadRemote(code, env({ b: 1 }))).rejects.toThrow(/shipped with captures a but received b/);
  });
});

describe('loadRemote: bad input', () => {
  const shipped = (source: string): ShippedByValue => ({
    by: 'value',
    kind: 'function',
    name: 'broken',
    arity: 0,
    source,
    strict: true,
    hash: hashByValue('function', source, true, []),
    captures: {},
  });

  it('a syntax error names the function', async () => {
    await expect(loadRemote(shipped('(function ( {'), env())).rejects.toThrow(
      /Remote function `broken` does not compile/,
    );
  });

  it('source that does not match its hash is refused', async () => {
    const code = { ...shipped('(() => 1)'), source: '(() => 2)' };
    await expect(loadRemote(code, env())).rejects.toThrow(/hash does not match/);
  });

  it('malformed shipped code is a TypeError that says which field', async () => {
    await expect(loadRemote({ ...shipped('(() => 1)'), kind: 'lambda' } as any, env())).rejects.toThrow(
      /malformed shipped code: kind must be/,
    );
    await expect(loadRemote(null as any, env())).rejects.toThrow(/expected an object/);
    await expect(loadRemote(shipped('(() => 1)'), { ...env(), workingDir: '' })).rejects.toThrow(
      /workingDir/,
    );
  });
});

describe('loadRemote by reference', () => {
  it('imports the module from a file URL and takes the export (functions and classes)', async () => {
    const url = pathToFileURL(join(workingDir, 'tasks.mjs')).href;
    const square = await loadRemote(
      describeRemote(() => 0, { module: url, exportName: 'square' }),
      env(),
    );
    expect(square(4)).toBe(16);
    const Box = (await loadRemote(
      describeRemote(class {}, { module: url, exportName: 'Box' }),
      env(),
    )) as any;
    expect(new Box(3).v).toBe(3);
  });

  it('resolves package names from the working directory', async () => {
    const greet = await loadRemote(
      describeRemote(() => 0, { module: 'fake-cjs', exportName: 'greet' }),
      env(),
    );
    expect(greet('x')).toBe('hello x');
  });

  it('a missing export or a non-function export is a clear error', async () => {
    const url = pathToFileURL(join(workingDir, 'tasks.mjs')).href;
    await expect(
      loadRemote(
        describeRemote(() => 0, { module: url, exportName: 'nope' }),
        env(),
      ),
    ).rejects.toThrow(/has no export named `nope` \(its exports: Box, notFn, square\)/);
    await expect(
      loadRemote(
        describeRemote(() => 0, { module: url, exportName: 'notFn' }),
        env(),
      ),
    ).rejects.toThrow(/export `notFn` .* is number, not a function or class/);
  });

  it('a module that cannot be imported names it', async () => {
    const code = describeRemote(() => 0, { module: join(workingDir, 'missing.mjs'), exportName: 'f' });
    await expect(loadRemote(code, env())).rejects.toThrow(/could not import file:.*missing\.mjs/);
  });
});
