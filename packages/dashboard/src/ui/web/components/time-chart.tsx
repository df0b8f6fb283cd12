// A time-series chart (uPlot on a canvas): one line per series, x in Unix seconds. The chart is
// created once per set of series names and fed new data in place, so polling does not rebuild it.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

const COLOURS = ['#2563eb', '#16a34a', '#dc2626', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];

export interface TimeSeries {
  label: string;
  values: Array<number | null>;
}

export function TimeChart({
  title,
  times,
  series,
  format,
}: {
  title: string;
  times: number[];
  series: TimeSeries[];
  format?: (value: number) => string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const names = series.map((s) => s.label).join('\u0000');

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const opts: uPlot.Options = {
      title,
      width: Math.max(320, el.clientWidth || 600),
      height: 220,
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: COLOURS[i % COLOURS.length],
          width: 2,
          value: format ? (_: uPlot, v: number | null) => (v === null ? '' : format(v)) : undefined,
        })),
      ],
      axes: [{}, { values: format ? (_: uPlot, ticks: number[]) => ticks.map(format) : undefined, size: 84 }],
    };
    plot.current = new uPlot(opts, [times, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const onResize = () => plot.current?.setSize({ width: Math.max(320, el.clientWidth), height: 220 });
    addEventListener('resize', onResize);
    return () => {
      removeEventListener('resize', onResize);
      plot.current?.destroy();
      plot.current = null;
    };
  }, [names, title]);

  useEffect(() => {
    plot.current?.setData([times, ...series.map((s) => s.values)] as uPlot.AlignedData);
  });

  return <div class="chart" ref={host} data-testid="chart" />;
}
