// `/api/v0/tasks/timeline` and `tray timeline`: the tasks that ran as a Chrome trace (the JSON
// array form of the Trace Event Format, which Perfetto and chrome://tracing open): one complete
// event ('X') per task attempt from RUNNING to its end, a process per node and a thread per
// worker pid, with metadata events naming them.
import type { Row } from './resources.js';

export interface TraceEvent {
  name: string;
  cat: string;
  ph: 'X' | 'M';
  pid: string;
  tid: number;
  ts?: number;
  dur?: number;
  args: Record<string, unknown>;
}

export function chromeTrace(tasks: Row[], now = Date.now()): TraceEvent[] {
  const out: TraceEvent[] = [];
  const named = new Set<string>();
  for (const t of tasks) {
    const start = Number(t.start_time_ms);
    if (!start) continue; // never ran
    const end = Number(t.end_time_ms) || now;
    const pid = `Node ${String(t.node_id ?? 'unknown').slice(0, 8)}`;
    const tid = Number(t.worker_pid ?? 0);
    if (!named.has(pid)) {
      named.add(pid);
      out.push({ name: 'process_name', cat: '__metadata', ph: 'M', pid, tid: 0, args: { name: pid } });
    }
    const thread = `${pid}/${tid}`;
    if (!named.has(thread)) {
      named.add(thread);
      out.push({
        name: 'thread_name',
        cat: '__metadata',
        ph: 'M',
        pid,
        tid,
        args: { name: `worker ${tid}` },
      });
    }
    out.push({
      name: String(t.func_or_class_name || t.name || 'task'),
      cat: String(t.type ?? 'NORMAL_TASK'),
      ph: 'X',
      pid,
      tid,
      ts: start * 1000,
      dur: Math.max(0, end - start) * 1000,
      args: {
        task_id: t.task_id,
        attempt_number: t.attempt_number,
        state: t.state,
        job_id: t.job_id,
        actor_id: t.actor_id,
        worker_id: t.worker_id,
        error_type: t.error_type,
      },
    });
  }
  return out;
}
