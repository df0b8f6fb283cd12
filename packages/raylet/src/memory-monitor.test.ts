// The memory monitor's two decisions, without processes: where node memory is read from (the
// machine, or a cgroup that limits it below the machine: v2 and v1 layouts written to a temp
// directory) and which lease is killed (newest retriable first, else newest).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GrantedLease } from './leases/lease-manager.js';
import { chooseVictim, MemoryMonitor } from './memory-monitor.js';
import { readNodeMemory } from './node-memory.js';
import { resolveOptions } from './options.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function cgroupRoot(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'tray-cgroup-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

const MiB = 1024 * 1024;

describe('node memory', () => {
  it('is the machine’s /proc/meminfo without a limiting cgroup', () => {
    const m = readNodeMemory(cgroupRoot({ 'memory.max': 'max\n' }));
    expect(m.source).toBe('/proc/meminfo');
    expect(m.totalBytes).toBe(os.totalmem());
    expect(m.usedBytes).toBeGreaterThan(0);
    expect(m.usedBytes).toBeLessThan(m.totalBytes);
  });

  it('is the cgroup’s (v2) when its limit is below the machine, page cache not counted', () => {
    const root = cgroupRoot({
      'memory.max': `${512 * MiB}\n`,
      'memory.current': `${300 * MiB}\n`,
      'memory.stat': `anon 1000\ninactive_file ${100 * MiB}\nactive_file 5\n`,
    });
    expect(readNodeMemory(root)).toEqual({
      usedBytes: 200 * MiB,
      totalBytes: 512 * MiB,
      source: 'cgroup v2',
    });
  });

  it('is the cgroup’s (v1) when its limit is below the machine', () => {
    const root = cgroupRoot({
      'memory/memory.limit_in_bytes': `${1024 * MiB}\n`,
      'memory/memory.usage_in_bytes': `${700 * MiB}\n`,
      'memory/memory.stat': `cache 1\ntotal_inactive_file ${200 * MiB}\n`,
    });
    expect(readNodeMemory(root)).toEqual({
      usedBytes: 500 * MiB,
      totalBytes: 1024 * MiB,
      source: 'cgroup v1',
    });
  });
});

function lease(name: string, retriable: boolean, grantedAt: number, pid = 100 + grantedAt): GrantedLease {
  return {
    request: { taskName: name, retriable, isActor: false },
    worker: { state: 'leased', pid, child: { exitCode: null, signalCode: null } },
    grantedAt,
  } as unknown as GrantedLease;
}

describe('victim', () => {
  it('is the newest retriable lease, else the newest', () => {
    const old = lease('old-retriable', true, 1);
    const newer = lease('new-retriable', true, 3);
    const newest = lease('newest-not-retriable', false, 4);
    expect(chooseVictim([old, newest, newer])).toBe(newer);
    expect(chooseVictim([newest, lease('older-not-retriable', false, 2)])).toBe(newest);
    expect(chooseVictim([])).toBeUndefined();
  });

  it('is killed only above the threshold, one at a time, with the memory seen in the message', () => {
    let used = 50;
    const killed: string[] = [];
    const a = lease('a', true, 1);
    const monitor = new MemoryMonitor({
      threshold: 0.9,
      refreshMs: 0,
      read: () => ({ usedBytes: used, totalBytes: 100, source: 'test' }),
      leases: () => [a],
      kill: (l, message) => killed.push(`${l.request.taskName}: ${message}`),
    });
    monitor.check();
    expect(killed).toEqual([]);
    used = 95;
    monitor.check();
    monitor.check(); // its worker has not exited yet: no second kill
    expect(killed).toHaveLength(1);
    expect(killed[0]).toMatch(/^a: the memory monitor killed the worker \(pid 101\) running task a/);
    expect(killed[0]).toMatch(/\(0\.950, read from test\), above the memory usage threshold 0\.9/);
    (a.worker.child as { exitCode: number | null }).exitCode = 137;
    monitor.check();
    expect(killed).toHaveLength(2);
    monitor.close();
  });
});

describe('options', () => {
  const base = { token: 't', sessionDir: os.tmpdir(), workerEntry: 'w.js' };
  const saved = { ...process.env };
  afterEach(() => {
    process.env.TRAY_MEMORY_USAGE_THRESHOLD = saved.TRAY_MEMORY_USAGE_THRESHOLD;
    process.env.TRAY_MEMORY_MONITOR_REFRESH_MS = saved.TRAY_MEMORY_MONITOR_REFRESH_MS;
    if (saved.TRAY_MEMORY_USAGE_THRESHOLD === undefined) delete process.env.TRAY_MEMORY_USAGE_THRESHOLD;
    if (saved.TRAY_MEMORY_MONITOR_REFRESH_MS === undefined) delete process.env.TRAY_MEMORY_MONITOR_REFRESH_MS;
  });

  it("default to Ray's 0.95 and 250 ms; the env vars, then the options, override", () => {
    delete process.env.TRAY_MEMORY_USAGE_THRESHOLD;
    delete process.env.TRAY_MEMORY_MONITOR_REFRESH_MS;
    expect(resolveOptions(base)).toMatchObject({ memoryUsageThreshold: 0.95, memoryMonitorRefreshMs: 250 });
    process.env.TRAY_MEMORY_USAGE_THRESHOLD = '0.8';
    process.env.TRAY_MEMORY_MONITOR_REFRESH_MS = '0';
    expect(resolveOptions(base)).toMatchObject({ memoryUsageThreshold: 0.8, memoryMonitorRefreshMs: 0 });
    expect(resolveOptions({ ...base, memoryUsageThreshold: 0.5 }).memoryUsageThreshold).toBe(0.5);
  });

  it('refuse a threshold outside (0, 1] and a refresh that is not a number, naming where it came from', () => {
    expect(() => resolveOptions({ ...base, memoryUsageThreshold: 1.5 })).toThrow(
      /memoryUsageThreshold \(or TRAY_MEMORY_USAGE_THRESHOLD\) must be a fraction in \(0, 1\], got 1.5/,
    );
    process.env.TRAY_MEMORY_MONITOR_REFRESH_MS = 'often';
    expect(() => resolveOptions(base)).toThrow(
      /TRAY_MEMORY_MONITOR_REFRESH_MS must be a number, got "often"/,
    );
  });
});
