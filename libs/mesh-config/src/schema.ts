// The MeshConfig schema: what people write in deploy/mesh/*.yaml, with Istio/Envoy meanings and units in names.
import { Type, type Static } from '@sinclair/typebox';

export const ServiceName = Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$', description: 'a DNS-label service name' });

/** When a pool speaks HTTP/2 (cleartext, prior knowledge) to endpoints that offer it. */
export const H2UpgradePolicy = Type.Union([Type.Literal('DEFAULT'), Type.Literal('DO_NOT_UPGRADE'), Type.Literal('UPGRADE')]);

export const ConnectionPool = Type.Object(
  {
    /** Upper bound of upstream connections per endpoint (Istio tcp.maxConnections). */
    maxConnections: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    connectTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 60_000 })),
    /** 1 = a new connection per request (no keep-alive); 0 = unlimited (Istio http.maxRequestsPerConnection). */
    maxRequestsPerConnection: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    /** How long an unused keep-alive connection stays open (Istio http.idleTimeout). */
    idleTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_600_000 })),
    /** Requests in flight on one HTTP/1.1 connection. */
    pipelining: Type.Optional(Type.Integer({ minimum: 1, maximum: 128 })),
    /** UPGRADE: HTTP/2 (cleartext, prior knowledge) to endpoints that offer it, i.e. peer sidecars (Istio's knob). */
    h2UpgradePolicy: Type.Optional(H2UpgradePolicy),
    /** HTTP/2 streams at once on one connection. */
    maxConcurrentStreams: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
    /** Istio's names for the circuit-breaker thresholds (same meaning as circuitBreaker.maxPendingRequests / maxRequests). */
    http1MaxPendingRequests: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    httpMaxRequests: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  },
  { additionalProperties: false },
);

export const LoadBalancerPolicy = Type.Union([
  Type.Literal('ROUND_ROBIN'),
  Type.Literal('LEAST_REQUEST'),
  Type.Literal('PEAK_EWMA'),
  Type.Literal('RANDOM'),
  Type.Literal('CONSISTENT_HASH'),
]);

/** CONSISTENT_HASH: what to hash; requests without it are spread at random. */
export const HashOnSchema = Type.Union([
  Type.Object({ header: Type.String({ pattern: '^[a-z0-9-]+$' }) }, { additionalProperties: false }),
  Type.Object({ cookie: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
]);

export const LoadBalancer = Type.Object(
  {
    policy: Type.Optional(LoadBalancerPolicy),
    hashOn: Type.Optional(HashOnSchema),
  },
  { additionalProperties: false },
);

/** off; sync: one blocking write per request (a baseline knob); sampled: buffered, a fraction of requests. */
export const AccessLogModeSchema = Type.Union([Type.Literal('off'), Type.Literal('sync'), Type.Literal('sampled')]);

export const AccessLog = Type.Object(
  {
    mode: Type.Optional(AccessLogModeSchema),
    sampleRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  { additionalProperties: false },
);

/** How a proxy finds the route for a request: a linear regex scan, or an indexed table. */
export const RouteMatching = Type.Union([Type.Literal('linear-regex'), Type.Literal('compiled')]);

const Percent = Type.Number({ minimum: 0, maximum: 100 });
const SubsetName = Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' });
/** A duration as milliseconds, or a string such as "30s", "250ms", "1m", "24h" (the seed's `sleepWindow: 30s`). */
export const Duration = Type.Union([Type.Integer({ minimum: 0, maximum: 31_536_000_000 }), Type.String({ pattern: '^[0-9]+(ms|s|m|h)$' })]);

export const RetryConditionSchema = Type.Union([
  Type.Literal('5xx'),
  Type.Literal('gateway-error'),
  Type.Literal('connect-failure'),
  Type.Literal('reset'),
  Type.Literal('retriable-4xx'),
]);
/** A named condition (Envoy's retry_on), or one status code. */
export const RetryOn = Type.Union([RetryConditionSchema, Type.Integer({ minimum: 400, maximum: 599 })]);

export const Retries = Type.Object(
  {
    /** Retries after the first try (Istio `attempts`). */
    attempts: Type.Integer({ minimum: 0, maximum: 10 }),
    perTryTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
    /** Conditions, or status codes, that make a try worth repeating. */
    retryOn: Type.Optional(Type.Array(RetryOn, { minItems: 1, uniqueItems: true })),
    /** Exponential backoff with full jitter: try n waits random(0, min(maxMs, baseMs * 2^n)). */
    backoff: Type.Optional(
      Type.Object(
        { baseMs: Type.Integer({ minimum: 0, maximum: 60_000 }), maxMs: Type.Integer({ minimum: 0, maximum: 600_000 }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type Retries = Static<typeof Retries>;

/** Retries may add at most budgetPercent of the live requests, plus minRetriesPerSecond (Linkerd's retry budget). */
export const RetryBudget = Type.Object(
  {
    budgetPercent: Type.Number({ minimum: 0, maximum: 1000 }),
    minRetriesPerSecond: Type.Integer({ minimum: 0, maximum: 100_000 }),
  },
  { additionalProperties: false },
);

/** Envoy's thresholds (fail fast with 503 MESH_ERR_OVERFLOW) and an error-rate breaker with the seed's keys. */
export const CircuitBreaker = Type.Object(
  {
    maxConnections: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    maxPendingRequests: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    httpMaxPendingRequests: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    maxRequests: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    httpMaxRequests: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    maxRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    /** Fewest requests in the rolling window before the error rate counts. */
    requestVolumeThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    errorThresholdPercentage: Type.Optional(Percent),
    /** How long the breaker stays open before letting probes through. */
    sleepWindow: Type.Optional(Duration),
    rollingWindowMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
    /** Probes allowed at once while half-open. */
    halfOpenRequests: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
  },
  { additionalProperties: false },
);
export type CircuitBreaker = Static<typeof CircuitBreaker>;

export const OutlierDetection = Type.Object(
  {
    consecutive5xxErrors: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    consecutiveGatewayErrors: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    intervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600_000 })),
    /** An ejection lasts baseEjectionTimeMs × the number of times this endpoint was ejected. */
    baseEjectionTimeMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_600_000 })),
    maxEjectionPercent: Type.Optional(Percent),
    /** Panic threshold: below this share of healthy endpoints, ejections are ignored. */
    minHealthPercent: Type.Optional(Percent),
  },
  { additionalProperties: false },
);
export type OutlierDetection = Static<typeof OutlierDetection>;

export const Policy = Type.Object(
  {
    connectionPool: Type.Optional(ConnectionPool),
    loadBalancer: Type.Optional(LoadBalancer),
    /** Overall deadline of a request to this service, in milliseconds. */
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
    /** Default retry policy of this service's routes. */
    retries: Type.Optional(Retries),
    retryBudget: Type.Optional(RetryBudget),
    /** Named groups of instances by label (like DestinationRule subsets): { v2: { version: v2 } }. */
    subsets: Type.Optional(Type.Record(SubsetName, Type.Record(Type.String(), Type.String()))),
    circuitBreaker: Type.Optional(CircuitBreaker),
    outlierDetection: Type.Optional(OutlierDetection),
  },
  { additionalProperties: false },
);
export type Policy = Static<typeof Policy>;

const HttpMethod = Type.Union(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m) => Type.Literal(m)));

export const RouteMatch = Type.Object(
  {
    pathPrefix: Type.Optional(Type.String({ pattern: '^/' })),
    pathExact: Type.Optional(Type.String({ pattern: '^/' })),
    methods: Type.Optional(Type.Array(HttpMethod, { minItems: 1, uniqueItems: true })),
    /** Exact header values the request must carry (names lower-case). */
    headers: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z0-9-]+$' }), Type.String())),
  },
  { additionalProperties: false },
);
export type RouteMatch = Static<typeof RouteMatch>;

