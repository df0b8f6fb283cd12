import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadRemote } from './load.js';
import type { ShippedByValue } from './shipped-code.js';

const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const driver = fileURLToPath(new URL('./fixtures/tsx-driver.ts', import.meta.url));

describe('code shipped from a TypeScript driver run by tsx', () => {
  it('loads and runs in another process, including tsx-injected __name calls', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [tsxCli, driver], { timeout: 30_000 });
    const [sumOfSquares, accumulator, withOffset] = JSON.parse(stdout) as ShippedByValue[];

    // The compiler really injected its helper, so this test exercises it.
    expect(sumOfSquares.source).toContain('__name(');
    expect(accumulator.source).toMatch(/static\s*\{\s*__name\(this,\s*"Accumulator"\)/);

    const env = { tray: {}, workingDir: process.cwd(), captures: {} };
    const sum = await loadRemote(sumOfSquares, env);
    expect(
      sum([
        { x: 1, y: 2 },
        { x: 3, y: 4 },
      ]),
    ).toBe(30);

    const Accumulator = (await loadRemote(accumulator, env)) as any;
    expect(accumulator.kind).toBe('class');
    expect(Accumulator.name).toBe('Accumulator');
    const acc = new Accumulator(10);
    expect([acc.add(5), acc.add(-3)]).toEqual([15, 15]);
    expect(Accumulator.created).toBe(1);

    expect(withOffset.captures).toEqual({ offset: 100 });
    const run = await loadRemote(withOffset, { ...env, captures: withOffset.captures });
    expect(await run(1)).toBe(join('101', 'done'));
  });
});
