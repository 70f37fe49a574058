// The MeshConfig schema: what people write in deploy/mesh/*.yaml, with Istio/Envoy meanings and units in names.
import { Type, type Static } from '@sinclair/typebox';

const ServiceName = Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$', description: 'a DNS-label service name' });

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
  },
  { additionalProperties: false },
);

export const LoadBalancerPolicy = Type.Union([
  Type.Literal('ROUND_ROBIN'),
  Type.Literal('LEAST_REQUEST'),
  Type.Literal('RANDOM'),
]);

export const LoadBalancer = Type.Object({ policy: Type.Optional(LoadBalancerPolicy) }, { additionalProperties: false });

export const AccessLog = Type.Object(
  {
    /** off; sync: one blocking write per request (a baseline knob); sampled: buffered, a fraction of requests. */
    mode: Type.Optional(Type.Union([Type.Literal('off'), Type.Literal('sync'), Type.Literal('sampled')])),
    sampleRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  { additionalProperties: false },
);

/** How a proxy finds the route for a request: a linear regex scan, or an indexed table. */
export const RouteMatching = Type.Union([Type.Literal('linear-regex'), Type.Literal('compiled')]);

export const Policy = Type.Object(
  {
    connectionPool: Type.Optional(ConnectionPool),
    loadBalancer: Type.Optional(LoadBalancer),
    /** Overall deadline of a request to this service, in milliseconds. */
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
  },
  { additionalProperties: false },
);
export type Policy = Static<typeof Policy>;

const HttpMethod = Type.Union(
  ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m) => Type.Literal(m)),
);

export const RouteMatch = Type.Object(
  {
    pathPrefix: Type.Optional(Type.String({ pattern: '^/' })),
    pathExact: Type.Optional(Type.String({ pattern: '^/' })),
    methods: Type.Optional(Type.Array(HttpMethod, { minItems: 1, uniqueItems: true })),
  },
  { additionalProperties: false },
);
export type RouteMatch = Static<typeof RouteMatch>;

export const Route = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' }),
    match: RouteMatch,
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
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
  },
  { additionalProperties: false },
);
export type EdgeRoute = Static<typeof EdgeRoute>;

export const MeshConfigSchema = Type.Object(
  {
    apiVersion: Type.Literal('meshcart.io/v1alpha1'),
    kind: Type.Literal('MeshConfig'),
    metadata: Type.Object({ name: Type.String({ minLength: 1 }) }, { additionalProperties: true }),
    spec: Type.Object(
      {
        trustDomain: Type.Optional(Type.String({ minLength: 1 })),
        namespace: Type.Optional(Type.String({ pattern: '^[a-z0-9-]+$' })),
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
