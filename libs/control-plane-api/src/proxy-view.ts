// One proxy as the control plane lists it (GET /api/v1/proxies): what it registered, and how its pushes went.
import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './nullable';
import { AckState } from './push-message';
import { InstanceName, ProxyMode } from './registration';

export const ProxyView = Type.Object({
  service: Type.String(),
  instance: InstanceName,
  mode: ProxyMode,
  adminUrl: Nullable(Type.String()),
  endpointUrl: Nullable(Type.String()),
  configVersion: Nullable(Type.String()),
  endpointsVersion: Nullable(Type.String()),
  certNotAfter: Nullable(Type.String()),
  /** The CA's roots its certificate belongs to (meshctl ca status shows who is behind during a rotation). */
  trustEpoch: Type.Optional(Type.String()),
  /** Whether some replica holds the proxy's push stream. */
  connected: Type.Boolean(),
  /** The control-plane replica holding the proxy's push stream (several replicas share one mesh). */
  controlPlane: Nullable(Type.String()),
  acks: Type.Object({ resources: Type.Optional(AckState), endpoints: Type.Optional(AckState) }),
  /**
   * How the proxy proved its service on its last registration here: its certificate (over the
   * control plane's mTLS port), its join credential, or a ServiceAccount token. Absent on a replica
   * that heard of the proxy from another.
   */
  attestedBy: Type.Optional(Type.Union([Type.Literal('certificate'), Type.Literal('join-credential'), Type.Literal('service-account-token')])),
  /** Drained by an operator: registered and configured, but in no endpoint list until undrained. */
  drained: Type.Optional(Type.Boolean()),
  /** When the proxy last registered or heartbeat, as an ISO time. */
  lastSeen: Type.String(),
});
export type ProxyView = Static<typeof ProxyView>;

export const ProxyList = Type.Array(ProxyView);
export type ProxyList = Static<typeof ProxyList>;

/** The answer to a drain or undrain (POST / DELETE /api/v1/proxies/:instance/drain). */
export const DrainState = Type.Object({ instance: InstanceName, drained: Type.Boolean() }, { additionalProperties: false });
export type DrainState = Static<typeof DrainState>;
