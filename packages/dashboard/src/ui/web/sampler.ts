// The numbers behind the charts page, sampled every few seconds into a bounded ring while the
// page is open (and not hidden). One sample reads GET /metrics (Ray's series names: ray_tasks and
// ray_actors by State, ray_object_store_memory by Location, ray_node_cpu_utilization and
// ray_node_mem_used by node); when the server has no /metrics, the task, actor and object counts
// come from the state API's summaries instead, and the node charts say "not available".
import { getText, NotAvailable } from './api.js';
import { parsePrometheus, sumBy } from './prometheus.js';
import { Ring } from './ring.js';
import { summarize, summaryObjectTotals, summaryStateCounts } from './state.js';

export type ChartId = 'tasks' | 'actors' | 'objectStore' | 'nodeCpu' | 'nodeMemory';

export interface Sample {
  /** Unix time in seconds (uPlot's x axis). */
  t: number;
  /** Per chart, its series' values at `t`; a chart absent from a sample had no data then. */
  charts: Partial<Record<ChartId, Record<string, number>>>;
}

export const SAMPLE_INTERVAL_MS = 2000;
/** 15 minutes at one sample every 2 s. */
export const SAMPLE_CAPACITY = 450;

function fromMap(map: Map<string, number>): Record<string, number> | undefined {
  if (map.size === 0) return undefined;
  return Object.fromEntries([...map].map(([k, v]) => [k || 'total', v]));
}

/** A node's series name: its address, and its id's start when several nodes share one address. */
function nodeLabel(labels: Record<string, string>): string {
  const address = labels.NodeAddress ?? labels.ip ?? labels.instance;
  const id = labels.NodeId?.slice(0, 8);
  return [address, id].filter(Boolean).join(' ') || 'node';
}

async function fromMetrics(text: string): Promise<Sample['charts']> {
  const samples = parsePrometheus(text);
  const byNode = (name: string) => {
    const map = new Map<string, number>();
    for (const s of samples) if (s.name === name) map.set(nodeLabel(s.labels), s.value);
    return fromMap(map);
  };
  return {
    tasks: fromMap(sumBy(samples, 'ray_tasks', 'State')),
    actors: fromMap(sumBy(samples, 'ray_actors', 'State')),
    objectStore: fromMap(sumBy(samples, 'ray_object_store_memory', 'Location')),
    nodeCpu: byNode('ray_node_cpu_utilization'),
    nodeMemory: byNode('ray_node_mem_used'),
  };
}

async function fromStateApi(): Promise<Sample['charts']> {
  const [tasks, actors, objects] = await Promise.allSettled([
    summarize('tasks'),
    summarize('actors'),
    summarize('objects'),
  ]);
  const charts: Sample['charts'] = {};
  if (tasks.status === 'fulfilled') charts.tasks = summaryStateCounts(tasks.value);
  if (actors.status === 'fulfilled') charts.actors = summaryStateCounts(actors.value);
  if (objects.status === 'fulfilled') {
    const totals = summaryObjectTotals(objects.value);
    if (totals) charts.objectStore = { used: totals.bytes };
  }
  return charts;
}

export class Sampler {
  readonly ring = new Ring<Sample>(SAMPLE_CAPACITY);
  /** 'metrics' while GET /metrics answers, 'state' after it did not. */
  source: 'metrics' | 'state' = 'metrics';
  lastError?: string;
  private timer?: ReturnType<typeof setTimeout>;
  private readonly listeners = new Set<() => void>();

  start(): void {
    if (this.timer !== undefined) return;
    const tick = async () => {
      if (!document.hidden) await this.sampleOnce();
      this.timer = setTimeout(tick, SAMPLE_INTERVAL_MS);
    };
    this.timer = setTimeout(tick, 0);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async sampleOnce(): Promise<void> {
    const t = Date.now() / 1000;
    try {
      let charts: Sample['charts'];
      if (this.source === 'metrics') {
        try {
          charts = await fromMetrics(await getText('/metrics'));
        } catch (err) {
          if (!(err instanceof NotAvailable)) throw err;
          this.source = 'state';
          charts = await fromStateApi();
        }
      } else {
        charts = await fromStateApi();
      }
      this.ring.push({ t, charts });
      this.lastError = undefined;
    } catch (err) {
      this.lastError = (err as Error).message;
    }
    for (const listener of this.listeners) listener();
  }
}

export const sampler = new Sampler();
