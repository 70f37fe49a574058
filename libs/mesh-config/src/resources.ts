// What the control plane pushes to a proxy: resources linked by name, and endpoints, each versioned.
import type { Fallback, Fault, RouteMatch } from './schema';

export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'PEAK_EWMA' | 'RANDOM' | 'CONSISTENT_HASH';
export type HashOn = { header: string } | { cookie: string };
export type AccessLogMode = 'off' | 'sync' | 'sampled';
export type RouteMatchingMode = 'linear-regex' | 'compiled';
export type MeshMode = 'sidecar' | 'proxyless' | 'off';

export interface ConnectionPoolSettings {
  maxConnections: number;
  connectTimeoutMs: number;
  /** 0 = unlimited */
  maxRequestsPerConnection: number;
  idleTimeoutMs: number;
  pipelining: number;
  h2UpgradePolicy: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
  maxConcurrentStreams: number;
}

export interface RetryBudgetSettings {
  budgetPercent: number;
  minRetriesPerSecond: number;
}

export interface CircuitBreakerSettings {
  maxPendingRequests?: number;
  maxRequests?: number;
  maxRetries?: number;
  /** The error-rate breaker is on when errorThresholdPercentage is set. */
  errorThresholdPercentage?: number;
  requestVolumeThreshold: number;
  sleepWindowMs: number;
  rollingWindowMs: number;
  halfOpenRequests: number;
}

export interface OutlierDetectionSettings {
  consecutive5xxErrors?: number;
  consecutiveGatewayErrors?: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionPercent: number;
  minHealthPercent: number;
}

/** One upstream service as a proxy sees it (Envoy: a cluster). */
export interface ClusterResource {
  name: string;
  lbPolicy: LbPolicy;
  hashOn?: HashOn;
  connectionPool: ConnectionPoolSettings;
  retryBudget?: RetryBudgetSettings;
  /** Instance groups by label, for subset routing, canaries and mirrors. */
  subsets?: Record<string, Record<string, string>>;
  circuitBreaker?: CircuitBreakerSettings;
  outlierDetection?: OutlierDetectionSettings;
}

export type RetryCondition = '5xx' | 'gateway-error' | 'connect-failure' | 'reset' | 'retriable-4xx';

export interface RetrySettings {
  attempts: number;
  perTryTimeoutMs?: number;
  retryOn: (RetryCondition | number)[];
  backoff: { baseMs: number; maxMs: number };
}

export interface RouteResource {
  name: string;
  match: RouteMatch;
  cluster: string;
  timeoutMs: number;
  retries?: RetrySettings;
  fault?: Fault;
  fallback?: Fallback;
  /** Weighted subsets; a single `subset` compiles to one entry of weight 100. */
  split?: { subset: string; weight: number }[];
  mirror?: { cluster: string; subset?: string; percent: number };
  /** Enforced inbound by the destination: the route's own, or the service's. */
  rateLimit?: { requestsPerSecond: number; burst: number };
  /** Edge routes only: replaces the matched prefix before forwarding. */
  rewritePrefix?: string;
}

/** The routes of one destination (Envoy: a virtual host), tried in order. */
export interface VirtualHostResource {
  name: string;
  routes: RouteResource[];
}

export interface ListenerResource {
  name: 'outbound' | 'inbound' | 'edge';
  accessLog: { mode: AccessLogMode; sampleRate: number };
  routeMatching: RouteMatchingMode;
}

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';
export type KeyType = 'RSA_2048' | 'ECDSA_P256';

export interface MtlsSettings {
  mode: MtlsMode;
  keyType: KeyType;
  certTtlMs: number;
}

/** The rules that protect this proxy's own service. */
export interface AuthorizationSettings {
  defaultAction: 'ALLOW' | 'DENY';
  rules: { from: string[]; methods?: string[]; paths?: string[] }[];
}

export interface ProxyResources {
  /** The MeshConfig these were compiled from (metadata.name). */
  profile: string;
  service: string;
  mode: MeshMode;
  trustDomain: string;
  namespace: string;
  mtls: MtlsSettings;
  authorization: AuthorizationSettings;
  listeners: ListenerResource[];
  virtualHosts: VirtualHostResource[];
  /** Edge proxies (the gateway) route by path across services. */
  edgeRoutes: RouteResource[];
  clusters: ClusterResource[];
}

export interface Endpoint {
  /** Unique per process, e.g. `product-service-1`. */
  instance: string;
  /** Where the mesh reaches it: the sidecar's inbound listener, or the app itself when its mode is off. */
  url: string;
  /** The sidecar's HTTP/2 (cleartext) inbound listener, used when h2UpgradePolicy is UPGRADE. */
  h2cUrl?: string;
  /** The endpoint accepts mTLS on `url` (a sidecar's inbound listener). */
  mtls?: boolean;
  weight: number;
  labels: Record<string, string>;
}

export interface EndpointsSnapshot {
  version: string;
  clusters: Record<string, Endpoint[]>;
}

export interface ResourcesSnapshot {
  version: string;
  resources: ProxyResources;
}

/** Messages on the push stream, one JSON object per line. */
export type PushMessage =
  | { type: 'resources'; version: string; resources: ProxyResources }
  | {
      type: 'endpoints';
      version: string;
      clusters: Record<string, Endpoint[]>;
      /** False during a control plane's first lease after it starts: instances may still be re-registering. */
      complete?: boolean;
    };

/** What a proxy answers to each push. */
export interface PushAck {
  kind: 'resources' | 'endpoints';
  /** The version now in force: the pushed one on ACK, the kept one on NACK. */
  version: string;
  /** Set on NACK: why the pushed version was refused. */
  error?: string;
  rejectedVersion?: string;
}
