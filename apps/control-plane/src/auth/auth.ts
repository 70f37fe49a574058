// Who may do what on the control plane: each call's caller from its certificate or bearer token, and the refusals that say what was missing.
import { HttpError } from '@meshcart/service-kit';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { TLSSocket } from 'node:tls';
import { spiffeId } from '../certificate-authority';
import type { ControlPlaneMetrics } from '../metrics';
import { accountOf, CONTROL_PLANE_ACCOUNT, describe, type Caller } from './caller';
import { JoinCredentialError, type JoinCredentials } from './join-credentials';
import { ServiceAccountTokenError } from './service-account-tokens';

/** What verifies a Kubernetes projected ServiceAccount token (see service-account-tokens.ts). */
export interface ServiceAccountVerifier {
  verify(token: string): Promise<{ namespace: string; serviceAccount: string }>;
  close(): Promise<void>;
}

export interface AuthOptions {
  /** The operator credential (MESH_OPERATOR_TOKEN, or the 0600 file the control plane writes). */
  operatorToken: string;
  joinCredentials: JoinCredentials;
  /** Kubernetes: workloads present their projected ServiceAccount token. */
  serviceAccounts?: ServiceAccountVerifier;
  /** The trust domain and namespace of SPIFFE IDs, from the config in force. */
  identity: () => { trustDomain: string; namespace: string };
  /** Read-only views need a credential too (MESH_API_READS=authenticated); open otherwise. */
  lockReads?: boolean;
  metrics: ControlPlaneMetrics;
  log: FastifyBaseLogger;
}

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Refusals logged once per caller and reason; after this many distinct ones, the oldest are forgotten. */
const LOGGED_LIMIT = 1_000;

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, resolved before anything else runs. */
    caller: Caller;
  }
}

export class Auth {
  private readonly operator: Buffer;
  /**
   * Certificate serial → the join credential it was issued on (directly, or through the renewals of
   * a certificate that was): revoking the credential ends the say of every certificate it led to.
   * Kept until the certificate expires.
   */
  private readonly issuedOn = new Map<string, { credentialId: string; notAfter: number }>();
  private readonly logged = new Set<string>();

  constructor(private readonly opts: AuthOptions) {
    this.operator = Buffer.from(opts.operatorToken);
  }

  get lockReads(): boolean {
    return this.opts.lockReads ?? false;
  }

  /** Records which join credential a certificate was issued on. */
  issued(serialNumber: string, notAfter: Date, caller: Caller): void {
    if (caller.kind !== 'workload' || !caller.credentialId) return;
    const now = Date.now();
    for (const [serial, entry] of this.issuedOn) if (entry.notAfter < now) this.issuedOn.delete(serial);
    this.issuedOn.set(serialKey(serialNumber), { credentialId: caller.credentialId, notAfter: notAfter.getTime() });
  }

  /** The caller of a request: its verified certificate first, then its bearer token. */
  async resolve(req: FastifyRequest): Promise<Caller> {
    const socket = req.raw.socket;
    if (socket instanceof TLSSocket && socket.authorized) {
      const cert = socket.getPeerCertificate();
      const id = (cert.subjectaltname ?? '')
        .split(', ')
        .find((n) => n.startsWith('URI:'))
        ?.slice(4);
      const { trustDomain, namespace } = this.opts.identity();
      const account = accountOf(id, trustDomain, namespace);
      if (!id || !account)
        return {
          kind: 'anonymous',
          problem: `the client certificate's identity (${id ?? 'none'}) is not of spiffe://${trustDomain}/ns/${namespace}`,
        };
      if (account === CONTROL_PLANE_ACCOUNT) return { kind: 'replica', spiffeId: id };
      const credentialId = this.issuedOn.get(serialKey(cert.serialNumber))?.credentialId;
      if (credentialId && this.opts.joinCredentials.isRevoked(credentialId))
        return { kind: 'anonymous', problem: `the client certificate was issued on join credential ${credentialId}, since revoked` };
      return { kind: 'workload', service: account, spiffeId: id, via: 'certificate', ...(credentialId ? { credentialId } : {}) };
    }
    const header = req.headers.authorization;
    if (!header) return { kind: 'anonymous' };
    const token = /^Bearer (.+)$/.exec(header)?.[1]?.trim();
    if (!token) return { kind: 'anonymous', problem: 'the Authorization header is not "Bearer <token>"' };
    const given = Buffer.from(token);
    if (given.length === this.operator.length && timingSafeEqual(given, this.operator)) return { kind: 'operator' };
    const { trustDomain, namespace } = this.opts.identity();
    if (JWT.test(token) && this.opts.serviceAccounts) {
      try {
        const sa = await this.opts.serviceAccounts.verify(token);
        if (sa.namespace !== namespace)
          return {
            kind: 'anonymous',
            problem: `the ServiceAccount token is for namespace ${sa.namespace}; this mesh's workloads are in ${namespace}`,
          };
        return {
          kind: 'workload',
          service: sa.serviceAccount,
          spiffeId: spiffeId(trustDomain, namespace, sa.serviceAccount),
          via: 'service-account-token',
        };
      } catch (err) {
        // The cluster's keys out of reach is this control plane's trouble, not the caller's: 503, retried.
        if (err instanceof ServiceAccountTokenError && err.statusCode === 503) throw new HttpError(503, err.code, err.message);
        return { kind: 'anonymous', problem: `the ServiceAccount token was refused: ${(err as Error).message}` };
      }
    }
    try {
      const c = this.opts.joinCredentials.verify(token);
      return {
        kind: 'workload',
        service: c.service,
        spiffeId: spiffeId(trustDomain, namespace, c.service),
        via: 'join-credential',
        credentialId: c.id,
      };
    } catch (err) {
      if (err instanceof JoinCredentialError) return { kind: 'anonymous', problem: err.message };
      throw err;
    }
  }

