// Compiles a MeshConfig into the resources of one proxy; the version is a hash of their content.
import { createHash } from 'node:crypto';
import type {
  CircuitBreakerSettings,
  ClusterResource,
  ConnectionPoolSettings,
  OutlierDetectionSettings,
  RetrySettings,
  Endpoint,
  ListenerResource,
  MeshMode,
  ProxyResources,
  ResourcesSnapshot,
  RouteResource,
} from './resources';
import type { CircuitBreaker, MeshConfig, OutlierDetection, Policy, Retries, Route } from './schema';

/** Built-in values for every knob a config leaves out. */
export const BUILT_IN_DEFAULTS = {
  connectionPool: {
    maxConnections: 100,
    connectTimeoutMs: 1000,
    maxRequestsPerConnection: 0,
    idleTimeoutMs: 60_000,
    pipelining: 1,
    h2UpgradePolicy: 'DEFAULT',
    maxConcurrentStreams: 100,
  } satisfies ConnectionPoolSettings as ConnectionPoolSettings,
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

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** "30s" → 30000, "250ms" → 250, "2m" → 120000, "24h" → 86400000; numbers are milliseconds already. */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^([0-9]+)(ms|s|m|h)$/.exec(value);
  if (!m) throw new Error(`not a duration: ${value}`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

function retrySettings(r: Retries | undefined): RetrySettings | undefined {
  if (!r || r.attempts === 0) return undefined;
  return {
    attempts: r.attempts,
    ...(r.perTryTimeoutMs !== undefined ? { perTryTimeoutMs: r.perTryTimeoutMs } : {}),
    retryOn: r.retryOn ?? ['gateway-error', 'connect-failure', 'reset'],
    backoff: r.backoff ?? { baseMs: 25, maxMs: 250 },
  };
}

function breakerSettings(cb: CircuitBreaker | undefined): CircuitBreakerSettings | undefined {
  if (!cb) return undefined;
  const pending = cb.maxPendingRequests ?? cb.httpMaxPendingRequests;
  const requests = cb.maxRequests ?? cb.httpMaxRequests;
  return {
    ...(pending !== undefined ? { maxPendingRequests: pending } : {}),
    ...(requests !== undefined ? { maxRequests: requests } : {}),
    ...(cb.maxRetries !== undefined ? { maxRetries: cb.maxRetries } : {}),
    ...(cb.errorThresholdPercentage !== undefined ? { errorThresholdPercentage: cb.errorThresholdPercentage } : {}),
    requestVolumeThreshold: cb.requestVolumeThreshold ?? 20,
    sleepWindowMs: durationMs(cb.sleepWindow ?? '5s'),
    rollingWindowMs: cb.rollingWindowMs ?? 10_000,
    halfOpenRequests: cb.halfOpenRequests ?? 1,
  };
}

function outlierSettings(od: OutlierDetection | undefined): OutlierDetectionSettings | undefined {
  if (!od) return undefined;
  return {
    ...(od.consecutive5xxErrors !== undefined ? { consecutive5xxErrors: od.consecutive5xxErrors } : {}),
    ...(od.consecutiveGatewayErrors !== undefined ? { consecutiveGatewayErrors: od.consecutiveGatewayErrors } : {}),
    intervalMs: od.intervalMs ?? 10_000,
    baseEjectionTimeMs: od.baseEjectionTimeMs ?? 30_000,
    maxEjectionPercent: od.maxEjectionPercent ?? 10,
    minHealthPercent: od.minHealthPercent ?? 0,
  };
}

function withoutAliases(pool: Policy['connectionPool']): Partial<ConnectionPoolSettings> {
  if (!pool) return {};
  const { http1MaxPendingRequests: _p, httpMaxRequests: _r, ...rest } = pool;
  return rest;
}

function effectivePolicy(
  config: MeshConfig,
  service: string,
): Required<Pick<Policy, 'timeoutMs'>> & { retries?: RetrySettings; cluster: ClusterResource } {
  const mesh = config.spec.defaults?.policy ?? {};
  const own = config.spec.services[service]?.policy ?? {};
  const pool = { ...mesh.connectionPool, ...own.connectionPool };
  // Istio spells two breaker thresholds inside connectionPool; both spellings mean the same.
  const cbSource = own.circuitBreaker ?? mesh.circuitBreaker;
  const aliases = {
    ...(pool.http1MaxPendingRequests !== undefined ? { maxPendingRequests: pool.http1MaxPendingRequests } : {}),
    ...(pool.httpMaxRequests !== undefined ? { maxRequests: pool.httpMaxRequests } : {}),
  };
  const circuitBreaker = breakerSettings(cbSource || Object.keys(aliases).length ? { ...aliases, ...cbSource } : undefined);
  const outlierDetection = outlierSettings(own.outlierDetection ?? mesh.outlierDetection);
  const retryBudget = own.retryBudget ?? mesh.retryBudget;
  const maxConnections = (own.circuitBreaker ?? mesh.circuitBreaker)?.maxConnections;
  const retries = retrySettings(own.retries ?? mesh.retries);
  return {
    timeoutMs: own.timeoutMs ?? mesh.timeoutMs ?? BUILT_IN_DEFAULTS.timeoutMs,
    ...(retries ? { retries } : {}),
    cluster: {
      name: service,
      lbPolicy: own.loadBalancer?.policy ?? mesh.loadBalancer?.policy ?? BUILT_IN_DEFAULTS.lbPolicy,
      ...((own.loadBalancer?.hashOn ?? mesh.loadBalancer?.hashOn) ? { hashOn: (own.loadBalancer?.hashOn ?? mesh.loadBalancer?.hashOn)! } : {}),
      connectionPool: {
        ...BUILT_IN_DEFAULTS.connectionPool,
        ...withoutAliases(mesh.connectionPool),
        ...withoutAliases(own.connectionPool),
        // The seed's circuitBreaker.maxConnections caps the pool like connectionPool.maxConnections does.
        ...(maxConnections !== undefined ? { maxConnections } : {}),
      },
      ...(retryBudget ? { retryBudget } : {}),
      ...(own.subsets ? { subsets: own.subsets } : {}),
      ...(circuitBreaker ? { circuitBreaker } : {}),
      ...(outlierDetection ? { outlierDetection } : {}),
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
/** `identity.trustEpoch`: the CA's current roots (see MtlsSettings), which the control plane knows and the config does not. */
export function compileProxyResources(config: MeshConfig, service: string, identity: { trustEpoch?: string } = {}): ResourcesSnapshot {
  const defaults = config.spec.defaults ?? {};
  const accessLog = { ...BUILT_IN_DEFAULTS.accessLog, ...defaults.accessLog };
  const routeMatching = defaults.routeMatching ?? BUILT_IN_DEFAULTS.routeMatching;
  const listeners: ListenerResource[] = (['outbound', 'inbound', 'edge'] as const).map((name) => ({ name, accessLog, routeMatching }));

  const clusters: ClusterResource[] = [];
  const virtualHosts = Object.entries(config.spec.services).map(([name, spec]) => {
    const policy = effectivePolicy(config, name);
    clusters.push(policy.cluster);
    const routePolicy = (r: Partial<Route>) => {
      const retries = r.retries ? retrySettings(r.retries) : policy.retries;
      const fault = r.fault ?? spec.fault;
      const split = r.split ?? (r.subset ? [{ subset: r.subset, weight: 100 }] : undefined);
      const mirror = r.mirror
        ? { cluster: r.mirror.service ?? name, percent: r.mirror.percent, ...(r.mirror.subset ? { subset: r.mirror.subset } : {}) }
        : undefined;
      const limit = r.rateLimit ?? spec.rateLimit;
      const rateLimit = limit
        ? { requestsPerSecond: limit.requestsPerSecond, burst: limit.burst ?? Math.max(1, Math.ceil(limit.requestsPerSecond)) }
        : undefined;
      return {
        ...(retries ? { retries } : {}),
        ...(fault ? { fault } : {}),
        ...(rateLimit ? { rateLimit } : {}),
        ...(r.fallback !== undefined ? { fallback: r.fallback } : {}),
        ...(split ? { split } : {}),
        ...(mirror ? { mirror } : {}),
      };
    };
    const routes: RouteResource[] = (spec.routes ?? []).map((r) => ({
      name: r.name,
      match: r.match,
      cluster: name,
      timeoutMs: r.timeoutMs ?? policy.timeoutMs,
      ...routePolicy(r),
    }));
    routes.push({ name: 'default', match: { pathPrefix: '/' }, cluster: name, timeoutMs: policy.timeoutMs, ...routePolicy({}) });
    return { name, routes };
  });

  const edgeRoutes: RouteResource[] = (config.spec.edge?.routes ?? []).map((r) => {
    const policy = effectivePolicy(config, r.service);
    const fault = config.spec.services[r.service]?.fault;
    return {
      name: r.name,
      match: r.match,
      cluster: r.service,
      timeoutMs: policy.timeoutMs,
      ...(policy.retries ? { retries: policy.retries } : {}),
      ...(fault ? { fault } : {}),
      ...(r.rewritePrefix !== undefined ? { rewritePrefix: r.rewritePrefix } : {}),
      ...(r.split ? { split: r.split } : r.subset ? { split: [{ subset: r.subset, weight: 100 }] } : {}),
    };
  });

  const resources: ProxyResources = {
    profile: config.metadata.name,
    service,
    mode: serviceMode(config, service),
    trustDomain: config.spec.trustDomain ?? BUILT_IN_DEFAULTS.trustDomain,
    namespace: config.spec.namespace ?? BUILT_IN_DEFAULTS.namespace,
    mtls: {
      mode: config.spec.mtls?.mode ?? 'DISABLE',
      keyType: config.spec.mtls?.keyType ?? 'ECDSA_P256',
      certTtlMs: durationMs(config.spec.mtls?.certTtl ?? '24h'),
      ...(identity.trustEpoch ? { trustEpoch: identity.trustEpoch } : {}),
    },
    authorization: {
      defaultAction: config.spec.authorization?.defaultAction ?? 'ALLOW',
      rules: (config.spec.authorization?.rules ?? [])
        .filter((r) => r.to === service)
        .map((r) => ({ from: r.from, ...(r.methods ? { methods: r.methods } : {}), ...(r.paths ? { paths: r.paths } : {}) })),
    },
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
