// A proxy's registration with the control plane (PUT /api/v1/proxies/:instance): also its heartbeat.
import { ServiceName } from '@meshcart/mesh-config';
import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './nullable';

/** Unique per process, e.g. `order-service-1` or a pod's name: it is a path segment of the API. */
export const InstanceName = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._-]+$' });

export const InstanceParams = Type.Object({ instance: InstanceName });
export type InstanceParams = Static<typeof InstanceParams>;

/** How a proxy runs: beside its app, as the edge (the gateway), inside the app, or not at all. */
export const ProxyMode = Type.Union([Type.Literal('sidecar'), Type.Literal('edge'), Type.Literal('proxyless'), Type.Literal('off')]);
export type ProxyMode = Static<typeof ProxyMode>;

export const Registration = Type.Object(
  {
    service: ServiceName,
    instance: InstanceName,
    mode: ProxyMode,
    adminUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
    /** Where peers reach this instance; absent for proxies that take no mesh traffic (the gateway). */
    endpointUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
    /** The same over HTTP/2 cleartext (sidecars only). */
    h2cEndpointUrl: Type.Optional(Type.String({ pattern: '^http://' })),
    /** endpointUrl also accepts mTLS (sidecars only). */
    mtls: Type.Optional(Type.Boolean()),
    labels: Type.Record(Type.String(), Type.String()),
    /** The versions in force, null before the first push: the heartbeat reports them. */
    configVersion: Type.Optional(Nullable(Type.String())),
    endpointsVersion: Type.Optional(Nullable(Type.String())),
    /** When this proxy's workload certificate expires. */
    certNotAfter: Type.Optional(Type.String()),
    /** The CA's roots its certificate and trust bundle belong to: how a root rotation knows every proxy has moved on. */
    trustEpoch: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type Registration = Static<typeof Registration>;

/** The answer to a registration: renew within `leaseTtlMs`, or drop out of every endpoint list. */
export const Lease = Type.Object({
  instance: InstanceName,
  leaseTtlMs: Type.Number(),
  /** The control plane's mTLS port: once the proxy holds a workload certificate, it talks to the control plane there. */
  tlsPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
});
export type Lease = Static<typeof Lease>;
