// Kubernetes attestation: a pod proves which ServiceAccount it runs as with its projected
// ServiceAccount token (audience MeshCart, a few minutes' life), which the control plane verifies
// offline against the cluster's service-account issuer: its OIDC discovery document and JWKS,
// fetched from the API server (or wherever the issuer publishes them) and cached.
import { EnvError } from '@meshcart/service-kit';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JSONWebKeySet } from 'jose';
import { existsSync, readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';

/** Where Kubernetes mounts a pod's own API credentials (when it mounts them). */
export const IN_CLUSTER_CA_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
export const IN_CLUSTER_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';
export const DEFAULT_AUDIENCE = 'meshcart';

export type ServiceAccountTokenErrorCode =
  /** Not a compact JWS: three base64url parts. */
  | 'MESH_ERR_SA_TOKEN_MALFORMED'
  | 'MESH_ERR_SA_TOKEN_EXPIRED'
  /** nbf or iat in the future. */
  | 'MESH_ERR_SA_TOKEN_NOT_YET_VALID'
  | 'MESH_ERR_SA_TOKEN_AUDIENCE'
  | 'MESH_ERR_SA_TOKEN_ISSUER'
  /** Not signed by any of the cluster issuer's keys. */
  | 'MESH_ERR_SA_TOKEN_SIGNATURE'
  /** No expiry, or a lifetime longer than a projected token's. */
  | 'MESH_ERR_SA_TOKEN_LIFETIME'
  /** Signed by the cluster but without the claims of a projected pod token. */
  | 'MESH_ERR_SA_TOKEN_CLAIMS'
  /** The issuer's keys could not be had: nothing is known about the token (503, not 401). */
  | 'MESH_ERR_SA_TOKEN_KEYS_UNAVAILABLE';

/** Every refusal: a stable code, and a message that says what was wrong and what is expected. */
export class ServiceAccountTokenError extends Error {
  override readonly name = 'ServiceAccountTokenError';
  /** 401 for a token refused; 503 when the issuer's keys are out of reach. */
  readonly statusCode: 401 | 503;
  constructor(
    readonly code: ServiceAccountTokenErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.statusCode = code === 'MESH_ERR_SA_TOKEN_KEYS_UNAVAILABLE' ? 503 : 401;
  }
}

export interface ServiceAccountTokensOptions {
  /** The cluster's service-account issuer: `iss` of its tokens (`kubectl get --raw /.well-known/openid-configuration`). */
  issuer: string;
  /** The audience the pods' projected tokens are requested for (meshcart). */
  audience: string;
  /** The JWKS to verify with; by default the `jwks_uri` of `${issuer}/.well-known/openid-configuration`. */
  jwksUrl?: string;
  /** A CA (PEM) trusted besides Node's own roots for HTTPS fetches; default the pod's cluster CA if mounted. */
  caFile?: string;
  /** A token presented when the issuer's endpoints answer 401/403 without one (HTTPS only); default the pod's own, if mounted. */
  bearerFile?: string;
  /** Clock skew allowed on exp, nbf and iat (default 5 s). */
  clockToleranceSec?: number;
  /** Longest lifetime (exp − iat) accepted (default 24 h): legacy and long-lived tokens are refused. */
  maxLifetimeSec?: number;
  /** A token with an unknown key id refetches the keys at most this often (default 10 s). */
  refetchIntervalMs?: number;
  /** Keys older than this are fetched again, so a key the cluster dropped stops working (default 10 min). */
  maxKeyAgeMs?: number;
  /** Per fetch (default 5 s). */
  timeoutMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/** Who a verified token says the caller is. */
export interface ServiceAccountIdentity {
  namespace: string;
  serviceAccount: string;
  podName?: string;
  expiresAt: Date;
}

/** The algorithms a Kubernetes API server signs with (RSA or ECDSA keys); never HMAC or none. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'];
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** RFC 1123 label (a namespace) and subdomain (a ServiceAccount name), as Kubernetes validates them. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** `iss` of the Secret-based tokens Kubernetes made before bound tokens: they never expire. */
const LEGACY_ISSUER = 'kubernetes/serviceaccount';
const MAX_BODY_BYTES = 1024 * 1024;

const iso = (epochSec: number) => new Date(epochSec * 1000).toISOString();
const quoteList = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map((a) => JSON.stringify(a)).join(', ') || 'none';

interface KeySet {
  verify: ReturnType<typeof createLocalJWKSet>;
  fetchedAt: number;
  url: string;
}

export class ServiceAccountTokens {
  readonly issuer: string;
  readonly audience: string;
  /** How many times the keys were fetched; visible so tests can check the refetch limit. */
  fetchCount = 0;
  private readonly clockTolerance: number;
  private readonly maxLifetime: number;
  private readonly refetchIntervalMs: number;
  private readonly maxKeyAgeMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly jwksUrl: string | undefined;
  private readonly bearerFile: string | undefined;
  private readonly agent: Agent;
  /** Origins that answered 401/403 without a credential: asked with one from then on. */
  private readonly authOrigins = new Set<string>();
  private keys: KeySet | undefined;
  private fetching: Promise<KeySet> | undefined;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;

  constructor(opts: ServiceAccountTokensOptions) {
    this.issuer = opts.issuer;
    this.audience = opts.audience;
    this.clockTolerance = opts.clockToleranceSec ?? 5;
    this.maxLifetime = opts.maxLifetimeSec ?? 24 * 3600;
    this.refetchIntervalMs = opts.refetchIntervalMs ?? 10_000;
    this.maxKeyAgeMs = opts.maxKeyAgeMs ?? 10 * 60_000;
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.now = opts.now ?? Date.now;
    this.jwksUrl = opts.jwksUrl;
    this.bearerFile = opts.bearerFile ?? (existsSync(IN_CLUSTER_TOKEN_FILE) ? IN_CLUSTER_TOKEN_FILE : undefined);
    const caFile = opts.caFile ?? (existsSync(IN_CLUSTER_CA_FILE) ? IN_CLUSTER_CA_FILE : undefined);
    let ca: string[] | undefined;
    if (caFile) {
      try {
        ca = [...rootCertificates, readFileSync(caFile, 'utf8')];
      } catch (err) {
        throw new Error(`cannot read the CA file ${caFile} for the service-account issuer: ${(err as Error).message}`, { cause: err });
      }
    }
    // The cluster CA in addition to the public roots: an in-cluster API server and a public issuer both work.
    this.agent = new Agent({ connect: ca ? { ca } : {}, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
  }

  /** Verifies a projected ServiceAccount token; throws ServiceAccountTokenError saying why it is refused. */
  async verify(token: string): Promise<ServiceAccountIdentity> {
    const { header, claims } = this.decode(token);
    if (!ALGORITHMS.includes(String(header.alg))) {
      throw new ServiceAccountTokenError(
        'MESH_ERR_SA_TOKEN_SIGNATURE',
        `the ServiceAccount token is signed with ${JSON.stringify(header.alg)}; a Kubernetes issuer signs with one of ${ALGORITHMS.join(', ')}`,
      );
    }
    if (claims.iss === LEGACY_ISSUER) {
      throw new ServiceAccountTokenError(
        'MESH_ERR_SA_TOKEN_LIFETIME',
        `this is a legacy Secret-based ServiceAccount token (issuer "${LEGACY_ISSUER}"), which never expires; present the pod's projected token (a serviceAccountToken volume with audience "${this.audience}" and expirationSeconds of a few minutes)`,
      );
    }
    // Before any key is fetched: a token of another issuer cannot make the control plane call out.
    if (claims.iss !== this.issuer) {
      throw new ServiceAccountTokenError(
        'MESH_ERR_SA_TOKEN_ISSUER',
        `the ServiceAccount token was issued by ${claims.iss === undefined ? 'no issuer (no iss claim)' : JSON.stringify(claims.iss)}, not by this cluster's service-account issuer ${JSON.stringify(this.issuer)} (MESH_K8S_TOKEN_ISSUER; \`kubectl get --raw /.well-known/openid-configuration\` shows the cluster's)`,
      );
    }

    let payload: JWTPayload;
    try {
      payload = await this.verifySignatureAndClaims(token, await this.keySet(false));
    } catch (err) {
      // An unknown key id: the cluster may have rotated its signing key. Fetch the keys once more.
      if (!(err instanceof errors.JWKSNoMatchingKey) || this.now() - this.lastAttemptAt < this.refetchIntervalMs) throw this.refusal(err, header);
      try {
        payload = await this.verifySignatureAndClaims(token, await this.keySet(true));
      } catch (again) {
        throw this.refusal(again, header);
      }
    }
    return this.identity(payload);
  }

  /** Closes the connections to the issuer. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  private decode(token: string) {
    if (typeof token !== 'string' || !COMPACT_JWS.test(token)) {
      const parts = typeof token === 'string' && token.length > 0 ? token.split('.').length : 0;
      throw new ServiceAccountTokenError(
        'MESH_ERR_SA_TOKEN_MALFORMED',
        `the credential is not a JWT (${parts === 0 ? 'empty' : `${parts} part${parts === 1 ? '' : 's'} of ${token.length} characters`}); expected a projected ServiceAccount token: three base64url parts separated by dots, as the kubelet writes to the pod's token file`,
      );
    }
    try {
      return { header: decodeProtectedHeader(token), claims: decodeJwt(token) };
    } catch (err) {
      throw new ServiceAccountTokenError(
        'MESH_ERR_SA_TOKEN_MALFORMED',
        `the credential is not a JWT: its header or claims are not base64url JSON objects (${(err as Error).message}); expected a projected ServiceAccount token`,
        { cause: err },
      );
    }
  }

  private async verifySignatureAndClaims(token: string, keys: KeySet): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, keys.verify, {
      issuer: this.issuer,
      audience: this.audience,
      algorithms: ALGORITHMS,
      clockTolerance: this.clockTolerance,
      currentDate: new Date(this.now()),
      requiredClaims: ['exp'],
    });
    return payload;
  }

  /** A jose failure as the refusal a caller can act on. */
  private refusal(err: unknown, header: { kid?: string; alg?: string }): Error {
    if (err instanceof ServiceAccountTokenError) return err;
    const url = this.keys?.url ?? 'the issuer';
    if (err instanceof errors.JWKSNoMatchingKey) {
      return new ServiceAccountTokenError(
        'MESH_ERR_SA_TOKEN_SIGNATURE',
        `the ServiceAccount token's key ${header.kid === undefined ? '(no kid)' : JSON.stringify(header.kid)} is not among the cluster issuer's keys (${url}): it was not signed by this cluster's service-account issuer`,
        { cause: err },
      );
    }
    if (
      err instanceof errors.JWSSignatureVerificationFailed ||
      err instanceof errors.JOSEAlgNotAllowed ||
      err instanceof errors.JWKSMultipleMatchingKeys
    ) {
      return new ServiceAccountTokenError(
        'MESH_ERR_SA_TOKEN_SIGNATURE',
        `the ServiceAccount token's signature does not verify with the cluster issuer's keys (${url}): it was not signed by this cluster's service-account issuer`,
        { cause: err },
      );
    }
    if (err instanceof errors.JWTExpired) {
      const exp = Number(err.payload['exp']);
      const ago = Math.round(this.now() / 1000 - exp);
      return new ServiceAccountTokenError(
        'MESH_ERR_SA_TOKEN_EXPIRED',
        `the ServiceAccount token expired at ${iso(exp)} (${ago} s ago); the kubelet refreshes the projected token file before it expires, so read the file again for each request rather than keeping its content`,
        { cause: err },
      );
    }
    if (err instanceof errors.JWTClaimValidationFailed) {
      const p = err.payload;
      if (err.claim === 'aud') {
        return new ServiceAccountTokenError(
          'MESH_ERR_SA_TOKEN_AUDIENCE',
          `the ServiceAccount token is for audience ${quoteList(p['aud'])}, but the control plane requires ${JSON.stringify(this.audience)}: project the token with \`serviceAccountToken: { audience: ${this.audience} }\` (a token for the API server must not be replayable here)`,
          { cause: err },
        );
      }
      if (err.claim === 'exp') {
        return new ServiceAccountTokenError(
          'MESH_ERR_SA_TOKEN_LIFETIME',
          `the ServiceAccount token has no expiry (exp); expected a projected token, which expires within ${this.maxLifetime} s`,
          { cause: err },
        );
      }
      if (err.claim === 'nbf') {
        return new ServiceAccountTokenError(
          'MESH_ERR_SA_TOKEN_NOT_YET_VALID',
          `the ServiceAccount token is not valid before ${iso(Number(p['nbf']))}; check the clocks of the node and the control plane`,
          { cause: err },
        );
      }
      return new ServiceAccountTokenError('MESH_ERR_SA_TOKEN_CLAIMS', `the ServiceAccount token's ${err.claim} claim is refused: ${err.message}`, {
        cause: err,
      });
    }
    if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid) {
      return new ServiceAccountTokenError('MESH_ERR_SA_TOKEN_MALFORMED', `the ServiceAccount token is not a valid JWT: ${err.message}`, {
        cause: err,
      });
    }
    // Any other jose failure (a key of a type the token's alg cannot use, …): not verified by the cluster's keys.
    if (err instanceof errors.JOSEError) {
      return new ServiceAccountTokenError(
        'MESH_ERR_SA_TOKEN_SIGNATURE',
        `the ServiceAccount token does not verify with the cluster issuer's keys (${url}): ${err.message}`,
        { cause: err },
      );
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  /** The caller's identity from a token whose signature, issuer, audience and time checked out. */
  private identity(p: JWTPayload): ServiceAccountIdentity {
    const now = this.now() / 1000;
    if (typeof p.exp !== 'number') {
      throw new ServiceAccountTokenError(
        'MESH_ERR_SA_TOKEN_LIFETIME',
        `the ServiceAccount token has no expiry (exp); expected a projected token, which expires within ${this.maxLifetime} s`,
      );
    }
    const exp = p.exp;
    if (typeof p.iat === 'number' && p.iat > now + this.clockTolerance) {
      throw new ServiceAccountTokenError(
        'MESH_ERR_SA_TOKEN_NOT_YET_VALID',
        `the ServiceAccount token was issued in the future (${iso(p.iat)}); check the clocks of the node and the control plane`,
      );
    }
    const lifetime = typeof p.iat === 'number' ? exp - p.iat : exp - now;
    if (lifetime > this.maxLifetime || exp - now > this.maxLifetime) {
      throw new ServiceAccountTokenError(
        'MESH_ERR_SA_TOKEN_LIFETIME',
        `the ServiceAccount token lives ${Math.round(lifetime)} s (until ${iso(exp)}); at most ${this.maxLifetime} s is accepted: project it with a short expirationSeconds (MeshCart's manifests use 600)`,
      );
    }
    const k8s = p['kubernetes.io'] as { namespace?: unknown; serviceaccount?: { name?: unknown }; pod?: { name?: unknown } } | undefined;
    const namespace = k8s?.namespace;
    const serviceAccount = k8s?.serviceaccount?.name;
    if (typeof namespace !== 'string' || typeof serviceAccount !== 'string') {
      throw new ServiceAccountTokenError(
        'MESH_ERR_SA_TOKEN_CLAIMS',
        'the ServiceAccount token has no "kubernetes.io" claim with namespace and serviceaccount.name; expected a token the API server issued for a pod (a projected serviceAccountToken volume)',
      );
    }
    if (!DNS_LABEL.test(namespace) || serviceAccount.length > 253 || !DNS_SUBDOMAIN.test(serviceAccount)) {
      throw new ServiceAccountTokenError(
        'MESH_ERR_SA_TOKEN_CLAIMS',
        `the ServiceAccount token names namespace ${JSON.stringify(namespace)} and ServiceAccount ${JSON.stringify(serviceAccount)}, which are not valid Kubernetes names (a DNS label and a DNS subdomain)`,
      );
    }
    const subject = `system:serviceaccount:${namespace}:${serviceAccount}`;
    if (p.sub !== subject) {
      throw new ServiceAccountTokenError(
        'MESH_ERR_SA_TOKEN_CLAIMS',
        `the ServiceAccount token's subject ${JSON.stringify(p.sub)} disagrees with its "kubernetes.io" claim, which names ${JSON.stringify(subject)}`,
      );
    }
    const podName = k8s?.pod?.name;
    return { namespace, serviceAccount, ...(typeof podName === 'string' ? { podName } : {}), expiresAt: new Date(exp * 1000) };
  }

  /** The issuer's keys: cached, fetched when missing or old, or again (force) for an unknown key id. */
  private async keySet(force: boolean): Promise<KeySet> {
    const cached = this.keys;
    if (cached && !force && this.now() - cached.fetchedAt < this.maxKeyAgeMs) return cached;
    try {
      return await this.refresh();
    } catch (err) {
      // Keys past their age still verify while the issuer is out of reach; an unknown kid cannot.
      if (cached && !force) return cached;
      throw err;
    }
  }

  /** One fetch at a time: a burst of requests after a key rotation shares it. */
  private refresh(): Promise<KeySet> {
    this.fetching ??= this.fetchKeys().finally(() => (this.fetching = undefined));
    return this.fetching;
  }

  private async fetchKeys(): Promise<KeySet> {
    this.lastAttemptAt = this.now();
    this.fetchCount++;
    const url = this.jwksUrl ?? (await this.discoverJwksUrl());
    const body = await this.getJson(url, 'JWKS');
    const keys = (body as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) throw unavailable(`the JWKS at ${url} has no "keys" array`);
    let verify: KeySet['verify'];
    try {
      verify = createLocalJWKSet(body as JSONWebKeySet);
    } catch (err) {
      throw unavailable(`the JWKS at ${url} is not a JSON Web Key Set: ${(err as Error).message}`, err);
    }
    this.keys = { verify, fetchedAt: this.now(), url };
    return this.keys;
  }

  private async discoverJwksUrl(): Promise<string> {
    const url = `${this.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const doc = (await this.getJson(url, 'OIDC discovery document')) as { issuer?: unknown; jwks_uri?: unknown } | null;
    if (doc?.issuer !== this.issuer) {
      throw unavailable(
        `the OIDC discovery document at ${url} names issuer ${JSON.stringify(doc?.issuer)}, not ${JSON.stringify(this.issuer)}: set MESH_K8S_TOKEN_ISSUER to the cluster's issuer (\`kubectl get --raw /.well-known/openid-configuration\`)`,
      );
    }
    if (typeof doc.jwks_uri !== 'string' || !/^https?:\/\//.test(doc.jwks_uri)) {
      throw unavailable(`the OIDC discovery document at ${url} has no http(s) jwks_uri; set MESH_K8S_JWKS_URL to the issuer's JWKS`);
    }
    return doc.jwks_uri;
  }

  /**
   * GET a JSON document. The API server answers its discovery endpoints only to authenticated
   * callers by default (the system:service-account-issuer-discovery ClusterRole is bound to every
   * ServiceAccount, not to anonymous users), so a 401/403 is asked again with the control plane's
   * own token: over HTTPS only, and never to a redirect.
   */
  private async getJson(url: string, what: string): Promise<unknown> {
    const u = new URL(url);
    let withToken = this.authOrigins.has(u.origin);
    let res = await this.get(u, withToken, what);
    if ((res.status === 401 || res.status === 403) && !withToken && u.protocol === 'https:' && this.bearerFile) {
      withToken = true;
      res = await this.get(u, true, what);
      if (res.status === 200) this.authOrigins.add(u.origin);
    }
    if (res.status !== 200) {
      let hint = '';
      if (res.status === 401 || res.status === 403) {
        if (!withToken)
          hint = this.bearerFile
            ? ': it asks for a credential, which the control plane sends only over HTTPS'
            : `: it asks for a credential; mount the control plane's own ServiceAccount token and set MESH_K8S_BEARER_FILE (default ${IN_CLUSTER_TOKEN_FILE})`;
        else if (res.status === 401) hint = `: it refused the control plane's token from ${this.bearerFile}`;
        else
          hint = `: the control plane's ServiceAccount may not read it; the default binding of the system:service-account-issuer-discovery ClusterRole to all ServiceAccounts was removed? Bind it: kubectl create clusterrolebinding meshcart-issuer-discovery --clusterrole=system:service-account-issuer-discovery --serviceaccount=<namespace>:control-plane`;
      }
      throw unavailable(`the ${what} at ${url} answered ${res.status}${hint}`);
    }
    try {
      return JSON.parse(res.body);
    } catch (err) {
      throw unavailable(`the ${what} at ${url} is not JSON`, err);
    }
  }

  private async get(u: URL, withToken: boolean, what: string): Promise<{ status: number; body: string }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (withToken && this.bearerFile) {
      try {
        // Read each time: the kubelet rotates the file.
        headers['authorization'] = `Bearer ${readFileSync(this.bearerFile, 'utf8').trim()}`;
      } catch (err) {
        throw unavailable(`cannot read the control plane's token ${this.bearerFile} (MESH_K8S_BEARER_FILE): ${(err as Error).message}`, err);
      }
    }
    try {
      const res = await request(u, { method: 'GET', headers, dispatcher: this.agent, signal: AbortSignal.timeout(this.timeoutMs) });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) {
          res.body.destroy();
          throw unavailable(`the ${what} at ${u.href} is larger than ${MAX_BODY_BYTES} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
      return { status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') };
    } catch (err) {
      if (err instanceof ServiceAccountTokenError) throw err;
      throw unavailable(`cannot fetch the ${what} from ${u.href}: ${(err as Error).message}`, err);
    }
  }
}

function unavailable(detail: string, cause?: unknown) {
  return new ServiceAccountTokenError(
    'MESH_ERR_SA_TOKEN_KEYS_UNAVAILABLE',
    `cannot verify ServiceAccount tokens: ${detail}`,
    cause === undefined ? undefined : { cause },
  );
}

const HTTP_URL = /^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/;

/**
 * The verifier from the environment, or undefined when MESH_K8S_TOKEN_ISSUER is unset (the feature
 * is off outside Kubernetes):
 * - MESH_K8S_TOKEN_ISSUER: the cluster's service-account issuer URL (turns it on);
 * - MESH_K8S_TOKEN_AUDIENCE: the audience pods project their tokens for (default meshcart);
 * - MESH_K8S_JWKS_URL: the JWKS, instead of the discovery document's jwks_uri;
 * - MESH_K8S_CA_FILE: a CA trusted for the issuer's HTTPS (default the pod's cluster CA if mounted);
 * - MESH_K8S_BEARER_FILE: the control plane's own token for the issuer (default the pod's, if mounted).
 */
export function serviceAccountTokensFromEnv(env: NodeJS.ProcessEnv): ServiceAccountTokens | undefined {
  const issuer = env['MESH_K8S_TOKEN_ISSUER'] ?? '';
  if (issuer === '') {
    const stray = ['MESH_K8S_TOKEN_AUDIENCE', 'MESH_K8S_JWKS_URL', 'MESH_K8S_CA_FILE', 'MESH_K8S_BEARER_FILE'].filter((n) => env[n]);
    if (stray.length > 0)
      throw new EnvError(
        'MESH_K8S_TOKEN_ISSUER',
        '',
        `the cluster's service-account issuer URL, since ${stray.join(', ')} ${stray.length === 1 ? 'is' : 'are'} set`,
      );
    return undefined;
  }
  if (!HTTP_URL.test(issuer))
    throw new EnvError(
      'MESH_K8S_TOKEN_ISSUER',
      issuer,
      'the issuer URL of the cluster\'s ServiceAccount tokens (their "iss"), e.g. https://kubernetes.default.svc.cluster.local; `kubectl get --raw /.well-known/openid-configuration` shows it',
    );
  const audience = env['MESH_K8S_TOKEN_AUDIENCE'] || DEFAULT_AUDIENCE;
  if (!/^[\x21-\x7e]{1,253}$/.test(audience))
    throw new EnvError('MESH_K8S_TOKEN_AUDIENCE', audience, 'one audience, printable and without spaces (the pods project their tokens for it)');
  const jwksUrl = env['MESH_K8S_JWKS_URL'] || undefined;
  if (jwksUrl !== undefined && !HTTP_URL.test(jwksUrl))
    throw new EnvError('MESH_K8S_JWKS_URL', jwksUrl, "an http(s) URL of the issuer's JWKS, e.g. https://kubernetes.default.svc/openid/v1/jwks");
  const file = (name: string, what: string) => {
    const path = env[name] || undefined;
    if (path !== undefined && !existsSync(path)) throw new EnvError(name, path, `an existing file: ${what}`);
    return path;
  };
  const caFile = file('MESH_K8S_CA_FILE', "the PEM CA of the issuer's HTTPS endpoint, e.g. " + IN_CLUSTER_CA_FILE);
  const bearerFile = file('MESH_K8S_BEARER_FILE', "the control plane's own ServiceAccount token, e.g. " + IN_CLUSTER_TOKEN_FILE);
  return new ServiceAccountTokens({
    issuer,
    audience,
    ...(jwksUrl ? { jwksUrl } : {}),
    ...(caFile ? { caFile } : {}),
    ...(bearerFile ? { bearerFile } : {}),
  });
}
