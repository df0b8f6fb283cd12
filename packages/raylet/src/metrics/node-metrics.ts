// The node's Prometheus series, in Ray's names and label names where Ray has one (docs:
// "System Metrics"): read from the lease manager, the worker pool, the object store and /proc
// when Prometheus scrapes, so the hot path pays nothing but the grant-latency observation.
// Every series carries SessionName, NodeAddress, NodeId and Component="raylet". A registry of
// its own per raylet: tests run several raylets in one process.
import os from 'node:os';
import type { NodeResources } from '@tray/scheduler';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LeaseManager } from '../leases/lease-manager.js';
import { readNodeMemory } from '../node-memory.js';
import type { HostedStore } from '../objects/store-host.js';
import type { WorkerPool } from '../worker-pool.js';
import { NodeCpu } from './node-cpu.js';

export interface NodeMetricsSources {
  sessionName: string;
  nodeAddress: string;
  nodeId: string;
  leases: LeaseManager;
  pool: WorkerPool;
  store: HostedStore;
  resources: NodeResources;
}

/** Lease grant latency buckets, seconds: a warm grant is well under a millisecond, a cold one starts a worker. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Count `items` by the label values `key` gives, into `gauge` (reset first: gone states drop out). */
function countInto<T>(
  gauge: Gauge<string>,
  items: Iterable<T>,
  key: (item: T) => Record<string, string>,
): void {
  gauge.reset();
  for (const item of items) gauge.inc(key(item));
}

