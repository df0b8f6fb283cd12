// Logs: a node's log files by category (Ray's /api/v0/logs?node_id=) and the last lines of the
// one chosen (/api/v0/logs/file), read again every few seconds while it is shown.
import { useState } from 'preact/hooks';
import { getText } from '../api.js';
import { shortId } from '../components/format.js';
import { Loaded } from '../components/status.js';
import { usePoll } from '../hooks.js';
import { listLogs, listState, logFileUrl, type NodeRow } from '../state.js';

function LogFile({ nodeId, filename }: { nodeId: string; filename: string }) {
  const text = usePoll(() => getText(logFileUrl(nodeId, filename)), 3000, [nodeId, filename]);
  return (
    <>
      <h3>
        {filename} <a href={logFileUrl(nodeId, filename, -1)}>(whole file)</a>
      </h3>
      <Loaded data={text.data} error={text.error}>
        {(t) => (
          <pre class="log" data-testid="log-file">
            {t}
          </pre>
        )}
      </Loaded>
    </>
  );
}

function NodeLogs({ nodeId }: { nodeId: string }) {
  const [file, setFile] = useState<string>();
  const files = usePoll(() => listLogs(nodeId), 5000, [nodeId]);
  return (
    <div class="logs">
      <Loaded data={files.data} error={files.error}>
        {(byCategory) => (
          <ul class="log-files" data-testid="log-files">
            {Object.entries(byCategory).map(([category, names]) => (
              <li key={category}>
                <strong>{category}</strong>
                <ul>
                  {names.map((name) => (
                    <li key={name}>
                      <button type="button" class="link" onClick={() => setFile(name)}>
                        {name}
                      </button>
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        )}
      </Loaded>
      {file && <LogFile nodeId={nodeId} filename={file} />}
    </div>
  );
}

export function Logs() {
  const nodes = usePoll(() => listState<NodeRow>('nodes'), 10_000);
  const [chosen, setChosen] = useState<string>();
  return (
    <section>
      <h2>Logs</h2>
      <Loaded data={nodes.data} error={nodes.error}>
        {({ rows }) => {
          const nodeId = chosen ?? rows.find((n) => n.is_head_node)?.node_id ?? rows[0]?.node_id;
          return (
            <>
              <label class="inline">
                Node{' '}
                <select value={nodeId} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
                  {rows.map((n) => (
                    <option key={n.node_id} value={n.node_id}>
                      {n.node_ip} {shortId(n.node_id)} {n.is_head_node ? '(head)' : ''}
                    </option>
                  ))}
                </select>
              </label>
              {nodeId ? <NodeLogs nodeId={nodeId} /> : <p class="note empty">No nodes.</p>}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
