// What the control plane pushes to a proxy: resources linked by name, and endpoints, each versioned.
import { Type, type Static } from '@sinclair/typebox';
import {
  AccessLogModeSchema,
  DefaultAction,
  Fallback,
  Fault,
  H2UpgradePolicy,
  HashOnSchema,
  KeyTypeSchema,
  LoadBalancerPolicy,
  MeshModeSchema,
  MtlsModeSchema,
  RetryBudget,
  type RetryConditionSchema,
  RetryOn,
  RouteMatch,
  RouteMatching,
  Split,
} from './schema';

// The compiled objects say what a proxy relies on: shapes, not the limits a config is checked against
// (those held before compiling), and they allow properties they do not know, so a proxy a release
// older still takes a newer control plane's push. Parts passed on from the config as written (route
// matches, faults, fallbacks, splits, retry budgets) keep the config's own schemas.

export type LbPolicy = Static<typeof LoadBalancerPolicy>;
export type HashOn = Static<typeof HashOnSchema>;
export type AccessLogMode = Static<typeof AccessLogModeSchema>;
export type RouteMatchingMode = Static<typeof RouteMatching>;
export type MeshMode = Static<typeof MeshModeSchema>;
export type RetryCondition = Static<typeof RetryConditionSchema>;
export type MtlsMode = Static<typeof MtlsModeSchema>;
export type KeyType = Static<typeof KeyTypeSchema>;

export const ConnectionPoolSettings = Type.Object({
  maxConnections: Type.Number(),
  connectTimeoutMs: Type.Number(),
  /** 0 = unlimited */
  maxRequestsPerConnection: Type.Number(),
  idleTimeoutMs: Type.Number(),
  pipelining: Type.Number(),
  h2UpgradePolicy: H2UpgradePolicy,
  maxConcurrentStreams: Type.Number(),
});
export type ConnectionPoolSettings = Static<typeof ConnectionPoolSettings>;

export type RetryBudgetSettings = Static<typeof RetryBudget>;

export const CircuitBreakerSettings = Type.Object({
  maxPendingRequests: Type.Optional(Type.Number()),
  maxRequests: Type.Optional(Type.Number()),
  maxRetries: Type.Optional(Type.Number()),
  /** The error-rate breaker is on when errorThresholdPercentage is set. */
  errorThresholdPercentage: Type.Optional(Type.Number()),
  requestVolumeThreshold: Type.Number(),
  sleepWindowMs: Type.Number(),
  rollingWindowMs: Type.Number(),
  halfOpenRequests: Type.Number(),
});
export type CircuitBreakerSettings = Static<typeof CircuitBreakerSettings>;

export const OutlierDetectionSettings = Type.Object({
  consecutive5xxErrors: Type.Optional(Type.Number()),
  consecutiveGatewayErrors: Type.Optional(Type.Number()),
  intervalMs: Type.Number(),
  baseEjectionTimeMs: Type.Number(),
  maxEjectionPercent: Type.Number(),
  minHealthPercent: Type.Number(),
});
export type OutlierDetectionSettings = Static<typeof OutlierDetectionSettings>;

/** One upstream service as a proxy sees it (Envoy: a cluster). */
export const ClusterResource = Type.Object({
  name: Type.String(),
  lbPolicy: LoadBalancerPolicy,
  hashOn: Type.Optional(HashOnSchema),
  connectionPool: ConnectionPoolSettings,
  retryBudget: Type.Optional(RetryBudget),
  /** Instance groups by label, for subset routing, canaries and mirrors. */
  subsets: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Type.String()))),
  circuitBreaker: Type.Optional(CircuitBreakerSettings),
  outlierDetection: Type.Optional(OutlierDetectionSettings),
});
export type ClusterResource = Static<typeof ClusterResource>;

export const RetrySettings = Type.Object({
  attempts: Type.Number(),
  perTryTimeoutMs: Type.Optional(Type.Number()),
  retryOn: Type.Array(RetryOn),
  backoff: Type.Object({ baseMs: Type.Number(), maxMs: Type.Number() }),
});
export type RetrySettings = Static<typeof RetrySettings>;

