// The config versions a control plane has applied (GET /api/v1/config/history, /config/versions/:version).
import { MeshConfigSchema } from '@meshcart/mesh-config';
import { Type, type Static } from '@sinclair/typebox';

/** A content hash, or a prefix of one long enough to name a version. */
export const ConfigVersion = Type.String({ pattern: '^[0-9a-f]{4,16}$' });

/** One applied version without its config: a line of the history. */
export const HistoryVersion = Type.Object({
  seq: Type.Integer(),
  /** Content hash: the same config is the same version everywhere. */
  version: Type.String(),
  profile: Type.String(),
  appliedAt: Type.String(),
  /** What applied it: a profile file, `meshctl apply`, a fault, a rollback. */
  source: Type.String(),
  /** Who applied it (the operator, or a workload's identity); absent for a profile file read at start. */
  by: Type.Optional(Type.String()),
});
export type HistoryVersion = Static<typeof HistoryVersion>;

export const HistoryEntry = Type.Object({ ...HistoryVersion.properties, config: MeshConfigSchema });
export type HistoryEntry = Static<typeof HistoryEntry>;

export const VersionParams = Type.Object({ version: ConfigVersion });
export type VersionParams = Static<typeof VersionParams>;

/** GET /api/v1/config/history: oldest first, the last one in force. */
export const ConfigHistory = Type.Array(HistoryVersion);
export type ConfigHistory = Static<typeof ConfigHistory>;
