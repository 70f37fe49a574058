// Logical tier: per route. Finds the route, then applies its fallback, deadline, retries and faults.
import { fallbackLayer } from '../layers/fallback-layer';
import { mirrorLayer } from '../layers/mirror-layer';
import { splitLayer } from '../layers/split-layer';
import { faultLayer } from '../layers/fault-layer';
import { retryLayer } from '../layers/retry-layer';
import { edgeRouteLayer, routeLayer } from '../layers/route-layer';
import { timeoutLayer } from '../layers/timeout-layer';
import type { MeshEvents } from '../mesh-events';
import type { RetryBudget } from '../retry-budget';
import type { RouteTable } from '../route-table';
import { Stack, type Handler } from '../types';

export function buildLogical(opts: {
  edge: boolean;
  routes: () => RouteTable;
  clusters: Handler;
  budget: (cluster: string) => RetryBudget | undefined;
  events: MeshEvents;
}): Handler {
  return (
    new Stack()
      // The route decides everything after it: destination, deadline, retries, faults, fallback.
      .push(opts.edge ? edgeRouteLayer(opts.routes) : routeLayer(opts.routes))
      // The subset is chosen once per request, so every retry goes to the same version.
      .push(splitLayer())
      // One shadow copy per request, not per try; it skips this route's retries and faults.
      .push(mirrorLayer(opts.clusters))
      // Outside the deadline and retries: degrade only once every try has failed or time is up.
      .push(fallbackLayer())
      // The deadline wraps all tries, so retries can never outlive the caller.
      .push(timeoutLayer())
      // Each retry goes back through the breaker and the balancer (below), often to another endpoint.
      .push(retryLayer({ budget: opts.budget, events: opts.events }))
      // Inside retries: an injected fault behaves like a flaky upstream, which retries may absorb.
      .push(faultLayer())
      .build(opts.clusters)
  );
}