export const RouteResource = Type.Object({
  name: Type.String(),
  match: RouteMatch,
  cluster: Type.String(),
  timeoutMs: Type.Number(),
  retries: Type.Optional(RetrySettings),
  fault: Type.Optional(Fault),
  fallback: Type.Optional(Fallback),
  /** Weighted subsets; a single `subset` compiles to one entry of weight 100. */
  split: Type.Optional(Split),
  mirror: Type.Optional(Type.Object({ cluster: Type.String(), subset: Type.Optional(Type.String()), percent: Type.Number() })),
  /** Enforced inbound by the destination: the route's own, or the service's. */
  rateLimit: Type.Optional(Type.Object({ requestsPerSecond: Type.Number(), burst: Type.Number() })),
  /** Edge routes only: replaces the matched prefix before forwarding. */
  rewritePrefix: Type.Optional(Type.String()),
});
export type RouteResource = Static<typeof RouteResource>;

/** The routes of one destination (Envoy: a virtual host), tried in order. */
export const VirtualHostResource = Type.Object({ name: Type.String(), routes: Type.Array(RouteResource) });
export type VirtualHostResource = Static<typeof VirtualHostResource>;

export const ListenerResource = Type.Object({
  name: Type.Union([Type.Literal('outbound'), Type.Literal('inbound'), Type.Literal('edge')]),
  accessLog: Type.Object({ mode: AccessLogModeSchema, sampleRate: Type.Number() }),
  routeMatching: RouteMatching,
});
export type ListenerResource = Static<typeof ListenerResource>;

export const MtlsSettings = Type.Object({
  mode: MtlsModeSchema,
  keyType: KeyTypeSchema,
  certTtlMs: Type.Number(),
  /**
   * The CA's roots as they stand (which one signs, which are trusted): when it changes (a root
   * rotation), every proxy renews its certificate and trust bundle at once, and reports it did.
   */
  trustEpoch: Type.Optional(Type.String()),
});
export type MtlsSettings = Static<typeof MtlsSettings>;

/** The rules that protect this proxy's own service. */
export const AuthorizationSettings = Type.Object({
  defaultAction: DefaultAction,
  rules: Type.Array(
    Type.Object({
      from: Type.Array(Type.String()),
      methods: Type.Optional(Type.Array(Type.String())),
      paths: Type.Optional(Type.Array(Type.String())),
    }),
  ),
});
export type AuthorizationSettings = Static<typeof AuthorizationSettings>;

export const ProxyResources = Type.Object({
  /** The MeshConfig these were compiled from (metadata.name). */
  profile: Type.String(),
  service: Type.String(),
  mode: MeshModeSchema,
  trustDomain: Type.String(),
  namespace: Type.String(),
  mtls: MtlsSettings,
  authorization: AuthorizationSettings,
  listeners: Type.Array(ListenerResource),
  virtualHosts: Type.Array(VirtualHostResource),
  /** Edge proxies (the gateway) route by path across services. */
  edgeRoutes: Type.Array(RouteResource),
  clusters: Type.Array(ClusterResource),
});
export type ProxyResources = Static<typeof ProxyResources>;

export const Endpoint = Type.Object({
  /** Unique per process, e.g. `product-service-1`. */
  instance: Type.String(),
  /** Where the mesh reaches it: the sidecar's inbound listener, or the app itself when its mode is off. */
  url: Type.String(),
  /** The sidecar's HTTP/2 (cleartext) inbound listener, used when h2UpgradePolicy is UPGRADE. */
  h2cUrl: Type.Optional(Type.String()),
  /** The endpoint accepts mTLS on `url` (a sidecar's inbound listener). */
  mtls: Type.Optional(Type.Boolean()),
  weight: Type.Number(),
  labels: Type.Record(Type.String(), Type.String()),
});
export type Endpoint = Static<typeof Endpoint>;

export const EndpointsSnapshot = Type.Object({ version: Type.String(), clusters: Type.Record(Type.String(), Type.Array(Endpoint)) });
export type EndpointsSnapshot = Static<typeof EndpointsSnapshot>;

export const ResourcesSnapshot = Type.Object({ version: Type.String(), resources: ProxyResources });
export type ResourcesSnapshot = Static<typeof ResourcesSnapshot>;
