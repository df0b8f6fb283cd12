// The overview: the cluster's nodes, its resources (total, and available where the server says),
// and its object store (capacity from the nodes' object_store_memory, use from the objects summary).
import { addResources, formatBytes, formatResources, formatTime, shortId } from '../components/format.js';
import { ErrorNote, Loaded, StatePill } from '../components/status.js';
import { Table } from '../components/table.js';
import { usePoll } from '../hooks.js';
import { listState, type NodeRow, summarize, summaryObjectTotals } from '../state.js';

function ObjectStoreUse({ capacity }: { capacity: number }) {
  const objects = usePoll(() => summarize('objects'), 5000);
  if (objects.error) return <ErrorNote error={objects.error} />;
  if (!objects.data) return <p class="note">Loading…</p>;
  const totals = summaryObjectTotals(objects.data);
  if (!totals) return <p class="note not-available">The objects summary has no cluster totals.</p>;
  const { count, bytes: used } = totals;
  return (
    <p data-testid="object-store">
      {count} objects, {formatBytes(used)} of {formatBytes(capacity)}
      {capacity > 0 && <meter min={0} max={capacity} value={used} />}
    </p>
  );
}

export function Overview() {
  const nodes = usePoll(() => listState<NodeRow>('nodes'), 3000);
  return (
    <section>
      <h2>Overview</h2>
      <Loaded data={nodes.data} error={nodes.error}>
        {({ rows }) => {
          const alive = rows.filter((n) => n.state !== 'DEAD');
          const total = addResources(alive.map((n) => n.resources_total));
          const hasAvailable = alive.some((n) => n.resources_available);
          const available = addResources(alive.map((n) => n.resources_available));
          return (
            <>
              <div class="cards">
                <div class="card">
                  <h3>Nodes</h3>
                  <p class="big" data-testid="alive-nodes">
                    {alive.length} alive
                  </p>
                  {rows.length > alive.length && <p>{rows.length - alive.length} dead</p>}
                </div>
                <div class="card">
                  <h3>Resources</h3>
                  <p data-testid="cluster-resources">total: {formatResources(total)}</p>
                  {hasAvailable && <p>available: {formatResources(available)}</p>}
                </div>
                <div class="card">
                  <h3>Object store</h3>
                  <ObjectStoreUse capacity={total.object_store_memory ?? 0} />
                </div>
              </div>
              <h3>Nodes</h3>
              <Table
                testId="nodes"
                rows={rows}
                rowKey={(n, i) => n.node_id ?? String(i)}
                empty="No nodes."
                columns={[
                  { label: 'Node', render: (n) => <code title={n.node_id}>{shortId(n.node_id)}</code> },
                  { label: 'Address', render: (n) => n.node_ip },
                  { label: 'Head', render: (n) => (n.is_head_node ? 'head' : '') },
                  { label: 'State', render: (n) => <StatePill state={n.state} /> },
                  { label: 'Resources', render: (n) => formatResources(n.resources_total) },
                  {
                    label: 'Object store',
                    render: (n) => formatBytes(n.resources_total?.object_store_memory),
                    numeric: true,
                  },
                  { label: 'Started', render: (n) => formatTime(n.start_time_ms) },
                ]}
              />
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
