// Outbound and edge: what every request leaving through this proxy passes before its route is known, then its logical tier.
import type { MeshEvents } from '../core/mesh-events';
import { Stack, type Handler } from '../core/types';
import { readyLayer } from '../policies/readiness/ready-layer';
import type { ClusterLookup } from '../policies/routing/route-layer';
import type { RouteTable } from '../policies/routing/route-table';
import { telemetryLayer, type RequestObserver } from '../policies/telemetry/telemetry-layer';
import { traceLayer } from '../policies/tracing/trace-layer';
import { buildLogical } from './logical';

export function buildOutbound(opts: {
  /** Edge (the gateway): routed by path across services; otherwise by the destination the caller named. */
  edge: boolean;
  observers: () => readonly RequestObserver[];
  /** Why nothing can be sent yet (no config, or no certificate under STRICT mTLS); undefined once it can. */
  notReady: () => string | undefined;
  routes: () => RouteTable;
  clusters: ClusterLookup;
  events: MeshEvents;
}): Handler {
  return (
    new Stack()
      // First, so that even the mesh's own errors are logged with the request's trace id.
      .push(traceLayer())
      // Outermost but for tracing, so that every outcome, including the mesh's own errors, is measured.
      .push(telemetryLayer(opts.observers))
      // Before the first config arrives there is nothing to route with, and under STRICT mTLS nothing may
      // leave before the workload certificate: fail fast and say so, before any per-route work.
      .push(readyLayer(opts.notReady))
      .build(buildLogical(opts))
  );
}
