// One error class per data-plane failure, each with a stable code and the HTTP status a client sees.
export abstract class MeshError extends Error {
  abstract readonly code: string;
  abstract readonly statusCode: number;
  /** Extra response headers, e.g. Retry-After. */
  headers?: Record<string, string>;
}

export class NoRouteError extends MeshError {
  readonly code = 'MESH_ERR_NO_ROUTE';
  readonly statusCode = 404;
}

export class UnknownServiceError extends MeshError {
  readonly code = 'MESH_ERR_UNKNOWN_SERVICE';
  readonly statusCode = 502;
}

export class NoEndpointsError extends MeshError {
  readonly code = 'MESH_ERR_NO_ENDPOINTS';
  readonly statusCode = 503;
}

export class NotReadyError extends MeshError {
  readonly code = 'MESH_ERR_NOT_READY';
  readonly statusCode = 503;
}

export class UpstreamTimeoutError extends MeshError {
  readonly code = 'MESH_ERR_UPSTREAM_TIMEOUT';
  readonly statusCode = 504;
}

export class UpstreamConnectError extends MeshError {
  readonly code = 'MESH_ERR_UPSTREAM_CONNECT';
  readonly statusCode = 503;
}

export class UpstreamResetError extends MeshError {
  readonly code = 'MESH_ERR_UPSTREAM_RESET';
  readonly statusCode = 503;
}

export class BadRequestError extends MeshError {
  readonly code = 'MESH_ERR_BAD_REQUEST';
  readonly statusCode = 400;
}

/** Maps an undici/socket failure to the mesh error a client should see. */
export function fromUpstreamError(err: unknown, target: string, timedOut: boolean): MeshError {
  if (err instanceof MeshError) return err;
  const e = err as { code?: string; message?: string; name?: string };
  if (timedOut) return new UpstreamTimeoutError(`${target} did not answer within the route timeout`);
  switch (e.code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new UpstreamConnectError(`connect to ${target} timed out`);
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
      return new UpstreamConnectError(`cannot connect to ${target}: ${e.code}`);
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return new UpstreamTimeoutError(`${target} timed out (${e.code})`);
    default:
      return new UpstreamResetError(`${target} reset or closed the connection: ${e.code ?? e.name ?? 'error'} ${e.message ?? ''}`.trim());
  }
}

export class CircuitOpenError extends MeshError {
  readonly code = 'MESH_ERR_CIRCUIT_OPEN';
  readonly statusCode = 503;
}

export class OverflowError extends MeshError {
  readonly code = 'MESH_ERR_OVERFLOW';
  readonly statusCode = 503;
}

export class DeadlineExceededError extends MeshError {
  readonly code = 'MESH_ERR_DEADLINE_EXCEEDED';
  readonly statusCode = 504;
}

export class RateLimitedError extends MeshError {
  readonly code = 'MESH_ERR_RATE_LIMITED';
  readonly statusCode = 429;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}

export class ForbiddenError extends MeshError {
  readonly code = 'MESH_ERR_FORBIDDEN';
  readonly statusCode = 403;
}

/** Plaintext (or h2c) to a sidecar whose mesh requires mTLS (PeerAuthentication STRICT). */
export class MtlsRequiredError extends MeshError {
  readonly code = 'MESH_ERR_MTLS_REQUIRED';
  readonly statusCode = 403;
}

/**
 * Under STRICT mTLS, the only endpoints of the destination do not offer mTLS (registered without it),
 * so nothing is sent: plaintext to a mesh endpoint would let whoever holds that address read and
 * answer the traffic unauthenticated. 503, as for no endpoints: the destination is not reachable
 * from here as the mesh is configured.
 */
export class PlaintextEndpointRefusedError extends MeshError {
  readonly code = 'MESH_ERR_PLAINTEXT_ENDPOINT_REFUSED';
  readonly statusCode = 503;
}

/** A pushed snapshot the data plane refused; the previous one stays in force. Not a request's failure: it becomes a NACK. */
export class ResourcesRejectedError extends Error {
  readonly code = 'MESH_ERR_CONFIG_REJECTED';
}