  /** For calls only an operator may make (`action` names the call in the refusal). */
  operatorOnly(action: string) {
    return async (req: FastifyRequest): Promise<void> => {
      if (req.caller.kind !== 'operator') throw this.refuse(req, action, 'only an operator may do this');
    };
  }

  /** For calls between control-plane replicas. */
  replicaOnly(action: string) {
    return async (req: FastifyRequest): Promise<void> => {
      if (req.caller.kind !== 'replica')
        throw this.refuse(req, action, `only a replica of this control plane (its certificate, sa/${CONTROL_PLANE_ACCOUNT}) may do this`);
    };
  }

  /** For read-only views: open unless reads are locked, then any authenticated caller. */
  reader(action: string) {
    return async (req: FastifyRequest): Promise<void> => {
      if (this.lockReads && req.caller.kind === 'anonymous')
        throw this.refuse(req, action, 'reads need a credential here (MESH_API_READS=authenticated)');
    };
  }

  /**
   * For a workload's own calls: the caller must be a workload of `service` (or, when `operatorToo`,
   * an operator). `service` undefined: any workload.
   */
  workloadOf(req: FastifyRequest, action: string, service: string | undefined, operatorToo = false): void {
    const c = req.caller;
    if (operatorToo && c.kind === 'operator') return;
    if (c.kind === 'workload' && (service === undefined || c.service === service)) return;
    if (c.kind === 'workload') throw this.refuse(req, action, `${c.spiffeId} is ${c.service} and may act only for ${c.service}, not for ${service}`);
    throw this.refuse(req, action, service ? `only a workload of ${service} may do this` : 'only a workload of the mesh may do this');
  }

  /**
   * The refusal for `req`: 401 when the caller proved nothing (saying which credential is needed and,
   * for a refused one, why), 403 when its identity may not do `action`. Counted every time, logged
   * once per caller and reason.
   */
  refuse(req: FastifyRequest, action: string, rule: string): HttpError {
    const c = req.caller;
    const needs =
      'an operator credential (Authorization: Bearer <token>; meshctl reads .data/operator-token, or --token / MESHCTL_TOKEN), ' +
      'a workload certificate (mTLS to the control plane) or a join credential';
    const error =
      c.kind === 'anonymous'
        ? new HttpError(
            401,
            c.problem ? 'CREDENTIAL_REFUSED' : 'CREDENTIAL_REQUIRED',
            `${action}: ${c.problem ?? `no credential; this needs ${needs}`}. ${rule}`,
            undefined,
            {
              'www-authenticate': 'Bearer',
            },
          )
        : new HttpError(403, 'FORBIDDEN', `${action}: ${describe(c)} may not: ${rule}`);
    this.opts.metrics.refusals.inc({ status: String(error.statusCode), code: error.code, action });
    const key = `${describe(c)}|${req.ip}|${error.code}|${action}`;
    if (!this.logged.has(key)) {
      if (this.logged.size >= LOGGED_LIMIT) this.logged.delete(this.logged.values().next().value!);
      this.logged.add(key);
      this.opts.log.warn({ caller: describe(c), from: req.ip, status: error.statusCode, code: error.code, action }, `refused: ${error.message}`);
    }
    return error;
  }
}

/** A serial number as one key whoever printed it: hex, lower case, no leading zeros (DER pads a high bit with one). */
const serialKey = (serial: string) => serial.toLowerCase().replace(/^0+/, '');
