// Tasks (GET /api/v0/tasks): counts by state, the list filtered by state, and a timeline of when
// each task ran on which worker. The trace file for Perfetto is one click away (Ray's
// /api/v0/tasks/timeline).
import { useState } from 'preact/hooks';
import { formatDuration, shortId } from '../components/format.js';
import { countByState, StateSelect, stateFilters } from '../components/state-filter.js';
import { Loaded, StatePill } from '../components/status.js';
import { Table, TruncationNote } from '../components/table.js';
import { Timeline } from '../components/timeline.js';
import { usePoll } from '../hooks.js';
import { listState, type TaskRow } from '../state.js';

const TASK_STATES = [
  'PENDING_ARGS_AVAIL',
  'PENDING_NODE_ASSIGNMENT',
  'SUBMITTED_TO_WORKER',
  'RUNNING',
  'FINISHED',
  'FAILED',
];

function StateCounts({ counts }: { counts: Record<string, number> }) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return null;
  return (
    <ul class="counts" data-testid="task-state-counts">
      {entries.map(([state, n]) => (
        <li key={state}>
          <StatePill state={state} /> {n}
        </li>
      ))}
    </ul>
  );
}

export function Tasks({ view }: { view?: string }) {
  const [state, setState] = useState('');
  const tasks = usePoll(
    () => listState<TaskRow>('tasks', { filters: stateFilters(state), limit: 2000 }),
    3000,
    [state],
  );
  const timeline = view === 'timeline';
  return (
    <section>
      <h2>Tasks</h2>
      <nav class="tabs">
        <a href="#/tasks" class={timeline ? '' : 'active'}>
          List
        </a>
        <a href="#/tasks/timeline" class={timeline ? 'active' : ''}>
          Timeline
        </a>
        <a href="/api/v0/tasks/timeline?download=1" download="tray-timeline.json">
          Download trace (Perfetto)
        </a>
      </nav>
      <StateSelect states={TASK_STATES} value={state} onChange={setState} />
      <Loaded data={tasks.data} error={tasks.error}>
        {({ rows, total }) => (
          <>
            <StateCounts counts={countByState(rows)} />
            <TruncationNote shown={rows.length} total={total} />
            {timeline ? (
              <Timeline tasks={rows} />
            ) : (
              <Table<TaskRow>
                testId="tasks"
                rows={rows}
                rowKey={(t, i) => `${t.task_id ?? i}:${t.attempt_number ?? 0}`}
                empty="No tasks."
                columns={[
                  { label: 'Task', render: (t) => <code title={t.task_id}>{shortId(t.task_id)}</code> },
                  { label: 'Name', render: (t) => t.name ?? t.func_or_class_name },
                  { label: 'State', render: (t) => <StatePill state={t.state} /> },
                  { label: 'Type', render: (t) => t.type },
                  { label: 'Attempt', render: (t) => t.attempt_number, numeric: true },
                  { label: 'Job', render: (t) => t.job_id },
                  { label: 'Node', render: (t) => <code title={t.node_id}>{shortId(t.node_id)}</code> },
                  { label: 'Worker PID', render: (t) => t.worker_pid, numeric: true },
                  {
                    label: 'Duration',
                    render: (t) =>
                      t.start_time_ms ? formatDuration((t.end_time_ms ?? Date.now()) - t.start_time_ms) : '',
                    numeric: true,
                  },
                  { label: 'Error', render: (t) => t.error_type ?? '' },
                ]}
              />
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}
