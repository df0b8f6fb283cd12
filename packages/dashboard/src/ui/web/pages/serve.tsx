// Serve (GET /api/serve/applications/, refreshed every 2 s): each application's status and route,
// its deployments (status, running replicas of the target, replicas by state) and their replicas
// (state, node, pid) when serve's record lists them, then the HTTP proxies. Without serve
// running it says so.
import { formatTime, shortId } from '../components/format.js';
import { Loaded, StatePill } from '../components/status.js';
import { Table } from '../components/table.js';
import { usePoll } from '../hooks.js';
import { loadServe, type ServeApplication, type ServeDeployment, type ServeReplica } from '../serve.js';

const replicaCount = (d: ServeDeployment) =>
  `${d.replica_states.RUNNING ?? 0} / ${d.target_num_replicas ?? '?'}`;

const byState = (d: ServeDeployment) =>
  Object.entries(d.replica_states)
    .map(([state, n]) => `${state} ${n}`)
    .join(' · ');

function Application({ app }: { app: ServeApplication }) {
  const replicas = app.deployments.flatMap((d) => d.replicas.map((r) => ({ deployment: d.name, ...r })));
  return (
    <article class="serve-app" data-testid={`serve-app-${app.name}`}>
      <h3>
        {app.name} <StatePill state={app.status} /> <code>{app.route_prefix ?? '(no route)'}</code>
      </h3>
      {app.message && <p class="note">{app.message}</p>}
      {app.last_deployed_time_s !== null && (
        <p class="note">Deployed {formatTime(app.last_deployed_time_s * 1000)}</p>
      )}
      <Table<ServeDeployment>
        testId="serve-deployments"
        rows={app.deployments}
        rowKey={(d) => d.name}
        empty="No deployments."
        columns={[
          { label: 'Deployment', render: (d) => d.name },
          { label: 'Status', render: (d) => <StatePill state={d.status} /> },
          { label: 'Replicas running / target', render: replicaCount, numeric: true },
          { label: 'By state', render: byState },
          { label: 'Message', render: (d) => d.message },
        ]}
      />
      <Table<ServeReplica & { deployment: string }>
        testId="serve-replicas"
        rows={replicas}
        rowKey={(r, i) => r.replica_id ?? String(i)}
        empty="Serve's status record lists no replicas one by one (their counts by state are above)."
        columns={[
          { label: 'Replica', render: (r) => <code>{r.replica_id}</code> },
          { label: 'Deployment', render: (r) => r.deployment },
          { label: 'State', render: (r) => <StatePill state={r.state} /> },
          { label: 'Node', render: (r) => <code title={r.node_id ?? ''}>{shortId(r.node_id)}</code> },
          { label: 'Pid', render: (r) => r.pid, numeric: true },
          { label: 'Actor', render: (r) => <code title={r.actor_id ?? ''}>{shortId(r.actor_id)}</code> },
        ]}
      />
    </article>
  );
}

export function Serve() {
  const serve = usePoll(loadServe, 2000);
  return (
    <section>
      <h2>Serve</h2>
      <Loaded data={serve.data} error={serve.error}>
        {(view) =>
          !view.running ? (
            <p class="note empty" data-testid="serve-not-running">
              Serve is not running on this cluster (no applications, proxies or controller).
            </p>
          ) : (
            <>
              {(view.httpPort !== null || view.proxyLocation !== null || view.controllerNode !== null) && (
                <p class="note" data-testid="serve-http">
                  {view.httpPort !== null && `HTTP on ${view.httpHost ?? ''}:${view.httpPort}. `}
                  {view.proxyLocation !== null && `Proxies: ${view.proxyLocation}. `}
                  {view.controllerNode !== null && `Controller on node ${shortId(view.controllerNode)}.`}
                </p>
              )}
              {view.applications.length === 0 && <p class="note empty">No applications.</p>}
              {view.applications.map((app) => (
                <Application key={app.name} app={app} />
              ))}
              <h3>Proxies</h3>
              <Table<{ node_id: string; status: string }>
                testId="serve-proxies"
                rows={view.proxies}
                rowKey={(p) => p.node_id}
                empty="No proxies."
                columns={[
                  { label: 'Node', render: (p) => <code title={p.node_id}>{shortId(p.node_id)}</code> },
                  { label: 'Status', render: (p) => <StatePill state={p.status} /> },
                ]}
              />
            </>
          )
        }
      </Loaded>
    </section>
  );
}
