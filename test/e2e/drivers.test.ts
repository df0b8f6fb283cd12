// Drivers the way users write them: TypeScript run by tsx, and CommonJS with require().
import path from 'node:path';
import { resultOf, runScript } from '@tray/test-support';
import { describe, expect, it } from 'vitest';

const fixture = (name: string) => path.resolve(import.meta.dirname, '..', 'fixtures', name);

describe('drivers', () => {
  it('runs a TypeScript driver under tsx, with inner functions, classes and nested tasks', async () => {
    const run = await runScript(fixture('tsx-driver.ts'));
    expect(resultOf(run)).toEqual({ norm2: 25, scaled: [2, 4, 6], sum: 30, local: 25 });
    expect(run.code).toBe(0);
  });

  it('runs a CommonJS driver that uses require("@tray/core")', async () => {
    const run = await runScript(fixture('cjs-driver.cjs'));
    expect(resultOf(run)).toEqual({ values: [0, 1, 4, 9], put: { hello: 'world' }, isRef: true });
    expect(run.code).toBe(0);
  });
});
