// How numbers, times, ids and resource maps read on every page.

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** A Unix time in ms (Ray's *_time_ms and the Jobs API's start_time/end_time) as local time. */
export function formatTime(ms: number | null | undefined): string {
  if (!ms) return '';
  return new Date(ms).toLocaleString();
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** The first 12 characters of a long hex id; the whole id stays in the title attribute. */
export function shortId(id: string | null | undefined): string {
  if (!id) return '';
  return id.length > 14 ? `${id.slice(0, 12)}…` : id;
}

const BYTE_RESOURCES = new Set(['memory', 'object_store_memory']);

/** { CPU: 4, memory: 2147483648 } → 'CPU 4 · memory 2.0 GiB' (node:... placement resources left out). */
export function formatResources(resources: Record<string, number> | null | undefined): string {
  if (!resources) return '';
  return Object.entries(resources)
    .filter(([name]) => !name.startsWith('node:') && !name.includes('_group_'))
    .map(([name, n]) => `${name} ${BYTE_RESOURCES.has(name) ? formatBytes(n) : n}`)
    .join(' · ');
}

/** Sums resource maps key by key. */
export function addResources(maps: Array<Record<string, number> | undefined>): Record<string, number> {
  const total: Record<string, number> = {};
  for (const map of maps) {
    for (const [name, n] of Object.entries(map ?? {})) total[name] = (total[name] ?? 0) + n;
  }
  return total;
}
