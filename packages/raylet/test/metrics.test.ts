// The raylet's Prometheus endpoint, scraped over real HTTP as Prometheus would: it needs the
// token, parses as exposition text, and shows what the node does — leases granted and queued
// as tasks by state, actors, workers, the grant-latency histogram, the object store, node memory.
import path from 'node:path';
import { scrapeMetrics, waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { requestLease, returnLease, startNode, type TestNode, TOKEN } from './harness.js';

const nodes: TestNode[] = [];
afterEach(async () => {
  for (const node of nodes.splice(0)) await node.stop();
});

async function node(options: Parameters<typeof startNode>[0] = {}): Promise<TestNode> {
  const n = await startNode(options);
  nodes.push(n);
  return n;
}

const url = (n: TestNode) => `http://127.0.0.1:${n.raylet.metricsPort}/metrics`;

describe('the raylet /metrics endpoint', () => {
  it('refuses a scrape without the token or with a wrong one, and answers 404 off /metrics', async () => {
    const n = await node();
    expect(n.raylet.metricsPort).toBeGreaterThan(0);
    const bare = await fetch(url(n));
    expect(bare.status).toBe(401);
    expect(await bare.text()).toMatch(/Authorization: Bearer/);
    const wrong = await fetch(url(n), { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const elsewhere = await fetch(url(n).replace('/metrics', '/'), {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(elsewhere.status).toBe(404);
  });

  it('shows granted and queued leases as tasks by state and name, actors, workers and the grant latency', async () => {
    const n = await node({ numCpus: 1 });
    const running = await requestLease(n.driver, { name: 'work.step' });
    // The node's only CPU is taken: this one queues.
    const queued = requestLease(n.driver, { name: 'work.later' });
    const labels = {
      SessionName: path.basename(n.sessionDir),
      NodeAddress: '127.0.0.1',
      Component: 'raylet',
    };
    const scrape = await waitFor(
      async () => {
        const s = await scrapeMetrics(url(n), TOKEN);
        return s.find('ray_tasks', { State: 'PENDING_NODE_ASSIGNMENT' }).length > 0 ? s : undefined;
      },
      { what: 'the queued lease in ray_tasks' },
    );
    expect(scrape.types.get('ray_tasks')).toBe('gauge');
    expect(scrape.find('ray_tasks', { ...labels, Name: 'work.step', State: 'RUNNING' })[0]?.value).toBe(1);
    expect(scrape.find('ray_tasks', { Name: 'work.later', State: 'PENDING_NODE_ASSIGNMENT' })[0]?.value).toBe(
      1,
    );
    expect(scrape.find('ray_leases_queued', labels)[0]?.value).toBe(1);
    expect(scrape.find('ray_leases_granted')[0]?.value).toBe(1);
    expect(scrape.find('ray_workers', { State: 'LEASED' })[0]?.value).toBe(1);
    expect(scrape.find('ray_resources', { Name: 'CPU', State: 'USED' })[0]?.value).toBe(1);
    expect(scrape.find('ray_resources', { Name: 'CPU', State: 'AVAILABLE' })[0]?.value).toBe(0);
    expect(scrape.types.get('ray_scheduling_latency_seconds')).toBe('histogram');
    expect(scrape.find('ray_scheduling_latency_seconds_count', { Kind: 'task' })[0]?.value).toBe(1);

    await returnLease(n.driver, running);
    const second = await queued;
    const after = await scrapeMetrics(url(n), TOKEN);
    expect(after.find('ray_tasks', { State: 'PENDING_NODE_ASSIGNMENT' })).toEqual([]);
    expect(after.find('ray_tasks', { Name: 'work.later', State: 'RUNNING' })[0]?.value).toBe(1);
    expect(after.find('ray_leases_granted_total')[0]?.value).toBe(2);
    expect(after.find('ray_scheduling_latency_seconds_count', { Kind: 'task' })[0]?.value).toBe(2);
    await returnLease(n.driver, second);

    await requestLease(n.driver, { name: 'Counter', actor: {}, resources: { CPU: 0 } });
    const actors = await scrapeMetrics(url(n), TOKEN);
    expect(actors.find('ray_actors', { Name: 'Counter', State: 'ALIVE' })[0]?.value).toBe(1);
    expect(actors.find('ray_scheduling_latency_seconds_count', { Kind: 'actor' })[0]?.value).toBe(1);
  });

  it('reports the object store and the node memory and CPU', async () => {
    const n = await node();
    const s = await scrapeMetrics(url(n), TOKEN);
    expect(s.find('ray_object_store_available_memory')[0]?.value).toBe(16 * 1024 * 1024);
    expect(s.find('ray_object_store_memory', { Location: 'MMAP_SHM' })[0]?.value).toBe(0);
    expect(s.find('ray_object_store_num_local_objects')[0]?.value).toBe(0);
    expect(s.types.get('ray_object_store_spilled_bytes_total')).toBe('counter');
    expect(s.find('ray_object_store_restored_bytes_total')[0]?.value).toBe(0);
    const total = s.find('ray_node_mem_total')[0]!.value;
    const used = s.find('ray_node_mem_used')[0]!.value;
    expect(total).toBeGreaterThan(0);
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(total);
    const cpu = s.find('ray_node_cpu_utilization')[0]!.value;
    expect(cpu).toBeGreaterThanOrEqual(0);
    expect(cpu).toBeLessThanOrEqual(100);
  });

  it('is off with metrics: false, and then the node advertises no port', async () => {
    const n = await node({ metrics: false });
    expect(n.raylet.metricsPort).toBe(0);
  });
});
