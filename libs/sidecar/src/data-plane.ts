// The data plane's state: the last good resources and endpoints, and the handlers built from them.
import type { AuthorizationSettings, ClusterResource, Endpoint, EndpointsSnapshot, ListenerResource, ResourcesSnapshot } from '@meshcart/mesh-config';
import { NotReadyError, UnknownServiceError } from './errors';
import { MeshEvents } from './mesh-events';
import { RetryBudget } from './retry-budget';
import { telemetryLayer, type RequestObserver } from './layers/telemetry-layer';
import { traceLayer } from './layers/trace-layer';
import { buildRouteTable, type RouteTable } from './route-table';
import { Cluster } from './tiers/concrete';
import { EndpointPools, forward, type ClientTls } from './tiers/endpoint';
import type { Credentials } from './control/workload-identity';
import { buildLogical } from './tiers/logical';
import { Stack, type Handler, type Layer } from './types';

/** A pushed snapshot the data plane refused; the previous one stays in force. */
export class ResourcesRejectedError extends Error {
  readonly code = 'MESH_ERR_CONFIG_REJECTED';
}

export interface MtlsPolicy {
  mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE';
  keyType: 'RSA_2048' | 'ECDSA_P256';
  trustDomain: string;
  namespace: string;
}

export class DataPlane {
  private resources?: ResourcesSnapshot;
  private mtlsPolicy: Readonly<MtlsPolicy> = Object.freeze({ mode: 'DISABLE', keyType: 'ECDSA_P256', trustDomain: 'meshcart.local', namespace: 'default' });
  private endpoints?: EndpointsSnapshot;
  private routes: RouteTable = buildRouteTable([], 'compiled');
  private edgeRoutes: RouteTable = buildRouteTable([], 'compiled');
  private clusters = new Map<string, Cluster>();
  private budgets = new Map<string, RetryBudget>();
  /** Policy events (retries, breaker changes, ejections, new connections) for metrics to observe. */
  readonly events = new MeshEvents();
  private readonly pools = new EndpointPools(this.events);
  /** Outbound calls of the local app to other services (Host or absolute-URI routing). */
  readonly outbound: Handler;
  /** Public traffic at the gateway, routed by path. */
  readonly edge: Handler;
  private readonly onListenerChange: (listeners: ListenerResource[]) => void;
  private credentials?: Credentials;

  /** This workload's certificate, for mTLS to peers (renewals replace it). */
  setCredentials(c: Credentials): void {
    this.credentials = c;
    this.clientTlsOf.clear();
  }

  /**
   * Client TLS settings per destination, made once per certificate and config rather than per
   * request; the same object each time also lets the pool lookup skip rebuilding its key.
   */
  private readonly clientTlsOf = new Map<string, ClientTls>();

  /** mTLS to this endpoint: when the mesh has it on, the endpoint offers it, and we have a certificate. */
  private clientTls(cluster: string, e: Endpoint | undefined): ClientTls | undefined {
    const r = this.resources?.resources;
    const c = this.credentials;
    if (!r || !c || r.mtls.mode === 'DISABLE' || !e?.mtls) return undefined;
    let tls = this.clientTlsOf.get(cluster);
    if (!tls) {
      tls = { cert: c.certPem, key: c.keyPem, ca: c.caPem, version: c.version, expectedId: `spiffe://${r.trustDomain}/ns/${r.namespace}/sa/${cluster}` };
      this.clientTlsOf.set(cluster, tls);
    }
    return tls;
  }

