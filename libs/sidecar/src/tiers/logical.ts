// Logical tier: per route. Finds the route, applies its deadline, then hands over to the destination's cluster.
import { edgeRouteLayer, routeLayer } from '../layers/route-layer';
import { timeoutLayer } from '../layers/timeout-layer';
import type { RouteTable } from '../route-table';
import { Stack, type Handler } from '../types';

export function buildLogical(opts: { edge: boolean; routes: () => RouteTable; clusters: Handler }): Handler {
  return (
    new Stack()
      // The route decides everything after it: destination, timeout, and (later) retries and faults.
      .push(opts.edge ? edgeRouteLayer(opts.routes) : routeLayer(opts.routes))
      // The deadline wraps all attempts at the route, so it is set before the cluster is chosen.
      .push(timeoutLayer())
      .build(opts.clusters)
  );
}