/** Drills: delay or fail a share of requests, optionally only those carrying given headers. */
export const Fault = Type.Object(
  {
    delay: Type.Optional(
      Type.Object({ fixedDelayMs: Type.Integer({ minimum: 0, maximum: 600_000 }), percent: Percent }, { additionalProperties: false }),
    ),
    abort: Type.Optional(
      Type.Object({ httpStatus: Type.Integer({ minimum: 200, maximum: 599 }), percent: Percent }, { additionalProperties: false }),
    ),
    headers: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z0-9-]+$' }), Type.String())),
  },
  { additionalProperties: false },
);
export type Fault = Static<typeof Fault>;

/** Inbound token bucket: `requestsPerSecond` refill, up to `burst` at once; over it, 429 with Retry-After. */
export const RateLimit = Type.Object(
  {
    requestsPerSecond: Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000 }),
    burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);
export type RateLimit = Static<typeof RateLimit>;

/** Graceful degradation: answered when the upstream failed or the breaker is open. */
export const Fallback = Type.Object(
  {
    status: Type.Optional(Type.Integer({ minimum: 200, maximum: 599 })),
    body: Type.Unknown(),
  },
  { additionalProperties: false },
);
export type Fallback = Static<typeof Fallback>;

/** Weighted subsets of the destination's instances (a canary: v1 90, v2 10). */
export const Split = Type.Array(
  Type.Object({ subset: SubsetName, weight: Type.Integer({ minimum: 0, maximum: 100 }) }, { additionalProperties: false }),
  {
    minItems: 1,
  },
);

/** Shadow traffic: a copy of a share of requests, whose answers are discarded. */
export const Mirror = Type.Object(
  { service: Type.Optional(ServiceName), subset: Type.Optional(SubsetName), percent: Percent },
  { additionalProperties: false },
);

export const Route = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' }),
    match: RouteMatch,
    /** All traffic of this route to one subset (e.g. a header-matched canary route). */
    subset: Type.Optional(SubsetName),
    split: Type.Optional(Split),
    mirror: Type.Optional(Mirror),
    /** Enforced by the destination's own inbound side, for this route. */
    rateLimit: Type.Optional(RateLimit),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
    retries: Type.Optional(Retries),
    fault: Type.Optional(Fault),
    fallback: Type.Optional(Fallback),
  },
  { additionalProperties: false },
);
export type Route = Static<typeof Route>;

