// `tray memory` (Ray's `ray memory`): the objects the cluster's processes reference, from the
// state API's /api/v0/objects, grouped by node and then by owner process (objects in a store that
// no live process references last, with the spilled ones marked) — each group's
// total size and counts by reference type, then its objects (size, reference type, status); with
// call sites recorded (TRAY_RECORD_REF_CREATION_SITES=1) an owner's objects are grouped by them.
import { type FlagSpec, parseFlags } from '../flags.js';
import { findDashboard, getState } from '../state/dashboard-client.js';
import { table } from '../state/format.js';

const flagsOf: Record<string, FlagSpec> = {
  address: { kind: 'string' },
  'token-file': { kind: 'string' },
  limit: { kind: 'count', min: 1 },
};

type Row = Record<string, unknown>;

const mib = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(2)} MiB`;

function groupBy(rows: Row[], key: (r: Row) => string): Map<string, Row[]> {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = key(r);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return groups;
}

/** One group's line: total size and how many objects of each reference type. */
function summaryLine(rows: Row[]): string {
  const size = rows.reduce((s, r) => s + (typeof r.object_size === 'number' ? r.object_size : 0), 0);
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(String(r.reference_type), (counts.get(String(r.reference_type)) ?? 0) + 1);
  const parts = [...counts].map(([type, n]) => `${type} ${n}`);
  return `${rows.length} objects, ${mib(size)} (${parts.join(', ')})`;
}

export async function memory(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags('memory', argv, flagsOf);
  const dashboard = findDashboard(
    'memory',
    flags.address as string | undefined,
    flags.tokenFile as string | undefined,
  );
  const query = new URLSearchParams({ detail: 'true', limit: String(flags.limit ?? 10_000) });
  const reply = (await getState(dashboard, `/api/v0/objects?${query}`)) as {
    data: { result: { result: Row[]; warnings: string[] | null; partial_failure_warning: string } };
  };
  const { result: rows, warnings, partial_failure_warning: partial } = reply.data.result;
  const width = (out as NodeJS.WriteStream).columns || 120;
  out.write(`======== Object references status: ${new Date().toISOString()} ========\n`);
  out.write(`Grouped by node, then by owner process; ${summaryLine(rows)}\n`);
  for (const [node, onNode] of groupBy(rows, (r) => `${r.ip} (node ${r.node_id})`)) {
    out.write(`\n--- Node ${node}: ${summaryLine(onNode)} ---\n`);
    const ownerOf = (r: Row) =>
      r.type === 'STORE'
        ? "In the node's store only (no live process references it)"
        : `${r.type} pid ${r.pid}`;
    for (const [owner, ofOwner] of groupBy(onNode, ownerOf)) {
      out.write(`\n${owner}: ${summaryLine(ofOwner)}\n`);
      // Call sites (TRAY_RECORD_REF_CREATION_SITES=1) head the owner's objects made at each.
      const sites = groupBy(ofOwner, (r) => String(r.call_site ?? ''));
      const recorded = [...sites.keys()].some((site) => site !== 'disabled');
      for (const [site, atSite] of recorded ? sites : new Map([['', ofOwner]])) {
        if (recorded) out.write(`  ${site || '(made elsewhere)'}: ${summaryLine(atSite)}\n`);
        writeObjects(atSite, width, out);
      }
    }
  }
  if (rows.length === 0) out.write('No objects are referenced.\n');
  else if (rows.every((r) => r.call_site === 'disabled'))
    out.write('Call sites are not recorded (TRAY_RECORD_REF_CREATION_SITES=1 records them).\n');
  for (const w of warnings ?? []) out.write(`Note: ${w}\n`);
  if (partial) out.write(`Note: ${partial}\n`);
  return 0;
}

function writeObjects(rows: Row[], width: number, out: NodeJS.WritableStream): void {
  const shown = rows.map((r) => ({
    object_ref: r.object_id,
    size: typeof r.object_size === 'number' ? r.object_size : '?',
    reference_type: r.reference_type,
    status: r.task_status,
    // A pending task's return has no value anywhere yet.
    where:
      r.store_state === 'SPILLED'
        ? 'spilled to disk'
        : r.in_plasma
          ? 'object store'
          : r.task_status === 'PENDING'
            ? '-'
            : 'in process',
  }));
  out.write(table(shown, width));
}
