// The data plane's state: the last good resources and endpoints, the clusters they configure, and the handlers built from them.
import type { AuthorizationSettings, EndpointsSnapshot, ListenerResource, ResourcesSnapshot } from '@meshcart/mesh-config';
import type { Credentials } from '../control/workload-identity';
import { ResourcesRejectedError } from '../core/errors';
import { MeshEvents } from '../core/mesh-events';
import type { Handler } from '../core/types';
import { EndpointPools } from '../policies/connection-pool/endpoint-pools';
import { MtlsState, type MtlsPolicy } from '../policies/mtls/mtls-state';
import { buildRouteTable, type RouteTable } from '../policies/routing/route-table';
import type { RequestObserver } from '../policies/telemetry/telemetry-layer';
import { Cluster } from '../tiers/concrete';
import { buildEndpoint } from '../tiers/endpoint';
import { buildOutbound } from '../tiers/outbound';

export class DataPlane {
  private resources?: ResourcesSnapshot;
  private endpoints?: EndpointsSnapshot;
  private routes: RouteTable = buildRouteTable([], 'compiled');
  private edgeRoutes: RouteTable = buildRouteTable([], 'compiled');
  /** Long-lived: a push reconfigures a cluster of the same name rather than replacing it (tiers/policy-state.ts). */
  private clusters = new Map<string, Cluster>();
  /** Policy events (retries, breaker changes, ejections, new connections) for metrics to observe. */
  readonly events = new MeshEvents();
  private readonly pools = new EndpointPools(this.events);
  private readonly tls = new MtlsState();
  /** Outbound calls of the local app to other services (Host or absolute-URI routing). */
  readonly outbound: Handler;
  /** Public traffic at the gateway, routed by path. */
  readonly edge: Handler;
  private readonly onListenerChange: (listeners: ListenerResource[]) => void;

  constructor(opts: { observers: () => readonly RequestObserver[]; onListenerChange?: (listeners: ListenerResource[]) => void }) {
    this.onListenerChange = opts.onListenerChange ?? (() => undefined);
    const build = (edge: boolean) =>
      buildOutbound({
        edge,
        observers: opts.observers,
        notReady: () => this.notReady(),
        routes: () => (edge ? this.edgeRoutes : this.routes),
        clusters: (name) => this.clusters.get(name),
        events: this.events,
      });
    this.outbound = build(false);
    this.edge = build(true);
  }

  /** This workload's certificate, for mTLS to peers (renewals replace it). */
  setCredentials(c: Credentials): void {
    this.tls.setCredentials(c);
  }

  /** Applies a resources snapshot whole, or throws and keeps the last good one. */
  applyResources(snapshot: ResourcesSnapshot): void {
    const { resources } = snapshot;
    const names = new Set(resources.clusters.map((c) => c.name));
    const dangling = [...resources.virtualHosts.flatMap((v) => v.routes), ...resources.edgeRoutes].filter((r) => !names.has(r.cluster));
    if (dangling.length > 0) {
      throw new ResourcesRejectedError(`routes name unknown clusters: ${dangling.map((r) => `${r.name} → ${r.cluster}`).join(', ')}`);
    }
    const outboundListener = resources.listeners.find((l) => l.name === 'outbound');
    const mode = outboundListener?.routeMatching ?? 'compiled';
    const routes = buildRouteTable(resources.virtualHosts, mode);
    const edgeRoutes = buildRouteTable([{ name: '*', routes: resources.edgeRoutes }], mode);
    const previous = this.clusters;
    const clusters = new Map(
      resources.clusters.map((c) => [
        c.name,
        previous.get(c.name)?.reconfigure(c) ?? new Cluster(c, (r) => buildEndpoint(r, this.pools, this.tls, this.events), this.events),
      ]),
    );
    this.routes = routes;
    this.edgeRoutes = edgeRoutes;
    this.clusters = clusters;
    // Requests in flight to a cluster no longer configured finish on it; only its timers need stopping.
    for (const [name, c] of previous) if (!clusters.has(name)) c.close();
    this.resources = snapshot;
    this.tls.configure(resources);
    if (this.endpoints) this.applyEndpoints(this.endpoints);
    this.onListenerChange(resources.listeners);
  }

  /** Also re-run after every resources push (above), so a change of mTLS mode re-decides which endpoints may be used. */
  applyEndpoints(snapshot: EndpointsSnapshot): void {
    const strict = this.tls.policy().mode === 'STRICT';
    for (const [name, cluster] of this.clusters) cluster.setEndpoints(snapshot.clusters[name] ?? [], strict);
    this.endpoints = snapshot;
    this.pools.retain(new Set(Object.values(snapshot.clusters).flatMap((list) => list.flatMap((e) => (e.h2cUrl ? [e.url, e.h2cUrl] : [e.url])))));
  }

  /** The mesh's mTLS policy in force (DISABLE until config arrives). */
  mtls(): MtlsPolicy {
    return this.tls.policy();
  }

  /** Who may call this proxy's own service (allow all until config arrives with rules). */
  authorization(): AuthorizationSettings {
    return this.resources?.resources.authorization ?? { defaultAction: 'ALLOW', rules: [] };
  }

  hasCredentials(): boolean {
    return this.tls.hasCredentials();
  }

  /** The route table in force, for the inbound side's per-route policies (rate limits). */
  routeTable(): RouteTable {
    return this.routes;
  }

  ready(): boolean {
    return this.resources !== undefined && this.endpoints !== undefined;
  }

  /** A resources snapshot is in force (the inbound side needs no endpoints). */
  configured(): boolean {
    return this.resources !== undefined;
  }

  /** Why an outbound request cannot be sent now, if it cannot: no config yet, or STRICT mTLS without a certificate yet. */
  private notReady(): string | undefined {
    if (this.resources === undefined) return 'the mesh has no config yet (control plane not reached)';
    if (this.tls.awaitingCertificate()) return 'no workload certificate yet; mTLS is STRICT, so nothing leaves this proxy until one arrives';
    return undefined;
  }

  versions(): { resources?: string; endpoints?: string } {
    return { resources: this.resources?.version, endpoints: this.endpoints?.version };
  }

  /** What /config_dump shows: the config in force and the live endpoint state. */
  dump(): unknown {
    return {
      resources: this.resources ?? null,
      endpoints: this.endpoints ?? null,
      clusters: [...this.clusters.values()].map((c) => ({
        name: c.resource.name,
        lbPolicy: c.resource.lbPolicy,
        circuitBreaker: c.breakerState(),
        endpoints: c.endpoints().map((s) => ({ instance: s.endpoint.instance, url: s.endpoint.url, inflight: s.inflight, ejected: s.ejected })),
        // Under STRICT: endpoints that do not offer mTLS, never sent to.
        plaintextRefused: c.plaintextEndpoints().map((e) => ({ instance: e.instance, url: e.url })),
      })),
    };
  }

  async close(): Promise<void> {
    for (const c of this.clusters.values()) c.close();
    await this.pools.close();
  }
}
