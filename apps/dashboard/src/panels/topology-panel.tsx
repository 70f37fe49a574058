// Topology: the graph, the request-rate chart, and the same figures as tables (readable by keyboard, screen readers and tests).
import type { DashboardSnapshot } from '@meshcart/control-plane-api';
import { HEALTH_COLOUR, ms, pct } from '../format';
import { RateChart } from './rate-chart';
import { TopologyGraph } from './topology-graph';

const Health = ({ health }: { health: keyof typeof HEALTH_COLOUR }) => (
  <span class="badge" style={{ background: HEALTH_COLOUR[health] }}>
    {health}
  </span>
);

const name = (id: string) => id.replace(/^(service|instance):/, '');

export function TopologyPanel({ snapshot }: { snapshot: DashboardSnapshot }) {
  return (
    <section id="topology" aria-labelledby="topology-title">
      <h2 id="topology-title">Topology</h2>
      <p class="hint">
        Who called whom over the last {snapshot.intervalMs / 1000} s, as the caller's proxy counted it; nodes count what their instances took in.
      </p>
      <TopologyGraph snapshot={snapshot} />
      <RateChart snapshot={snapshot} />
      <div class="tables">
        <table data-testid="nodes-table">
          <caption>Nodes</caption>
          <thead>
            <tr>
              <th scope="col">node</th>
              <th scope="col">rps</th>
              <th scope="col">success</th>
              <th scope="col">p50</th>
              <th scope="col">p99</th>
              <th scope="col">health</th>
            </tr>
          </thead>
          <tbody>
            {snapshot.nodes.map((n) => (
              <tr key={n.id} data-node={n.id} data-rps={n.stats.rps} data-success={n.stats.successRate ?? ''} class={`kind-${n.kind}`}>
                <th scope="row">{n.kind === 'instance' ? `↳ ${n.instance}${n.version ? ` (${n.version})` : ''}` : name(n.id)}</th>
                <td>{n.stats.rps.toFixed(1)}</td>
                <td>{pct(n.stats.successRate)}</td>
                <td>{ms(n.stats.p50Ms)}</td>
                <td>{ms(n.stats.p99Ms)}</td>
                <td>
                  <Health health={n.health} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <table data-testid="edges-table">
          <caption>Edges (caller → callee)</caption>
          <thead>
            <tr>
              <th scope="col">edge</th>
              <th scope="col">rps</th>
              <th scope="col">success</th>
              <th scope="col">p50</th>
              <th scope="col">p99</th>
              <th scope="col">health</th>
            </tr>
          </thead>
          <tbody>
            {snapshot.edges.length === 0 && (
              <tr>
                <td colSpan={6}>No traffic yet: send some through the gateway (npm run load).</td>
              </tr>
            )}
            {snapshot.edges.map((e) => (
              <tr key={e.id} data-edge={`${name(e.source)}>${name(e.target)}`} data-rps={e.stats.rps} data-success={e.stats.successRate ?? ''}>
                <th scope="row">
                  {name(e.source)} → {name(e.target)}
                </th>
                <td>{e.stats.rps.toFixed(1)}</td>
                <td>{pct(e.stats.successRate)}</td>
                <td>{ms(e.stats.p50Ms)}</td>
                <td>{ms(e.stats.p99Ms)}</td>
                <td>
                  <Health health={e.health} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
