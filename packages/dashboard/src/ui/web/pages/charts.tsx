// Charts over time: the sampler's ring (last 15 minutes, one point every 2 s) drawn per chart.
import { useEffect, useState } from 'preact/hooks';
import { formatBytes } from '../components/format.js';
import { TimeChart } from '../components/time-chart.js';
import { type ChartId, type Sample, sampler } from '../sampler.js';

const CHARTS: Array<{ id: ChartId; title: string; format?: (v: number) => string }> = [
  { id: 'tasks', title: 'Tasks by state' },
  { id: 'actors', title: 'Actors by state' },
  { id: 'objectStore', title: 'Object store memory', format: formatBytes },
  { id: 'nodeCpu', title: 'Node CPU (%)' },
  { id: 'nodeMemory', title: 'Node memory used', format: formatBytes },
];

/** One chart's x values and a line per series name seen in any sample (null where a sample lacks it). */
export function chartData(
  samples: Sample[],
  id: ChartId,
): { times: number[]; series: { label: string; values: Array<number | null> }[] } {
  const having = samples.filter((s) => s.charts[id]);
  const labels = [...new Set(having.flatMap((s) => Object.keys(s.charts[id] ?? {})))].sort();
  return {
    times: having.map((s) => s.t),
    series: labels.map((label) => ({ label, values: having.map((s) => s.charts[id]?.[label] ?? null) })),
  };
}

export function Charts() {
  const [, setVersion] = useState(0);
  useEffect(() => {
    sampler.start();
    return sampler.subscribe(() => setVersion((v) => v + 1));
  }, []);
  const samples = sampler.ring.toArray();
  return (
    <section>
      <h2>Charts</h2>
      <p class="note">
        Sampled every 2 s from{' '}
        {sampler.source === 'metrics' ? <code>/metrics</code> : 'the state API summaries'}; the page keeps the
        last {sampler.ring.capacity} points ({samples.length} so far).
      </p>
      {sampler.lastError && <p class="note error">{sampler.lastError}</p>}
      <div class="charts">
        {CHARTS.map(({ id, title, format }) => {
          const { times, series } = chartData(samples, id);
          if (series.length === 0) {
            return (
              <div class="chart-empty" key={id}>
                <h3>{title}</h3>
                <p class="note not-available">
                  {samples.length === 0 ? 'Waiting for the first sample…' : 'Not available from this server.'}
                </p>
              </div>
            );
          }
          return <TimeChart key={id} title={title} times={times} series={series} format={format} />;
        })}
      </div>
    </section>
  );
}
