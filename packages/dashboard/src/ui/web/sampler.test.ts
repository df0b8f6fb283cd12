/// <reference types="node" />
// The charts' sampler against a real HTTP server on loopback: Ray's series out of /metrics while
// the server has it, the state API's summaries once /metrics answers 404, and the ring never
// holding more than its capacity. The page's relative URLs are resolved against the server (the
// browser would resolve them against the page's origin).
import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_CAPACITY, Sampler } from './sampler.js';

let server: Server;
let metrics = true;
const realFetch = globalThis.fetch;

const summary = (groups: Record<string, unknown>) =>
  JSON.stringify({
    result: true,
    data: { result: { node_id_to_summary: { cluster: { summary: groups } } } },
  });

beforeEach(async () => {
  metrics = true;
  server = createServer((req, res) => {
    const path = req.url ?? '';
    if (path === '/metrics' && metrics) {
      res.end(
        [
          'ray_tasks{State="RUNNING",NodeId="n1"} 2',
          'ray_tasks{State="FINISHED",NodeId="n1"} 5',
          'ray_tasks{State="FINISHED",NodeId="n2"} 1',
          'ray_node_cpu_utilization{NodeAddress="127.0.0.1",NodeId="aaaaaaaaffff"} 40',
          'ray_node_cpu_utilization{NodeAddress="127.0.0.1",NodeId="bbbbbbbbffff"} 10',
        ].join('\n'),
      );
    } else if (path === '/api/v0/tasks/summarize') {
      res.end(summary({ f: { state_counts: { FINISHED: 7 } } }));
    } else if (path === '/api/v0/objects/summarize') {
      res.end(summary({ 'a.js:1': { total_objects: 1, total_size_mb: 2 } }));
    } else {
      res.writeHead(404).end('{"error":"no route"}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  globalThis.fetch = ((url: string, init?: RequestInit) =>
    realFetch(new URL(url, base), init)) as typeof fetch;
  (globalThis as { document?: unknown }).document = { hidden: false };
});

afterEach(async () => {
  globalThis.fetch = realFetch;
  delete (globalThis as { document?: unknown }).document;
  await new Promise((resolve) => server.close(resolve));
});

describe('the charts sampler', () => {
  it("reads Ray's series from /metrics: tasks summed by state, one CPU line per node", async () => {
    const sampler = new Sampler();
    await sampler.sampleOnce();
    expect(sampler.source).toBe('metrics');
    const [sample] = sampler.ring.toArray();
    expect(sample.charts.tasks).toEqual({ RUNNING: 2, FINISHED: 6 });
    expect(sample.charts.nodeCpu).toEqual({ '127.0.0.1 aaaaaaaa': 40, '127.0.0.1 bbbbbbbb': 10 });
    expect(sample.charts.actors).toBeUndefined();
  });

  it('falls back to the state summaries when the server has no /metrics, and stays within its ring', async () => {
    metrics = false;
    const sampler = new Sampler();
    await sampler.sampleOnce();
    expect(sampler.source).toBe('state');
    expect(sampler.lastError).toBeUndefined();
    const [sample] = sampler.ring.toArray();
    expect(sample.charts.tasks).toEqual({ FINISHED: 7 });
    expect(sample.charts.objectStore).toEqual({ used: 2 * 2 ** 20 });
    expect(sample.charts.actors).toBeUndefined(); // /api/v0/actors/summarize is a 404 here
    for (let i = 0; i < SAMPLE_CAPACITY + 5; i++) sampler.ring.push({ t: i, charts: {} });
    expect(sampler.ring.size).toBe(SAMPLE_CAPACITY);
  });
});
