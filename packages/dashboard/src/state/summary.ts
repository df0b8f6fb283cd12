// Summaries (Ray's `/api/v0/{tasks,actors}/summarize`, `ray summary tasks|actors`): counts by
// state per function (tasks, by func_or_class_name) or per class (actors), over the whole cluster.
import type { Row } from './resources.js';

function countBy(rows: Row[], key: string, extra: (r: Row) => Row): Record<string, Row> {
  const out: Record<string, Row> = {};
  for (const r of rows) {
    const name = String(r[key] ?? '');
    const entry = (out[name] ??= { [key]: name, ...extra(r), state_counts: {} as Record<string, number> });
    const counts = entry.state_counts as Record<string, number>;
    const state = String(r.state ?? '');
    counts[state] = (counts[state] ?? 0) + 1;
  }
  return out;
}

/** Tasks by function: the latest attempt of each task counts once. */
export function summarizeTasks(rows: Row[]): Row {
  const latest = new Map<string, Row>();
  for (const r of rows) {
    const seen = latest.get(String(r.task_id));
    if (seen === undefined || Number(r.attempt_number) > Number(seen.attempt_number))
      latest.set(String(r.task_id), r);
  }
  const tasks = [...latest.values()];
  return {
    node_id_to_summary: {
      cluster: {
        summary: countBy(tasks, 'func_or_class_name', (r) => ({ type: r.type })),
        total_tasks: tasks.filter((t) => t.type === 'NORMAL_TASK').length,
        total_actor_tasks: tasks.filter((t) => t.type === 'ACTOR_TASK').length,
        total_actor_scheduled: tasks.filter((t) => t.type === 'ACTOR_CREATION_TASK').length,
        summary_by: 'func_name',
      },
    },
  };
}

export function summarizeActors(rows: Row[]): Row {
  return {
    node_id_to_summary: {
      cluster: {
        summary: countBy(rows, 'class_name', () => ({})),
        total_actors: rows.length,
        summary_by: 'class',
      },
    },
  };
}
