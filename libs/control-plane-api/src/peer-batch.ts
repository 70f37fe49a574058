// What control-plane replicas send each other (POST /api/v1/peers/events) and show of each other (GET /api/v1/peers).
import { Type, type Static } from '@sinclair/typebox';
import { HistoryVersion } from './history-entry';
import { Nullable } from './nullable';
import { AckState, PushKind } from './push-message';
import { InstanceName, Registration } from './registration';

/**
 * A config version as replicas pass it on. The config itself is validated whole when adopted, like
 * any other change: one a replica cannot read is refused alone, not with the rest of its batch.
 */
export const PeerConfigEntry = Type.Object({ ...HistoryVersion.properties, config: Type.Unknown() });
export type PeerConfigEntry = Static<typeof PeerConfigEntry>;

export const PeerEvent = Type.Union([
  Type.Object(
    {
      type: Type.Literal('register'),
      registration: Registration,
      /** How long ago the sending replica last heard from the proxy (snapshots). */
      ageMs: Type.Optional(Type.Integer({ minimum: 0 })),
    },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal('leave'), instance: InstanceName }, { additionalProperties: false }),
  /** An operator drained (or undrained) an instance: it stays out of every endpoint list, whatever its heartbeats say. */
  Type.Object({ type: Type.Literal('drain'), instance: InstanceName, drained: Type.Boolean() }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('ack'), instance: InstanceName, kind: PushKind, state: AckState }, { additionalProperties: false }),
  /** `replica` holds (open) or no longer holds (closed) the proxy's push stream. */
  Type.Object(
    { type: Type.Literal('stream'), instance: InstanceName, replica: Type.String(), open: Type.Boolean() },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal('config'), entry: PeerConfigEntry }, { additionalProperties: false }),
]);
export type PeerEvent = Static<typeof PeerEvent>;

export const PeerBatch = Type.Object(
  {
    /** The sending replica's id (a new one on every start). */
    from: Type.String({ minLength: 1, maxLength: 200 }),
    /** SHA-256 of the sender's CA root: replicas with different roots would issue certificates that do not trust each other. */
    ca: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    /**
     * Present when `events` is everything the sender knows, not just what changed: the first batch to
     * a peer, and the first after an error (events may have been lost). `joining`: the sender has not
     * yet settled its config with a running replica; `fileVersions`: the profile-file versions it has
     * applied, so a joining replica can tell a restart (its file is one of them) from a new file;
     * `complete`: the sender's registry holds every live proxy (it is past its first lease).
     */
    snapshot: Type.Optional(
      Type.Object({ joining: Type.Boolean(), fileVersions: Type.Array(Type.String()), complete: Type.Boolean() }, { additionalProperties: false }),
    ),
    events: Type.Array(PeerEvent),
  },
  { additionalProperties: false },
);
export type PeerBatch = Static<typeof PeerBatch>;

export const PeerReply = Type.Object({
  replica: Type.String(),
  /**
   * Config versions this replica refused (invalid here, e.g. a newer replica's schema during an
   * upgrade), with the reason. The rest of the batch is applied: one config this replica cannot
   * read must not stop the registry being shared.
   */
  refused: Type.Optional(Type.Array(Type.Object({ version: Type.String(), error: Type.String() }))),
  /** A joining sender gets the receiver's whole state back at once, so it can settle its config. */
  snapshot: Type.Optional(PeerBatch),
});
export type PeerReply = Static<typeof PeerReply>;

/** GET /api/v1/peers: this replica and its links to the others. */
export const PeersView = Type.Object({
  replica: Type.String(),
  /** False until this replica has compared its config with the running replicas' (or found none). */
  joined: Type.Boolean(),
  peers: Type.Array(
    Type.Object({
      url: Type.String(),
      replica: Nullable(Type.String()),
      state: Type.Union([Type.Literal('self'), Type.Literal('up'), Type.Literal('down')]),
      queued: Type.Integer(),
      batches: Type.Integer(),
      failures: Type.Integer(),
      lastError: Nullable(Type.String()),
    }),
  ),
});
export type PeersView = Static<typeof PeersView>;
