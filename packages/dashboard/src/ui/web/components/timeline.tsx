// The task timeline: one row per worker, one bar per task attempt from its start to its end (to
// now while it runs), coloured by its state; hovering a bar names the task. Tasks that never
// started have no bar. Drawn as SVG: a few thousand rectangles stay fast and need no library.

import type { TaskRow } from '../state.js';
import { formatDuration, shortId } from './format.js';

const ROW_HEIGHT = 18;
const LABEL_WIDTH = 150;
const WIDTH = 1000;
const COLOURS: Record<string, string> = { FINISHED: '#16a34a', FAILED: '#dc2626', RUNNING: '#2563eb' };

export interface TimelineBar {
  row: string;
  start: number;
  end: number;
  task: TaskRow;
}

/** The bars and the rows (workers) of `tasks`, at time `now` for tasks still running. */
export function timelineBars(tasks: TaskRow[], now: number): { rows: string[]; bars: TimelineBar[] } {
  const bars: TimelineBar[] = [];
  for (const task of tasks) {
    if (!task.start_time_ms) continue;
    const row = task.worker_id
      ? `worker ${shortId(task.worker_id)}`
      : `node ${shortId(task.node_id)} pid ${task.worker_pid ?? '?'}`;
    bars.push({
      row,
      start: task.start_time_ms,
      end: Math.max(task.end_time_ms ?? now, task.start_time_ms),
      task,
    });
  }
  const rows = [...new Set(bars.map((b) => b.row))].sort();
  return { rows, bars };
}

export function Timeline({ tasks }: { tasks: TaskRow[] }) {
  const { rows, bars } = timelineBars(tasks, Date.now());
  if (bars.length === 0) return <p class="note empty">No task has started yet.</p>;
  const t0 = Math.min(...bars.map((b) => b.start));
  const t1 = Math.max(...bars.map((b) => b.end), t0 + 1);
  const scale = (WIDTH - LABEL_WIDTH) / (t1 - t0);
  const rowIndex = new Map(rows.map((r, i) => [r, i]));
  const height = rows.length * ROW_HEIGHT + 24;
  return (
    <div class="timeline" data-testid="timeline">
      <p class="note">
        {bars.length} task runs on {rows.length} workers over {formatDuration(t1 - t0)}
      </p>
      <svg viewBox={`0 0 ${WIDTH} ${height}`} width="100%" role="img" aria-label="task timeline">
        {rows.map((r, i) => (
          <text key={r} x={0} y={i * ROW_HEIGHT + 13} class="timeline-label">
            {r}
          </text>
        ))}
        {bars.map((b) => (
          <rect
            key={`${b.task.task_id}:${b.task.attempt_number ?? 0}`}
            x={LABEL_WIDTH + (b.start - t0) * scale}
            y={(rowIndex.get(b.row) ?? 0) * ROW_HEIGHT + 2}
            width={Math.max(1, (b.end - b.start) * scale)}
            height={ROW_HEIGHT - 4}
            fill={COLOURS[b.task.state ?? ''] ?? '#6b7280'}
          >
            <title>
              {b.task.name ?? b.task.func_or_class_name} {b.task.state} {formatDuration(b.end - b.start)}
            </title>
          </rect>
        ))}
        <text x={LABEL_WIDTH} y={height - 4} class="timeline-label">
          0
        </text>
        <text x={WIDTH} y={height - 4} class="timeline-label" text-anchor="end">
          {formatDuration(t1 - t0)}
        </text>
      </svg>
    </div>
  );
}
