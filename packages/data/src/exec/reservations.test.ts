// The reservation decisions, computed by hand: CPUs and a 16 MiB store budget over operators.
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
  it('reserves half the limits in equal shares (half the memory for outputs) and shares the rest', () => {
    // 3 operators on 4 CPUs: a share is 4 * 0.5 / 3 = 0.67 CPUs, below one task: 1 CPU each.
    // Memory 8/3 MiB each, half of it (4/3) for outputs only. Shared: 1 CPU and 8 MiB, a third
    // each: budgets 1 + 1/3 CPUs and 4/3 + 8/3 = 4 MiB; outputs may be read up to 4 + 4/3 MiB.
    const all = allocate({ cpus: 4, memory: 16 * MiB }, [idle(), idle(), idle()]);
    for (const a of all) {
      expect(a.reservedMin).toBe(true);
      expect(a.reservedCpus).toBe(1);
      expect(a.reservedOutputs).toBeCloseTo((4 * MiB) / 3, -1);
      expect(a.reservedMemory).toBeCloseTo((4 * MiB) / 3, -1);
      expect(a.budgetCpus).toBeCloseTo(4 / 3);
      expect(a.budgetMemory).toBeCloseTo(4 * MiB, -1);
      expect(a.maxOutputBytesToRead).toBeCloseTo((16 * MiB) / 3, -1);
      expect(a.canLaunch).toBe(true);
    }
  });

  it('stops a fast upstream operator once it used its reservation and its part of the rest', () => {
    // read runs one task (1 CPU) and holds 4 MiB of outputs plus 1 MiB pending: 11/3 MiB over
    // its reservation, taken from the shared 8 MiB (4.33 left, 1.44 each). CPUs: its reserved
    // one is used, its shared third is not a task: it cannot launch. The others keep theirs.
    const read = { ...idle(), runningCpus: 1, pendingBytes: MiB, outputBytes: 4 * MiB };
    const [r, slow, fast] = allocate({ cpus: 4, memory: 16 * MiB }, [read, idle(), idle()]);
    expect(r!.budgetCpus).toBeCloseTo(1 / 3);
    expect(r!.budgetMemory).toBeCloseTo((8 * MiB - (11 * MiB) / 3) / 3, -1);
    expect(r!.canLaunch).toBe(false);
    // It may still take its running task's outputs up to its memory budget (its outputs'
    // reservation is used up).
    expect(r!.maxOutputBytesToRead).toBeCloseTo(r!.budgetMemory, -1);
    expect(slow!.canLaunch).toBe(true);
    expect(fast!.canLaunch).toBe(true);
    expect(slow!.budgetCpus).toBeGreaterThanOrEqual(1);
  });

  it('an operator whose minimum does not fit reserves nothing; its upstream always drains', () => {
    // 3 one-CPU operators on 2 CPUs: the first two reserve a CPU each, the third nothing.
    const full = { ...idle(), runningCpus: 1, outputBytes: 16 * MiB };
    const [first, second, third] = allocate({ cpus: 2, memory: 16 * MiB }, [idle(), full, idle()]);
    expect(first!.reservedMin).toBe(true);
    expect(second!.reservedMin).toBe(true);
    expect(third!.reservedMin).toBe(false);
    expect(third!.reservedCpus).toBe(0);
    // The second's outputs fill the whole budget: nothing is left to read but the one byte
    // that lets its task finish (the third could not reserve its minimum).
    expect(second!.budgetMemory).toBe(0);
    expect(second!.maxOutputBytesToRead).toBe(1);
    expect(second!.canLaunch).toBe(false);
    // The first's outputs' reservation is untouched (its next operator reserved its minimum).
    expect(first!.maxOutputBytesToRead).toBeGreaterThanOrEqual(first!.reservedOutputs);
    // Idle, the third may run one task (liveness); running one, no more.
    expect(third!.canLaunch).toBe(true);
    const busy = allocate({ cpus: 2, memory: 16 * MiB }, [idle(), idle(), { ...idle(), runningCpus: 1 }]);
    expect(busy[2]!.canLaunch).toBe(false);
  });

  it("other operators' store use comes out of the shared rest", () => {
    // One task operator on 2 CPUs: reserved 1 CPU, 8 MiB (4 for outputs), shared 1 CPU, 8 MiB.
    // An actor pool's 12 MiB of outputs leave nothing shared: the task operator has its own
    // 4 MiB for tasks, and once its outputs hold them it cannot launch.
    const pool: OperatorUsage = { ...idle(0, 0), outputBytes: 12 * MiB, eligible: false };
    const [a] = allocate({ cpus: 2, memory: 16 * MiB }, [idle(), pool]);
    expect(a!.budgetCpus).toBe(2);
    expect(a!.budgetMemory).toBe(4 * MiB);
    expect(a!.canLaunch).toBe(true);
    const [b] = allocate({ cpus: 2, memory: 16 * MiB }, [{ ...idle(), outputBytes: 4 * MiB }, pool]);
    expect(b!.budgetMemory).toBe(0);
    expect(b!.canLaunch).toBe(false);
  });

  it('an idle operator may always run one task, even one larger than the limits', () => {
    const [a] = allocate({ cpus: 2, memory: 16 * MiB }, [idle(4)]);
    expect(a!.reservedMin).toBe(false);
    expect(a!.canLaunch).toBe(true);
    expect(allocate({ cpus: 2, memory: 16 * MiB }, [{ ...idle(4), runningCpus: 4 }])[0]!.canLaunch).toBe(
      false,
    );
  });
});
