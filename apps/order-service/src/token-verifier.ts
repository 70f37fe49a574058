// Verifies user-service access tokens locally, against its published key set, without a call per request.
import { JWKS_PATH, TOKEN_AUDIENCE, TOKEN_ISSUER } from '@meshcart/contracts';
import { HttpError, MeshCallError, unauthorized, type MeshClient } from '@meshcart/service-kit';
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type LocalJWKSet } from 'jose';

export interface TokenVerifierOptions {
  mesh: MeshClient;
  /** Service that publishes the key set. */
  issuerService?: string;
  /**
   * A token with an unknown kid refetches the key set at most this often: often enough that a
   * restarted user-service's new key works within seconds, rarely enough that forged kids cannot
   * turn every request into a call to user-service.
   */
  refetchIntervalMs?: number;
  timeoutMs?: number;
  now?: () => number;
}

export interface VerifiedToken {
  userId: string;
}

const BEARER = /^Bearer +([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+) *$/i;
const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

export class TokenVerifier {
  private keySet: LocalJWKSet | undefined;
  private lastFetchAt = Number.NEGATIVE_INFINITY;
  private fetching: Promise<LocalJWKSet> | undefined;
  private readonly issuerService: string;
  private readonly refetchIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  /** How many times the key set was fetched; visible so tests can check the refetch limit. */
  fetchCount = 0;

  constructor(private readonly options: TokenVerifierOptions) {
    this.issuerService = options.issuerService ?? 'user-service';
    this.refetchIntervalMs = options.refetchIntervalMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  /** Takes the Authorization header; throws 401 UNAUTHORIZED, or 503 when the key set cannot be had. */
  async verify(authorization: string | undefined): Promise<VerifiedToken> {
    if (!authorization) throw unauthorized('missing Authorization: Bearer token');
    const token = BEARER.exec(authorization)?.[1];
    if (!token) throw unauthorized('Authorization header is not a Bearer JWT');

    let keySet = this.keySet ?? (await this.refresh());
    try {
      return await this.verifyWith(token, keySet);
    } catch (err) {
      // An unknown kid usually means user-service restarted with a new key: fetch it, once.
      if (!(err instanceof errors.JWKSNoMatchingKey) || this.now() - this.lastFetchAt < this.refetchIntervalMs) {
        throw toUnauthorized(err);
      }
    }
    keySet = await this.refresh();
    try {
      return await this.verifyWith(token, keySet);
    } catch (err) {
      throw toUnauthorized(err);
    }
  }

  private async verifyWith(token: string, keySet: LocalJWKSet): Promise<VerifiedToken> {
    const { payload } = await jwtVerify(token, keySet, {
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
      algorithms: ['ES256'],
      requiredClaims: ['sub', 'exp'],
    });
    if (typeof payload.sub !== 'string' || !USER_ID.test(payload.sub)) throw unauthorized('token subject is not a user id');
    return { userId: payload.sub };
  }

  /** One fetch at a time: a burst of requests after a key rotation shares it. */
  private refresh(): Promise<LocalJWKSet> {
    this.fetching ??= this.fetchKeySet().finally(() => (this.fetching = undefined));
    return this.fetching;
  }

  private async fetchKeySet(): Promise<LocalJWKSet> {
    this.lastFetchAt = this.now();
    this.fetchCount += 1;
    let reply;
    try {
      reply = await this.options.mesh.request<JSONWebKeySet>(this.issuerService, { path: JWKS_PATH, timeoutMs: this.timeoutMs });
    } catch (err) {
      if (err instanceof MeshCallError) throw keysUnavailable(`${this.issuerService} did not answer: ${err.message}`);
      throw err;
    }
    if (reply.statusCode !== 200 || !Array.isArray(reply.body?.keys)) {
      throw keysUnavailable(`${this.issuerService} answered ${reply.statusCode} for ${JWKS_PATH}`);
    }
    this.keySet = createLocalJWKSet(reply.body);
    return this.keySet;
  }
}

function keysUnavailable(message: string): HttpError {
  // Not the caller's fault, so not a 401: the token may well be valid.
  return new HttpError(503, 'TOKEN_KEYS_UNAVAILABLE', `cannot verify tokens now: ${message}`, undefined, { 'retry-after': '1' });
}

/** jose's errors become 401s; anything else (a bug) passes through untouched. */
function toUnauthorized(err: unknown): unknown {
  if (err instanceof HttpError) return err;
  if (err instanceof errors.JWTExpired) return unauthorized('token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) return unauthorized(`token claim "${err.claim}" is invalid: ${err.reason}`);
  if (err instanceof errors.JWKSNoMatchingKey) return unauthorized('token is signed with an unknown key');
  if (err instanceof errors.JWSSignatureVerificationFailed) return unauthorized('token signature is invalid');
  if (err instanceof errors.JOSEError) return unauthorized(`token is invalid: ${err.message}`);
  return err;
}
