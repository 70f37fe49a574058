// Compiles a MeshConfig into the resources of one proxy; the version is a hash of their content.
import { createHash } from 'node:crypto';
import type {
  ClusterResource,
  ConnectionPoolSettings,
  Endpoint,
  ListenerResource,
  MeshMode,
  ProxyResources,
  ResourcesSnapshot,
  RouteResource,
} from './resources';
import type { MeshConfig, Policy } from './schema';

/** Built-in values for every knob a config leaves out. */
export const BUILT_IN_DEFAULTS = {
  connectionPool: {
    maxConnections: 100,
    connectTimeoutMs: 1000,
    maxRequestsPerConnection: 0,
    idleTimeoutMs: 60_000,
    pipelining: 1,
  } satisfies ConnectionPoolSettings,
  lbPolicy: 'ROUND_ROBIN' as const,
  timeoutMs: 15_000,
  accessLog: { mode: 'sampled' as const, sampleRate: 0.01 },
  routeMatching: 'compiled' as const,
  trustDomain: 'meshcart.local',
  namespace: 'default',
};

/** Stable JSON: keys sorted, so equal content always hashes to the same version. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

export function contentVersion(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

function effectivePolicy(config: MeshConfig, service: string): Required<Pick<Policy, 'timeoutMs'>> & { cluster: ClusterResource } {
  const mesh = config.spec.defaults?.policy ?? {};
  const own = config.spec.services[service]?.policy ?? {};
  return {
    timeoutMs: own.timeoutMs ?? mesh.timeoutMs ?? BUILT_IN_DEFAULTS.timeoutMs,
    cluster: {
      name: service,
      lbPolicy: own.loadBalancer?.policy ?? mesh.loadBalancer?.policy ?? BUILT_IN_DEFAULTS.lbPolicy,
      connectionPool: { ...BUILT_IN_DEFAULTS.connectionPool, ...mesh.connectionPool, ...own.connectionPool },
    },
  };
}

export function serviceMode(config: MeshConfig, service: string): MeshMode {
  return config.spec.services[service]?.mode ?? config.spec.defaults?.mode ?? 'sidecar';
}

/**
 * Every proxy gets the routes and clusters of every service (a later policy layer decides who may
 * call whom); `service` is the proxy's own service, which decides its inbound settings and mode.
 */
export function compileProxyResources(config: MeshConfig, service: string): ResourcesSnapshot {
  const defaults = config.spec.defaults ?? {};
  const accessLog = { ...BUILT_IN_DEFAULTS.accessLog, ...defaults.accessLog };
  const routeMatching = defaults.routeMatching ?? BUILT_IN_DEFAULTS.routeMatching;
  const listeners: ListenerResource[] = (['outbound', 'inbound', 'edge'] as const).map((name) => ({ name, accessLog, routeMatching }));

  const clusters: ClusterResource[] = [];
  const virtualHosts = Object.entries(config.spec.services).map(([name, spec]) => {
    const policy = effectivePolicy(config, name);
    clusters.push(policy.cluster);
    const routes: RouteResource[] = (spec.routes ?? []).map((r) => ({
      name: r.name,
      match: r.match,
      cluster: name,
      timeoutMs: r.timeoutMs ?? policy.timeoutMs,
    }));
    routes.push({ name: 'default', match: { pathPrefix: '/' }, cluster: name, timeoutMs: policy.timeoutMs });
    return { name, routes };
  });

  const edgeRoutes: RouteResource[] = (config.spec.edge?.routes ?? []).map((r) => ({
    name: r.name,
    match: r.match,
    cluster: r.service,
    timeoutMs: effectivePolicy(config, r.service).timeoutMs,
    ...(r.rewritePrefix !== undefined ? { rewritePrefix: r.rewritePrefix } : {}),
  }));

  const resources: ProxyResources = {
    profile: config.metadata.name,
    service,
    mode: serviceMode(config, service),
    trustDomain: config.spec.trustDomain ?? BUILT_IN_DEFAULTS.trustDomain,
    namespace: config.spec.namespace ?? BUILT_IN_DEFAULTS.namespace,
    listeners,
    virtualHosts,
    edgeRoutes,
    clusters,
  };
  return { version: contentVersion(resources), resources };
}

/** Endpoints grouped by cluster, sorted so the version depends only on content. */
export function endpointsSnapshot(endpoints: Record<string, Endpoint[]>): { version: string; clusters: Record<string, Endpoint[]> } {
  const clusters = Object.fromEntries(
    Object.entries(endpoints)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, list]) => [name, [...list].sort((a, b) => (a.instance < b.instance ? -1 : 1))]),
  );
  return { version: contentVersion(clusters), clusters };
}