  constructor(opts: { observers: () => readonly RequestObserver[]; onListenerChange?: (listeners: ListenerResource[]) => void }) {
    this.onListenerChange = opts.onListenerChange ?? (() => undefined);
    const toCluster: Handler = (req) => {
      const cluster = this.clusters.get(req.ctx.route!.cluster);
      if (!cluster) return Promise.reject(new UnknownServiceError(`unknown service "${req.ctx.route!.cluster}"`));
      return cluster.handler(req);
    };
    const build = (edge: boolean) =>
      new Stack()
        // First, so that even the mesh's own errors are logged with the request's trace id.
        .push(traceLayer())
        // Outermost but for tracing, so that every outcome, including the mesh's own errors, is measured.
        .push(telemetryLayer(opts.observers))
        // Before the first config arrives there is nothing to route with: fail fast and say so.
        .push(this.readyLayer())
        .build(
          buildLogical({
            edge,
            routes: () => (edge ? this.edgeRoutes : this.routes),
            clusters: toCluster,
            budget: (cluster) => this.budgets.get(cluster),
            events: this.events,
          }),
        );
    this.outbound = build(false);
    this.edge = build(true);
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
    const clusters = new Map(resources.clusters.map((c) => [c.name, this.buildCluster(c)]));
    // A budget keeps its window across pushes when its settings stay the same.
    const budgets = new Map<string, RetryBudget>();
    for (const c of resources.clusters) {
      if (!c.retryBudget) continue;
      const same = JSON.stringify(this.resources?.resources.clusters.find((o) => o.name === c.name)?.retryBudget) === JSON.stringify(c.retryBudget);
      budgets.set(c.name, (same && this.budgets.get(c.name)) || new RetryBudget(c.retryBudget));
    }
    const previous = this.clusters;
    this.routes = routes;
    this.edgeRoutes = edgeRoutes;
    this.clusters = clusters;
    this.budgets = budgets;
    // Requests in flight finish on the cluster objects they started with; only timers need stopping.
    for (const c of previous.values()) c.close();
    this.resources = snapshot;
    this.clientTlsOf.clear();
    this.mtlsPolicy = Object.freeze({ ...resources.mtls, trustDomain: resources.trustDomain, namespace: resources.namespace });
    if (this.endpoints) this.applyEndpoints(this.endpoints);
    this.onListenerChange(resources.listeners);
  }

  applyEndpoints(snapshot: EndpointsSnapshot): void {
    for (const [name, cluster] of this.clusters) cluster.setEndpoints(snapshot.clusters[name] ?? []);
    this.endpoints = snapshot;
    this.pools.retain(new Set(Object.values(snapshot.clusters).flatMap((list) => list.flatMap((e) => (e.h2cUrl ? [e.url, e.h2cUrl] : [e.url])))));
  }

  /** The mesh's mTLS policy in force (DISABLE until config arrives). Read per connection and per request, so made once per push. */
  mtls(): MtlsPolicy {
    return this.mtlsPolicy;
  }

  /** Who may call this proxy's own service (allow all until config arrives with rules). */
  authorization(): AuthorizationSettings {
    return this.resources?.resources.authorization ?? { defaultAction: 'ALLOW', rules: [] };
  }

  hasCredentials(): boolean {
    return this.credentials !== undefined;
  }

  /** The route table in force, for the inbound side's per-route policies (rate limits). */
  routeTable(): RouteTable {
    return this.routes;
  }

  ready(): boolean {
    return this.resources !== undefined && this.endpoints !== undefined;
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
      })),
    };
  }

  async close(): Promise<void> {
    for (const c of this.clusters.values()) c.close();
    await this.pools.close();
  }

  private buildCluster(resource: ClusterResource): Cluster {
    // HTTP/2 only where it was asked for and the endpoint offers it (a peer sidecar); apps speak HTTP/1.1.
    const h2c = (e: Endpoint | undefined) => resource.connectionPool.h2UpgradePolicy === 'UPGRADE' && e?.h2cUrl !== undefined;
    const endpointHandler = forward(
      (url, useH2c, tls) => this.pools.get(url, resource.connectionPool, resource.name, useH2c, tls),
      (ctx) => {
        // mTLS goes over HTTP/1.1 to the sidecar's inbound listener; h2c is cleartext only.
        const tls = this.clientTls(resource.name, ctx.endpoint);
        if (tls) return { url: ctx.endpoint!.url, h2c: false, tls };
        return h2c(ctx.endpoint) ? { url: ctx.endpoint!.h2cUrl!, h2c: true } : { url: ctx.endpoint!.url, h2c: false };
      },
      resource.connectionPool.maxRequestsPerConnection === 1,
    );
    return new Cluster(resource, endpointHandler, this.events);
  }

  private readyLayer(): Layer {
    return (inner) => (req) =>
      this.resources ? inner(req) : Promise.reject(new NotReadyError('the mesh has no config yet (control plane not reached)'));
  }
}