export function nodeMetrics(s: NodeMetricsSources): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({
    SessionName: s.sessionName,
    NodeAddress: s.nodeAddress,
    NodeId: s.nodeId,
    Component: 'raylet',
  });
  const registers = [registry];
  const { leases, pool, store, resources } = s;

  new Gauge({
    name: 'ray_tasks',
    help: "Tasks on this node by state: a queued lease request is PENDING_NODE_ASSIGNMENT, a granted task lease RUNNING (one per lease; a lease runs its owner's tasks of one scheduling class in turn)",
    labelNames: ['Name', 'State'],
    registers,
    collect() {
      this.reset();
      for (const p of leases.queued())
        if (!p.request.isActor) this.inc({ Name: p.request.taskName, State: 'PENDING_NODE_ASSIGNMENT' });
      for (const l of leases.granted.values())
        if (!l.request.isActor) this.inc({ Name: l.request.taskName, State: 'RUNNING' });
    },
  });
  new Gauge({
    name: 'ray_actors',
    help: 'Actors on this node by state: PENDING_CREATION while its lease is queued, ALIVE while its worker holds it',
    labelNames: ['Name', 'State'],
    registers,
    collect() {
      this.reset();
      for (const p of leases.queued())
        if (p.request.isActor) this.inc({ Name: p.request.taskName, State: 'PENDING_CREATION' });
      for (const l of leases.granted.values())
        if (l.request.isActor) this.inc({ Name: l.request.taskName, State: 'ALIVE' });
    },
  });
  new Gauge({
    name: 'ray_workers',
    help: "This node's worker processes by state (STARTING, IDLE, LEASED)",
    labelNames: ['State'],
    registers,
    collect() {
      const alive = [...pool.workers.values()].filter((w) => w.state !== 'dead');
      countInto(this, alive, (w) => ({ State: w.state.toUpperCase() }));
    },
  });
  new Gauge({
    name: 'ray_leases_queued',
    help: 'Worker lease requests queued on this node, waiting for resources or a worker',
    registers,
    collect() {
      this.set(leases.pendingCount);
    },
  });
  new Gauge({
    name: 'ray_leases_granted',
    help: 'Worker leases this node holds granted now',
    registers,
    collect() {
      this.set(leases.granted.size);
    },
  });
  new Counter({
    name: 'ray_leases_granted_total',
    help: 'Worker leases granted on this node since it started',
    registers,
    collect() {
      this.reset();
      this.inc(leases.grantCount);
    },
  });
  new Counter({
    name: 'ray_leases_spilled_back_total',
    help: 'Lease requests this node answered with another node (spillback) since it started',
    registers,
    collect() {
      this.reset();
      this.inc(leases.spilledCount);
    },
  });
  const latency = new Histogram({
    name: 'ray_scheduling_latency_seconds',
    help: 'Time from a lease request reaching this node to its grant (includes starting a worker when none was idle)',
    labelNames: ['Kind'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  leases.onGranted = (waitMs, lease) =>
    latency.observe({ Kind: lease.request.isActor ? 'actor' : 'task' }, waitMs / 1000);

  new Gauge({
    name: 'ray_resources',
    help: 'Logical resources of this node by State (USED, AVAILABLE)',
    labelNames: ['Name', 'State'],
    registers,
    collect() {
      this.reset();
      const available = resources.available;
      for (const [name, total] of resources.total.entries()) {
        const free = available.get(name);
        this.set({ Name: name, State: 'AVAILABLE' }, free);
        this.set({ Name: name, State: 'USED' }, total - free);
      }
    },
  });

  storeSeries(store, registers);
  nodeSeries(registers);
  return registry;
}

function storeSeries(store: HostedStore, registers: Registry[]): void {
  new Gauge({
    name: 'ray_object_store_memory',
    help: "Object store bytes by Location: MMAP_SHM (in the store's shared memory), SPILLED (on disk in the spill directory)",
    labelNames: ['Location', 'ObjectState'],
    registers,
    collect() {
      this.reset();
      const st = store.stats();
      if (st === undefined) return;
      this.set({ Location: 'MMAP_SHM', ObjectState: 'SEALED' }, st.usedBytes);
      this.set({ Location: 'SPILLED', ObjectState: 'SEALED' }, st.spillDiskBytes);
    },
  });
  const gauge = (
    name: string,
    help: string,
    value: (st: NonNullable<ReturnType<HostedStore['stats']>>) => number,
  ) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const st = store.stats();
        if (st === undefined) this.reset();
        else this.set(value(st));
      },
    });
  gauge('ray_object_store_used_memory', 'Bytes of objects in the object store', (st) => st.usedBytes);
  gauge('ray_object_store_available_memory', "Bytes free in the object store's capacity", (st) =>
    Math.max(0, st.capacity - st.usedBytes),
  );
  gauge('ray_object_store_num_local_objects', 'Objects in the object store', (st) => st.numObjects);
  // Cumulative in the store: counters whose value is the store's own count.
  const counter = (
    name: string,
    help: string,
    value: (st: NonNullable<ReturnType<HostedStore['stats']>>) => number,
  ) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        const st = store.stats();
        if (st !== undefined) this.inc(value(st));
      },
    });
  counter(
    'ray_object_store_spilled_bytes_total',
    'Bytes spilled from the object store to disk since it started',
    (st) => st.spilledBytes,
  );
  counter(
    'ray_object_store_restored_bytes_total',
    'Bytes restored from disk into the object store since it started',
    (st) => st.restoredBytes,
  );
  counter(
    'ray_object_store_spilled_objects_total',
    'Objects spilled to disk since the store started',
    (st) => st.spilledObjects,
  );
  counter(
    'ray_object_store_restored_objects_total',
    'Objects restored from disk since the store started',
    (st) => st.restoredObjects,
  );
}

function nodeSeries(registers: Registry[]): void {
  const cpu = new NodeCpu();
  new Gauge({
    name: 'ray_node_cpu_utilization',
    help: "Percent of the node's CPU time busy since the previous scrape (/proc/stat)",
    registers,
    collect() {
      const v = cpu.utilization();
      if (v === undefined) this.reset();
      else this.set(v);
    },
  });
  new Gauge({
    name: 'ray_node_cpu_count',
    help: 'CPUs of the machine',
    registers,
    collect() {
      this.set(os.cpus().length);
    },
  });
  const memory = (
    name: string,
    help: string,
    pick: (m: { usedBytes: number; totalBytes: number }) => number,
  ) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        try {
          this.set(pick(readNodeMemory()));
        } catch {
          this.reset();
        }
      },
    });
  memory(
    'ray_node_mem_used',
    'Bytes of memory the node uses (as the memory monitor sees it: cgroup or /proc/meminfo)',
    (m) => m.usedBytes,
  );
  memory('ray_node_mem_total', 'Bytes of memory the node has', (m) => m.totalBytes);
  memory('ray_node_mem_available', 'Bytes of memory the node has free', (m) => m.totalBytes - m.usedBytes);
}
