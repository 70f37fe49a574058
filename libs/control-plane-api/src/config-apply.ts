// The config lifecycle (meshctl apply / diff / rollback / profile use): what is in force, and changing it.
import { ConfigChange, MeshConfigSchema } from '@meshcart/mesh-config';
import { Type, type Static } from '@sinclair/typebox';
import { ConfigVersion } from './history-entry';

/** GET /api/v1/config */
export const CurrentConfig = Type.Object({ profile: Type.String(), config: MeshConfigSchema, version: Type.String() });
export type CurrentConfig = Static<typeof CurrentConfig>;

/** POST /api/v1/config: a whole MeshConfig as YAML, validated whole before anything changes. */
export const ApplyConfigBody = Type.Object(
  { yaml: Type.String({ minLength: 1, maxLength: 1_000_000 }), source: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);
export type ApplyConfigBody = Static<typeof ApplyConfigBody>;

export const DryRunQuery = Type.Object({ dryRun: Type.Optional(Type.Boolean()) });
export type DryRunQuery = Static<typeof DryRunQuery>;

/** What a dry run would change, against the version in force (`from`); nothing is applied. */
export const ConfigDryRun = Type.Object({ dryRun: Type.Literal(true), from: Type.String(), changes: Type.Array(ConfigChange) });
export type ConfigDryRun = Static<typeof ConfigDryRun>;

/** A change applied (apply, rollback, profile switch): the version now in force and every knob it changed. */
export const ConfigApplied = Type.Object({ version: Type.String(), seq: Type.Integer(), changes: Type.Array(ConfigChange) });
export type ConfigApplied = Static<typeof ConfigApplied>;

export const ApplyReply = Type.Union([ConfigDryRun, ConfigApplied]);
export type ApplyReply = Static<typeof ApplyReply>;

/** POST /api/v1/config/rollback */
export const RollbackBody = Type.Object({ to: ConfigVersion }, { additionalProperties: false });
export type RollbackBody = Static<typeof RollbackBody>;

/** POST /api/v1/config/profile: apply deploy/mesh/<profile>.yaml. */
export const ProfileSwitchBody = Type.Object({ profile: Type.String({ minLength: 1, maxLength: 63 }) }, { additionalProperties: false });
export type ProfileSwitchBody = Static<typeof ProfileSwitchBody>;

/** GET /api/v1/profiles/:profile answers the profile's MeshConfig, without applying it. */
export const ProfileParams = Type.Object({ profile: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' }) });
export type ProfileParams = Static<typeof ProfileParams>;
