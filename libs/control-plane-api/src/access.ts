// Who may change the mesh: join credentials (meshctl join) and the audit trail of every change (meshctl history --audit).
import { ServiceName } from '@meshcart/mesh-config';
import { Type, type Static } from '@sinclair/typebox';

export const JoinCredential = Type.Object({
  /** The first 12 hex characters of the credential's SHA-256: how it is named without being shown. */
  id: Type.String(),
  service: Type.String(),
  origin: Type.Union([Type.Literal('environment'), Type.Literal('created')]),
  createdAt: Type.String(),
  revokedAt: Type.Optional(Type.String()),
});
export type JoinCredential = Static<typeof JoinCredential>;

export const JoinCredentialList = Type.Array(JoinCredential);
export type JoinCredentialList = Static<typeof JoinCredentialList>;

export const JoinCreateBody = Type.Object({ service: ServiceName }, { additionalProperties: false });
export type JoinCreateBody = Static<typeof JoinCreateBody>;

/** The token is shown in this answer only; the control plane keeps its hash. */
export const JoinCreated = Type.Object({ token: Type.String(), credential: JoinCredential });
export type JoinCreated = Static<typeof JoinCreated>;

/** Revoke one credential by id (or an unambiguous prefix), or every credential of a service. */
export const JoinRevokeBody = Type.Union([
  Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{4,12}$' }) }, { additionalProperties: false }),
  Type.Object({ service: ServiceName }, { additionalProperties: false }),
]);
export type JoinRevokeBody = Static<typeof JoinRevokeBody>;

export const JoinRevoked = Type.Object({ revoked: Type.Array(JoinCredential) });
export type JoinRevoked = Static<typeof JoinRevoked>;

/** One change made through the control plane: who, what, and the config version before and after. */
export const AuditEntry = Type.Object({
  at: Type.String(),
  /** `operator`, a workload's SPIFFE ID, or `replica <SPIFFE ID>`. */
  by: Type.String(),
  /** e.g. `config apply`, `fault set order-service`, `drain product-service-2`, `join revoke 3fa2…`. */
  action: Type.String(),
  /** Config version before and after, for changes to the config. */
  before: Type.Optional(Type.String()),
  after: Type.Optional(Type.String()),
});
export type AuditEntry = Static<typeof AuditEntry>;

export const AuditTrail = Type.Array(AuditEntry);
export type AuditTrail = Static<typeof AuditTrail>;

/**
 * GET /api/v1/mtls: where the control plane's mTLS port is (proxies with a certificate and replicas
 * use it), and the SHA-256 of its CA root, so a replica of another root is told so before a handshake
 * fails for it.
 */
export const ControlPlaneMtls = Type.Object({ port: Type.Integer({ minimum: 0, maximum: 65535 }), ca: Type.String({ pattern: '^[0-9a-f]{64}$' }) });
export type ControlPlaneMtls = Static<typeof ControlPlaneMtls>;

/** GET /api/v1/ca/status (meshctl ca status), and the answer to POST /api/v1/ca/rotate. */
export const CaStatus = Type.Object({
  /** steady: one root; staged: a new root trusted beside the signing one; overlap: the new root signs, the old one is still trusted. */
  phase: Type.Union([Type.Literal('steady'), Type.Literal('staged'), Type.Literal('overlap')]),
  trustEpoch: Type.String(),
  roots: Type.Array(
    Type.Object({
      fingerprint: Type.String(),
      subject: Type.String(),
      notAfter: Type.String(),
      role: Type.Union([Type.Literal('signing'), Type.Literal('staged'), Type.Literal('retired')]),
    }),
  ),
  rotation: Type.Object({
    running: Type.Boolean(),
    /** What the running (or last) rotation is doing: which step of three, and what it waits for. */
    step: Type.Optional(Type.String()),
    /** Proxies holding a certificate that have not yet renewed it for the current roots. */
    waitingFor: Type.Array(Type.String()),
    startedAt: Type.Optional(Type.String()),
    finishedAt: Type.Optional(Type.String()),
    error: Type.Optional(Type.String()),
  }),
});
export type CaStatus = Static<typeof CaStatus>;
