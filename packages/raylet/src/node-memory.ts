// How much memory the node has and uses, as the memory monitor sees it (Ray's): the machine's
// /proc/meminfo (used = MemTotal - MemAvailable), or, when the raylet runs in a cgroup whose
// limit is below the machine's memory (a container), that cgroup's limit and usage (less its
// inactive page cache, which the kernel reclaims before it kills anything). cgroup v2 and v1.
import { readFileSync } from 'node:fs';

export interface NodeMemory {
  usedBytes: number;
  totalBytes: number;
  /** Where the numbers came from, for messages: "/proc/meminfo", "cgroup v2", "cgroup v1". */
  source: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** `key value` lines (memory.stat), or `Key: value kB` lines (meminfo). */
function field(text: string, key: string): number | undefined {
  const match = new RegExp(`^${key}:?\\s+(\\d+)`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

function fromMeminfo(): NodeMemory {
  const text = read('/proc/meminfo');
  const total = text === undefined ? undefined : field(text, 'MemTotal');
  const available = text === undefined ? undefined : field(text, 'MemAvailable');
  if (total === undefined || available === undefined) {
    throw new Error('the memory monitor cannot read MemTotal and MemAvailable from /proc/meminfo');
  }
  return { usedBytes: (total - available) * 1024, totalBytes: total * 1024, source: '/proc/meminfo' };
}

function fromCgroup(root: string): NodeMemory | undefined {
  // v2: one hierarchy, files at its root.
  const max = read(`${root}/memory.max`)?.trim();
  if (max !== undefined && max !== 'max') {
    const current = Number(read(`${root}/memory.current`)?.trim());
    const inactive = field(read(`${root}/memory.stat`) ?? '', 'inactive_file') ?? 0;
    if (Number.isFinite(current) && Number(max) > 0) {
      return { usedBytes: Math.max(0, current - inactive), totalBytes: Number(max), source: 'cgroup v2' };
    }
  }
  // v1: the memory controller's own directory.
  const limit = Number(read(`${root}/memory/memory.limit_in_bytes`)?.trim());
  const usage = Number(read(`${root}/memory/memory.usage_in_bytes`)?.trim());
  if (Number.isFinite(limit) && Number.isFinite(usage) && limit > 0) {
    const inactive = field(read(`${root}/memory/memory.stat`) ?? '', 'total_inactive_file') ?? 0;
    return { usedBytes: Math.max(0, usage - inactive), totalBytes: limit, source: 'cgroup v1' };
  }
  return undefined;
}

/** The node's memory now: the cgroup's when it limits the raylet below the machine's. */
export function readNodeMemory(cgroupRoot = '/sys/fs/cgroup'): NodeMemory {
  const machine = fromMeminfo();
  const cgroup = fromCgroup(cgroupRoot);
  return cgroup !== undefined && cgroup.totalBytes < machine.totalBytes ? cgroup : machine;
}