export const MeshModeSchema = Type.Union([Type.Literal('sidecar'), Type.Literal('proxyless'), Type.Literal('off')]);

export const ServiceSpec = Type.Object(
  {
    mode: Type.Optional(MeshModeSchema),
    /** Policy for traffic *to* this service, over the mesh-wide defaults (like an Istio DestinationRule). */
    policy: Type.Optional(Policy),
    /** Routes of this service, tried in order; unmatched requests use the service's default route. */
    routes: Type.Optional(Type.Array(Route)),
    /** A fault on every route of this service (what `meshctl fault` sets). */
    fault: Type.Optional(Fault),
    /** Inbound rate limit of the whole service (a route's own limit takes precedence). */
    rateLimit: Type.Optional(RateLimit),
  },
  { additionalProperties: false },
);
export type ServiceSpec = Static<typeof ServiceSpec>;

export const EdgeRoute = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' }),
    match: RouteMatch,
    service: ServiceName,
    /** Replaces the matched part of the path (the pathPrefix, or the whole pathExact), e.g. /api/users → /users. */
    rewritePrefix: Type.Optional(Type.String({ pattern: '^/' })),
    /** All of this route's traffic to one subset of the service (a header-matched canary route). */
    subset: Type.Optional(SubsetName),
    /** Weighted subsets of the service, as a service's route has (a canary: stable 90, canary 10). */
    split: Type.Optional(Split),
  },
  { additionalProperties: false },
);
export type EdgeRoute = Static<typeof EdgeRoute>;

/** STRICT: sidecars accept only mTLS; PERMISSIVE: mTLS or plaintext; DISABLE: plaintext. */
export const MtlsModeSchema = Type.Union([Type.Literal('STRICT'), Type.Literal('PERMISSIVE'), Type.Literal('DISABLE')]);
/** Workload key type: RSA_2048 (Istio's long-time default) or ECDSA_P256 (cheaper handshakes). */
export const KeyTypeSchema = Type.Union([Type.Literal('RSA_2048'), Type.Literal('ECDSA_P256')]);

/** Mesh-wide peer authentication and workload certificates (Istio's PeerAuthentication modes). */
export const Mtls = Type.Object(
  {
    mode: Type.Optional(MtlsModeSchema),
    keyType: Type.Optional(KeyTypeSchema),
    /** Lifetime of workload certificates; they are renewed at two thirds of it. */
    certTtl: Type.Optional(Duration),
  },
  { additionalProperties: false },
);
export type Mtls = Static<typeof Mtls>;

const AuthzPath = Type.String({ pattern: '^(\\*|/[^*]*(/\\*)?)$', description: '"/exact", "/prefix/*" or "*"' });

/** DENY: only what a rule allows gets through (default-deny). ALLOW: rules are not needed. */
export const DefaultAction = Type.Union([Type.Literal('ALLOW'), Type.Literal('DENY')]);

/** Who may call whom (Istio's AuthorizationPolicy, ALLOW rules), enforced by the destination. */
export const Authorization = Type.Object(
  {
    defaultAction: DefaultAction,
    rules: Type.Array(
      Type.Object(
        {
          to: ServiceName,
          /** Source services (by their certificate's identity), or "*". */
          from: Type.Array(Type.Union([ServiceName, Type.Literal('*')]), { minItems: 1 }),
          methods: Type.Optional(Type.Array(HttpMethod, { minItems: 1, uniqueItems: true })),
          paths: Type.Optional(Type.Array(AuthzPath, { minItems: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type Authorization = Static<typeof Authorization>;

export const MeshConfigSchema = Type.Object(
  {
    apiVersion: Type.Literal('meshcart.io/v1alpha1'),
    kind: Type.Literal('MeshConfig'),
    metadata: Type.Object({ name: Type.String({ minLength: 1 }) }, { additionalProperties: true }),
    spec: Type.Object(
      {
        trustDomain: Type.Optional(Type.String({ minLength: 1 })),
        namespace: Type.Optional(Type.String({ pattern: '^[a-z0-9-]+$' })),
        mtls: Type.Optional(Mtls),
        authorization: Type.Optional(Authorization),
        defaults: Type.Optional(
          Type.Object(
            {
              mode: Type.Optional(MeshModeSchema),
              policy: Type.Optional(Policy),
              accessLog: Type.Optional(AccessLog),
              routeMatching: Type.Optional(RouteMatching),
            },
            { additionalProperties: false },
          ),
        ),
        services: Type.Record(ServiceName, ServiceSpec, { minProperties: 1, additionalProperties: false }),
        edge: Type.Optional(Type.Object({ routes: Type.Array(EdgeRoute, { minItems: 1 }) }, { additionalProperties: false })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type MeshConfig = Static<typeof MeshConfigSchema>;
