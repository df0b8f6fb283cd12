// The node's CPU utilization as `ray_node_cpu_utilization` reports it: the share of the time
// all CPUs were busy between two readings of /proc/stat's `cpu` line, in percent (0–100). The
// first reading compares with the machine's whole uptime. Off Linux (no /proc/stat) it says
// undefined, and the series is left out rather than reported as a made-up 0.
import { readFileSync } from 'node:fs';

interface Sample {
  busy: number;
  total: number;
}

/** The aggregate `cpu` line of /proc/stat: busy and total jiffies. */
export function parseProcStat(text: string): Sample | undefined {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) return undefined;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  if (fields.length < 4 || fields.some((n) => !Number.isFinite(n))) return undefined;
  // user nice system idle iowait irq softirq steal [guest guest_nice, already in user/nice]
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = fields[3]! + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

export class NodeCpu {
  private last: Sample | undefined;

  constructor(private readonly read: () => string | undefined = readProcStat) {}

  /** Percent of the CPUs' time busy since the previous call (undefined when unreadable). */
  utilization(): number | undefined {
    const text = this.read();
    const now = text === undefined ? undefined : parseProcStat(text);
    if (now === undefined) return undefined;
    const before = this.last ?? { busy: 0, total: 0 };
    this.last = now;
    const total = now.total - before.total;
    if (total <= 0) return 0;
    return Math.min(100, Math.max(0, (100 * (now.busy - before.busy)) / total));
  }
}

function readProcStat(): string | undefined {
  try {
    return readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
}
