// Requests per second into each service and the gateway over the last minutes (uPlot), from the snapshots seen since the page opened.
import type { DashboardSnapshot } from '@meshcart/control-plane-api';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** A tick (seconds since the epoch) as the local wall-clock time, to the second. */
const clock = (t: number) => new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

const KEEP = 90;
const COLOURS = ['#1f5fbf', '#1b7a3a', '#8a5a00', '#b3261e', '#6a3fa0', '#006d77', '#5f6b7a', '#a0336b'];

/** The series shown: the gateway and each service, by the node ids of the snapshot. */
const seriesOf = (s: DashboardSnapshot) => s.nodes.filter((n) => n.kind !== 'instance').map((n) => n.id);

export function RateChart({ snapshot }: { snapshot: DashboardSnapshot }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const data = useRef<{ ids: string[]; rows: number[][] }>({ ids: [], rows: [] });

  useEffect(() => () => plot.current?.destroy(), []);

  useEffect(() => {
    const ids = seriesOf(snapshot);
    const d = data.current;
    if (ids.join() !== d.ids.join()) {
      // Services came or went: start a new chart with them.
      plot.current?.destroy();
      d.ids = ids;
      d.rows = [[], ...ids.map(() => [])];
      plot.current = new uPlot(
        {
          width: Math.max(320, (box.current?.clientWidth ?? 640) - 8),
          height: 200,
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
          // Whole seconds on the time axis: snapshots come every 2 s, so finer ticks only crowd it.
          axes: [{ space: 90, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600], values: (_u, ticks) => ticks.map(clock) }, { label: 'requests/s' }],
          series: [{}, ...ids.map((id, i) => ({ label: id.replace(/^service:/, ''), stroke: COLOURS[i % COLOURS.length], width: 2 }))],
        },
        d.rows as uPlot.AlignedData,
        box.current!,
      );
    }
    const byId = new Map(snapshot.nodes.map((n) => [n.id, n.stats.rps]));
    d.rows[0]!.push(Date.parse(snapshot.at) / 1000);
    ids.forEach((id, i) => d.rows[i + 1]!.push(byId.get(id) ?? 0));
    for (const row of d.rows) if (row.length > KEEP) row.splice(0, row.length - KEEP);
    plot.current?.setData(d.rows as uPlot.AlignedData);
  }, [snapshot]);

  return <div ref={box} class="chart" data-testid="rate-chart" aria-label="Requests per second over time, per service" role="img" />;
}
