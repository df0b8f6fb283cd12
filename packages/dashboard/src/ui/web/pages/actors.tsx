// Actors (GET /api/v0/actors), filterable by state.
import { useState } from 'preact/hooks';
import { formatResources, shortId } from '../components/format.js';
import { StateSelect, stateFilters } from '../components/state-filter.js';
import { Loaded, StatePill } from '../components/status.js';
import { Table, TruncationNote } from '../components/table.js';
import { usePoll } from '../hooks.js';
import { type ActorRow, listState } from '../state.js';

const ACTOR_STATES = ['DEPENDENCIES_UNREADY', 'PENDING_CREATION', 'ALIVE', 'RESTARTING', 'DEAD'];

function deathCause(cause: unknown): string {
  if (!cause) return '';
  if (typeof cause === 'string') return cause;
  const context = Object.values(cause as Record<string, any>)[0];
  return String(context?.error_message ?? JSON.stringify(cause));
}

export function Actors() {
  const [state, setState] = useState('');
  const actors = usePoll(() => listState<ActorRow>('actors', { filters: stateFilters(state) }), 3000, [
    state,
  ]);
  return (
    <section>
      <h2>Actors</h2>
      <StateSelect states={ACTOR_STATES} value={state} onChange={setState} />
      <Loaded data={actors.data} error={actors.error}>
        {({ rows, total }) => (
          <>
            <TruncationNote shown={rows.length} total={total} />
            <Table<ActorRow>
              testId="actors"
              rows={rows}
              rowKey={(a, i) => a.actor_id ?? String(i)}
              empty="No actors."
              columns={[
                { label: 'Actor', render: (a) => <code title={a.actor_id}>{shortId(a.actor_id)}</code> },
                { label: 'Class', render: (a) => a.class_name },
                { label: 'Name', render: (a) => a.name },
                { label: 'State', render: (a) => <StatePill state={a.state} /> },
                { label: 'Namespace', render: (a) => a.ray_namespace },
                { label: 'Node', render: (a) => <code title={a.node_id}>{shortId(a.node_id)}</code> },
                { label: 'PID', render: (a) => a.pid, numeric: true },
                { label: 'Restarts', render: (a) => a.num_restarts, numeric: true },
                { label: 'Resources', render: (a) => formatResources(a.required_resources) },
                { label: 'Death cause', render: (a) => deathCause(a.death_cause) },
              ]}
            />
          </>
        )}
      </Loaded>
    </section>
  );
}
