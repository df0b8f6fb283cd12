// Placement groups (GET /api/v0/placement_groups) with their bundles and where each one landed.
import { useState } from 'preact/hooks';
import { formatResources, shortId } from '../components/format.js';
import { StateSelect, stateFilters } from '../components/state-filter.js';
import { Loaded, StatePill } from '../components/status.js';
import { Table, TruncationNote } from '../components/table.js';
import { usePoll } from '../hooks.js';
import { listState, type PlacementGroupRow } from '../state.js';

const PG_STATES = ['PENDING', 'CREATED', 'REMOVED', 'RESCHEDULING'];

export function PlacementGroups() {
  const [state, setState] = useState('');
  const groups = usePoll(
    () => listState<PlacementGroupRow>('placement_groups', { filters: stateFilters(state) }),
    3000,
    [state],
  );
  return (
    <section>
      <h2>Placement groups</h2>
      <StateSelect states={PG_STATES} value={state} onChange={setState} />
      <Loaded data={groups.data} error={groups.error}>
        {({ rows, total }) => (
          <>
            <TruncationNote shown={rows.length} total={total} />
            <Table<PlacementGroupRow>
              testId="placement-groups"
              rows={rows}
              rowKey={(g, i) => g.placement_group_id ?? String(i)}
              empty="No placement groups."
              columns={[
                {
                  label: 'Placement group',
                  render: (g) => <code title={g.placement_group_id}>{shortId(g.placement_group_id)}</code>,
                },
                { label: 'Name', render: (g) => g.name },
                { label: 'State', render: (g) => <StatePill state={g.state} /> },
                { label: 'Strategy', render: (g) => g.strategy },
                { label: 'Job', render: (g) => g.creator_job_id },
                {
                  label: 'Bundles',
                  render: (g) => (
                    <ol class="bundles">
                      {(g.bundles ?? []).map((b, i) => (
                        <li key={b.bundle_id ?? i}>
                          {formatResources(b.unit_resources)}
                          {b.node_id ? ` on ${shortId(b.node_id)}` : ' (not placed)'}
                        </li>
                      ))}
                    </ol>
                  ),
                },
              ]}
            />
          </>
        )}
      </Loaded>
    </section>
  );
}
