// Formats the benchmark results: one table row per key beside Ray's number (key | tray | ± |
// Ray | tray/Ray), the machine header, the memcpy ceiling for puts, and the JSON line
// `{ key: ops_per_second, ..., machine }` that `--json` prints last.
import { type MachineInfo, machineLine } from './machine.js';
import { RAY_MACHINE, RAY_REFERENCE } from './ray-reference.js';

export type Outcome =
  | { key: string; unit: 'ops/s' | 'GB/s'; mean: number; stdev: number }
  | { key: string; skipped: string };

function fmt(value: number, unit: 'ops/s' | 'GB/s'): string {
  if (unit === 'GB/s') return `${value.toFixed(2)} GB/s`;
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(2);
}

export function formatHeader(machine: MachineInfo): string {
  return `${machineLine(machine)}\nRay's numbers: ${RAY_MACHINE}\n`;
}

export function formatRow(outcome: Outcome): string[] {
  const ray = RAY_REFERENCE[outcome.key];
  if ('skipped' in outcome)
    return [outcome.key, outcome.skipped, '', ray === undefined ? '' : String(ray), ''];
  return [
    outcome.key,
    fmt(outcome.mean, outcome.unit),
    fmt(outcome.stdev, outcome.unit),
    ray === undefined ? '' : fmt(ray, outcome.unit),
    ray === undefined ? '' : (outcome.mean / ray).toFixed(3),
  ];
}

export function formatTable(outcomes: Outcome[]): string {
  const rows = [['key', 'tray ops/s', '±', 'Ray ops/s (64 vCPU)', 'tray/Ray'], ...outcomes.map(formatRow)];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.slice(1).map(line), ''].join(
    '\n',
  );
}

export function formatMemcpy(putGbPerS: number | undefined, memcpyGbPerS: number): string {
  const ratio = putGbPerS === undefined ? '' : `; put/memcpy = ${(putGbPerS / memcpyGbPerS).toFixed(3)}`;
  return `memcpy of the same 800 MB in this process: ${memcpyGbPerS.toFixed(2)} GB/s${ratio}\n`;
}

export function jsonLine(outcomes: Outcome[], machine: MachineInfo, memcpyGbPerS?: number): string {
  const out: Record<string, unknown> = {};
  const skipped: Record<string, string> = {};
  for (const o of outcomes) {
    if ('skipped' in o) skipped[o.key] = o.skipped;
    else out[o.key] = o.mean;
  }
  if (memcpyGbPerS !== undefined) out.memcpy_gigabytes = memcpyGbPerS;
  if (Object.keys(skipped).length > 0) out.skipped = skipped;
  out.machine = machine;
  return `${JSON.stringify(out)}\n`;
}
