// The push stream (GET /api/v1/proxies/:instance/stream): one JSON message per line, and the proxy's ACK or NACK of each.
import { EndpointsSnapshot, ResourcesSnapshot } from '@meshcart/mesh-config';
import { Type, type Static } from '@sinclair/typebox';

/** The control plane sends a ping line this often; a proxy that hears nothing for three times as long gives up on it. */
export const STREAM_PING_MS = 5_000;

export const ResourcesPush = Type.Object({ type: Type.Literal('resources'), ...ResourcesSnapshot.properties });
export type ResourcesPush = Static<typeof ResourcesPush>;

export const EndpointsPush = Type.Object({
  type: Type.Literal('endpoints'),
  ...EndpointsSnapshot.properties,
  /** False during a control plane's first lease after it starts: instances may still be re-registering. */
  complete: Type.Optional(Type.Boolean()),
});
export type EndpointsPush = Static<typeof EndpointsPush>;

export const Ping = Type.Object({ type: Type.Literal('ping') });
export type Ping = Static<typeof Ping>;

export const PushMessage = Type.Union([ResourcesPush, EndpointsPush, Ping]);
export type PushMessage = Static<typeof PushMessage>;

/** What a proxy ACKs or NACKs: the two kinds of snapshot. */
export const PushKind = Type.Union([Type.Literal('resources'), Type.Literal('endpoints')]);
export type PushKind = Static<typeof PushKind>;

/** What a proxy answers to each push (POST /api/v1/proxies/:instance/acks). */
export const PushAck = Type.Object(
  {
    kind: PushKind,
    /** The version now in force: the pushed one on ACK, the kept one on NACK. */
    version: Type.String(),
    /** Set on NACK: why the pushed version was refused. */
    error: Type.Optional(Type.String()),
    rejectedVersion: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type PushAck = Static<typeof PushAck>;

/** A proxy's last answer to one kind of push, as the control plane keeps and shows it. */
export const AckState = Type.Object(
  {
    version: Type.String(),
    acked: Type.Boolean(),
    at: Type.String(),
    error: Type.Optional(Type.String()),
    rejectedVersion: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type AckState = Static<typeof AckState>;
