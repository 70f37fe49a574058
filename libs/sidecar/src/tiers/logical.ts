// Logical tier: per route. Finds the route and its cluster, then applies its split, mirror, fallback, deadline, retries and faults.
import { UnknownServiceError } from '../core/errors';
import type { MeshEvents } from '../core/mesh-events';
import { Stack, type Handler } from '../core/types';
import { deadlineLayer } from '../policies/deadline/deadline-layer';
import { fallbackLayer } from '../policies/fallback/fallback-layer';
import { faultLayer } from '../policies/fault/fault-layer';
import { mirrorLayer } from '../policies/mirror/mirror-layer';
import { retryLayer } from '../policies/retry/retry-layer';
import { edgeRouteLayer, routeLayer, type ClusterLookup } from '../policies/routing/route-layer';
import type { RouteTable } from '../policies/routing/route-table';
import { splitLayer } from '../policies/split/split-layer';

/** The end of the logical tier: the request's cluster (concrete tier), found with its route. */
const toCluster: Handler = (req) => {
  const cluster = req.ctx.cluster;
  if (!cluster) return Promise.reject(new UnknownServiceError(`unknown service "${req.ctx.route!.cluster}"`));
  return cluster.handler(req);
};

export function buildLogical(opts: { edge: boolean; routes: () => RouteTable; clusters: ClusterLookup; events: MeshEvents }): Handler {
  return (
    new Stack()
      // The route decides everything after it: destination cluster, deadline, retries, faults, fallback.
      .push(opts.edge ? edgeRouteLayer(opts.routes, opts.clusters) : routeLayer(opts.routes, opts.clusters))
      // The subset is chosen once per request, so every retry goes to the same version.
      .push(splitLayer())
      // One shadow copy per request, not per try; it skips this route's retries and faults.
      .push(mirrorLayer(toCluster, opts.clusters))
      // Outside the deadline and retries: degrade only once every try has failed or time is up.
      .push(fallbackLayer())
      // The deadline wraps all tries, so retries can never outlive the caller.
      .push(deadlineLayer())
      // Each retry goes back through the breaker and the balancer (below), often to another endpoint.
      .push(retryLayer({ events: opts.events }))
      // Inside retries: an injected fault behaves like a flaky upstream, which retries may absorb.
      .push(faultLayer())
      .build(toCluster)
  );
}
