// The reservation decisions, computed by hand: 4 CPUs and a 16 MiB budget over operators.
import { describe, expect, it } from 'vitest';
import { allocate, type OperatorUsage } from './reservations.js';

const MiB = 1024 * 1024;
const idle = (taskCpus = 1, blockBytes = MiB): OperatorUsage => ({
  taskCpus,
  blockBytes,
  runningCpus: 0,
  outputBytes: 0,
});

describe('allocate', () => {
  it('reserves half the limits in equal shares and splits the rest equally', () => {
    // 3 operators: reserved max(1, 4*0.5/3 = 0.67) = 1 CPU each (one task), 8/3 MiB each;
    // shared (4 - 3) / 3 CPUs and (16 - 8) / 3 MiB each.
    const [a] = allocate({ cpus: 4, memory: 16 * MiB }, [idle(), idle(), idle()]);
    expect(a!.reservedCpus).toBe(1);
    expect(a!.reservedMemory).toBeCloseTo((8 * MiB) / 3);
    expect(a!.sharedCpus).toBeCloseTo(1 / 3);
    expect(a!.sharedMemory).toBeCloseTo((8 * MiB) / 3);
  });

  it('stops a fast upstream operator at its reservation plus its shared part', () => {
    // read runs 1 task (1 CPU) and holds 4 MiB of output; its limit is 1 + 1/3 CPUs and
    // 8/3 + 8/3 = 5.33 MiB: the memory of another task fits (4 + 1 = 5 MiB), its CPU does not (2).
    const read = { taskCpus: 1, blockBytes: MiB, runningCpus: 1, outputBytes: 4 * MiB };
    const [r, slow, fast] = allocate({ cpus: 4, memory: 16 * MiB }, [read, idle(), idle()]);
    expect(r!.canLaunch).toBe(false);
    // The downstream operators keep their reserved CPU and memory: each may launch.
    expect(slow!.canLaunch).toBe(true);
    expect(fast!.canLaunch).toBe(true);
  });

  it('refuses on memory alone once outputs fill reservation and shared part', () => {
    // 2 operators, 2 CPUs, 16 MiB: reserved CPUs max(0.5, 2*0.5/2) = 0.5 and max(1, 0.5) = 1,
    // shared (2 - 1.5) / 2 = 0.25 each; memory 4 MiB reserved and (16 - 8) / 2 = 4 MiB shared
    // each. 0.5-CPU tasks of 0.5 MiB, none running: 0.5 <= 0.75 CPUs; 7.75 + 0.5 MiB > 8 MiB.
    const op = { taskCpus: 0.5, blockBytes: MiB / 2, runningCpus: 0, outputBytes: 7.75 * MiB };
    const [a, b] = allocate({ cpus: 2, memory: 16 * MiB }, [op, idle()]);
    expect(a!.reservedCpus).toBe(0.5);
    expect(a!.sharedCpus).toBe(0.25);
    expect(a!.reservedMemory).toBe(4 * MiB);
    expect(a!.sharedMemory).toBe(4 * MiB);
    expect(a!.canLaunch).toBe(false);
    // 7.5 + 0.5 = 8 MiB fits exactly.
    const fits = allocate({ cpus: 2, memory: 16 * MiB }, [{ ...op, outputBytes: 7.5 * MiB }, idle()]);
    expect(fits[0]!.canLaunch).toBe(true);
    expect(b!.canLaunch).toBe(true);
  });

  it('an operator with nothing running and no outputs may always run one task', () => {
    // 3 operators on 2 CPUs: reservations (1 CPU each) exceed the limits, nothing is shared,
    // and a 2-CPU task is above any reservation: still launchable when the operator is idle.
    const [a] = allocate({ cpus: 2, memory: 16 * MiB }, [idle(2), idle(), idle()]);
    expect(a!.sharedCpus).toBe(0);
    expect(a!.canLaunch).toBe(true);
    expect(allocate({ cpus: 2, memory: 16 * MiB }, [{ ...idle(2), runningCpus: 2 }])[0]!.canLaunch).toBe(
      false,
    );
  });
});
