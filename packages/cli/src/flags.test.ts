import { describe, expect, it } from 'vitest';
import { parseFlags } from './flags.js';
import { UsageError } from './usage-error.js';

const spec = {
  head: { kind: 'boolean' },
  port: { kind: 'port' },
  'num-cpus': { kind: 'number' },
  rounds: { kind: 'count', min: 1 },
  resources: { kind: 'json-resources' },
  filter: { kind: 'string' },
} as const;

function usageMessage(argv: string[]): string {
  try {
    parseFlags('test', argv, spec);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

describe('parseFlags', () => {
  it('reads --name value and --name=value, camelCasing names', () => {
    expect(
      parseFlags(
        'test',
        ['--head', '--port=0', '--num-cpus', '1.5', '--resources', '{"disk": 2}', '--filter', 'x'],
        spec,
      ),
    ).toEqual({ head: true, port: 0, numCpus: 1.5, resources: { disk: 2 }, filter: 'x' });
  });

  it('names the flag and what was expected when a value is wrong', () => {
    expect(usageMessage(['--bogus'])).toBe('unknown flag --bogus');
    expect(usageMessage(['--port'])).toBe('--port needs a value');
    expect(usageMessage(['--port', '70000'])).toMatch(/--port must be a port number 0\.\.65535/);
    expect(usageMessage(['--rounds', '0'])).toMatch(/--rounds must be a whole number ≥ 1, got '0'/);
    expect(usageMessage(['--num-cpus', 'many'])).toMatch(/--num-cpus must be a number ≥ 0/);
    expect(usageMessage(['--resources', '{bad'])).toMatch(/not JSON/);
    expect(usageMessage(['--resources', '{"CPU": 2}'])).toMatch(/must not set "CPU"/);
    expect(usageMessage(['--resources', '{"disk": -1}'])).toMatch(/"disk" is -1/);
    expect(usageMessage(['--head=yes'])).toBe('--head takes no value');
    expect(usageMessage(['stray'])).toMatch(/unexpected argument 'stray'/);
    expect(usageMessage(['--head', '--head'])).toBe('--head was given twice');
  });
});
