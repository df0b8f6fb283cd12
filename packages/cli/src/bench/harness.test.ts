import { describe, expect, it } from 'vitest';
import { meanAndStdev, measure } from './harness.js';
import { formatMemcpy, formatTable, jsonLine } from './report.js';

/** A stand-in workload on a clock it drives itself: each step takes exactly `stepMs`. */
function standIn(stepMs: number) {
  let time = 0;
  let calls = 0;
  return {
    clock: () => time,
    step: async () => {
      calls++;
      time += stepMs;
    },
    calls: () => calls,
  };
}

describe('measure (Ray harness)', () => {
  it('warms up, then times each round until roundMs passed: throughput = multiplier × steps / seconds', async () => {
    const work = standIn(10);
    const result = await measure('stand_in', work.step, 1000, {
      rounds: 3,
      roundMs: 100,
      warmupMs: 50,
      clock: work.clock,
    });
    // 5 warm-up steps, then 10 steps of 10 ms per 100 ms round.
    expect(work.calls()).toBe(5 + 3 * 10);
    expect(result.rounds).toEqual([100_000, 100_000, 100_000]);
    expect(result.mean).toBe(100_000);
    expect(result.stdev).toBe(0);
    expect(result.key).toBe('stand_in');
  });

  it('runs at least one step per round even when a step outlasts the round', async () => {
    const work = standIn(500);
    const result = await measure('slow', work.step, 2, {
      rounds: 2,
      roundMs: 100,
      warmupMs: 0,
      clock: work.clock,
    });
    expect(work.calls()).toBe(2);
    expect(result.rounds).toEqual([4, 4]);
  });

  it('measures a real asynchronous workload on the real clock', async () => {
    let calls = 0;
    const result = await measure('real', async () => void calls++, 1, {
      rounds: 2,
      roundMs: 20,
      warmupMs: 5,
    });
    expect(result.rounds).toHaveLength(2);
    expect(result.mean).toBeGreaterThan(0);
    expect(calls).toBeGreaterThan(2);
  });

  it('rejects a multiplier or round count that cannot give a throughput', async () => {
    await expect(measure('x', () => 0, 0)).rejects.toThrow(/multiplier/);
    await expect(measure('x', () => 0, 1, { rounds: 0, roundMs: 1, warmupMs: 0 })).rejects.toThrow(/rounds/);
  });
});

describe('meanAndStdev', () => {
  it('is the mean and the population standard deviation, as Ray reports', () => {
    expect(meanAndStdev([2, 4, 4, 4, 5, 5, 7, 9])).toEqual({ mean: 5, stdev: 2 });
  });
});

describe('report', () => {
  const machine = { cpuModel: 'Test CPU', cpus: 2, memoryGiB: 8, node: 'v20.0.0', platform: 'linux-x64' };

  it('prints each key beside Ray’s number with the tray/Ray ratio, and skipped keys with their reason', () => {
    const table = formatTable([
      { key: 'single_client_tasks_sync', unit: 'ops/s', mean: 490.5, stdev: 10 },
      { key: '1_1_actor_calls_sync', skipped: 'skipped (actors not available yet)' },
    ]);
    const [header, , tasks, actors] = table.split('\n');
    expect(header).toMatch(/key.*tray ops\/s.*±.*Ray ops\/s.*tray\/Ray/);
    expect(tasks).toMatch(/single_client_tasks_sync.*491.*10\.00.*981.*0\.500/);
    expect(actors).toMatch(/1_1_actor_calls_sync.*skipped \(actors not available yet\).*2012/);
  });

  it('JSON line maps keys to ops/s, lists skipped keys apart, and carries the machine', () => {
    const line = jsonLine(
      [
        { key: 'single_client_put_gigabytes', unit: 'GB/s', mean: 3.5, stdev: 0.1 },
        { key: 'n_n_actor_calls_async', skipped: 'skipped (actors not available yet)' },
      ],
      machine,
      7,
    );
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual({
      single_client_put_gigabytes: 3.5,
      memcpy_gigabytes: 7,
      skipped: { n_n_actor_calls_async: 'skipped (actors not available yet)' },
      machine,
    });
  });

  it('states the put/memcpy ratio', () => {
    expect(formatMemcpy(3.5, 7)).toMatch(/7\.00 GB\/s; put\/memcpy = 0\.500/);
  });
});
