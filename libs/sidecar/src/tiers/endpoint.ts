// Endpoint tier: the request sent to the chosen address on a pooled connection, and its answer streamed back.
import type { ClusterResource } from '@meshcart/mesh-config';
import { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { errors, type Dispatcher, type Pool } from 'undici';
import type { Cancellation } from '../core/cancellation';
import { fromUpstreamError, UpstreamTimeoutError, type MeshError } from '../core/errors';
import type { MeshEvents } from '../core/mesh-events';
import type { Handler, Headers, MeshResponse } from '../core/types';
import { UpstreamBody, type BodySource } from '../core/upstream-body';
import type { EndpointPools } from '../policies/connection-pool/endpoint-pools';
import type { ClientTls } from '../policies/mtls/client-tls';
import type { MtlsState } from '../policies/mtls/mtls-state';

/** undici's response headers arrive as [name, value, ...] buffers; names are made lower-case, repeated ones an array. */
function headersOf(raw: Buffer[]): Headers {
  const out: Headers = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    const seen = Object.hasOwn(out, name) ? out[name] : undefined;
    if (seen === undefined) {
      // A header named __proto__ must stay a header, not become the object's prototype.
      if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, configurable: true, writable: true });
      else out[name] = value;
    } else if (typeof seen === 'string') out[name] = [seen, value];
    else seen.push(value);
  }
  return out;
}

const noop = () => undefined;

/**
 * A request body undici gave up on is destroyed, as undici's own request() does; for a request
 * arriving at a listener, without closing the client's socket with it (keep-alive, and the answer).
 */
function destroyRequestBody(body: Readable | null, err: Error): void {
  if (!body || body.destroyed) return;
  body.on('error', noop);
  if (Object.getPrototypeOf(body).constructor === IncomingMessage) (body as unknown as { socket: null }).socket = null;
  body.destroy(err);
}

/**
 * One request on a pooled connection, as an undici dispatch handler rather than through undici's
 * request(): that adds a request handler object, an AbortSignal listener and its own body stream
 * on top of this, per request. Cancellation reaches undici through the abort function it hands over
 * at connect, so no AbortSignal is made. The callback-style handler is undici's fastest path (the
 * newer controller style is wrapped into it).
 */
class UpstreamCall implements Dispatcher.DispatchHandler, BodySource {
  private abortUpstream?: (err: Error) => void;
  private resumeUpstream?: () => void;
  private body?: UpstreamBody;
  private complete = false;

  constructor(
    private readonly requestBody: Readable | null,
    private readonly cancellation: Cancellation | undefined,
    private readonly resolve: (res: MeshResponse) => void,
    private readonly reject: (err: MeshError) => void,
    /** For error messages: the destination service and the address called. */
    private readonly dstService: string,
    private readonly url: string,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    const reason = this.cancellation?.reason;
    if (reason) return abort(reason);
    this.abortUpstream = abort;
    this.cancellation?.onCancel(this.onCancel);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx interim answers (100 Continue) are not the response.
    if (statusCode < 200) return true;
    this.resumeUpstream = resume;
    this.body = new UpstreamBody(this);
    this.resolve({ statusCode, headers: headersOf(rawHeaders), body: this.body });
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.body!.deliver(chunk);
  }

  onComplete(): void {
    this.complete = true;
    this.body!.finish();
  }

  onError(err: Error): void {
    this.complete = true;
    destroyRequestBody(this.requestBody, err);
    const body = this.body;
    if (!body) {
      this.cancellation?.off(this.onCancel);
      // A route deadline that passed is the answer, whatever undici made of the abort.
      const reason = this.cancellation?.reason;
      return this.reject(reason instanceof UpstreamTimeoutError ? reason : fromUpstreamError(err, `${this.dstService} (${this.url})`, false));
    }
    // After whatever is already queued for the body has run, as undici's request() does.
    queueMicrotask(() => body.fail(err));
  }

  resume(): void {
    this.resumeUpstream?.();
  }

  closed(err: Error | undefined): void {
    this.cancellation?.off(this.onCancel);
    if (!this.complete) {
      this.complete = true;
      this.abortUpstream?.(err ?? new errors.RequestAbortedError());
    }
  }

  /** Cancelled (deadline, or the caller went away): before the response, abort it; during its body, break the body. */
  private readonly onCancel = (reason: Error): void => {
    if (this.body) this.body.fail(reason);
    else this.abortUpstream?.(reason);
  };
}

/**
 * The TLS server name undici gives a request with this Host header: the host without its port, and
 * none for an IP address. Undefined leaves it to undici: for an IP address (it sets none either) and
 * for a bracketed IPv6 host (which it checks itself, refusing one without its closing bracket).
 */
export function serverNameOf(host: string): string | undefined {
  if (host.startsWith('[')) return undefined;
  const name = host.split(':', 1)[0]!;
  return name && isIP(name) === 0 ? name : undefined;
}

/**
 * The last handler of every stack: sends the request on a pooled connection. `closeAfterEach` is
 * maxRequestsPerConnection 1: `connection: close` on every request, so each call opens a new one.
 */
export function forward(
  pool: (url: string, h2c: boolean, tls?: ClientTls) => Pool,
  target: (ctx: Parameters<Handler>[0]['ctx']) => { url: string; h2c: boolean; tls?: ClientTls },
  closeAfterEach = false,
): Handler {
  // Given no server name, undici derives one from the Host header of every request, running the IP
  // address regexes of net.isIP each time (~0.6% of a sidecar's CPU); the Host a handler sees hardly
  // ever changes, so the name is worked out once per Host value and passed in.
  let lastHost: string | undefined;
  let lastServername: string | undefined;
  return (req) => {
    let chosen;
    try {
      chosen = target(req.ctx);
    } catch (err) {
      // A refusal (say, plaintext under STRICT mTLS) fails the request like any other mesh error.
      return Promise.reject(err);
    }
    const { url, h2c, tls } = chosen;
    const host = req.headers['host'];
    if (typeof host === 'string' && host !== lastHost) {
      lastHost = host;
      lastServername = serverNameOf(host);
    }
    const servername = typeof host === 'string' ? lastServername : undefined;
    return new Promise<MeshResponse>((resolve, reject) => {
      const call = new UpstreamCall(req.body, req.ctx.cancellation, resolve, reject, req.ctx.dstService, url);
      // undici's request() refuses CONNECT (a tunnel, not a request); so does this.
      if (req.method === 'CONNECT') return call.onError(new errors.InvalidArgumentError('invalid method'));
      try {
        pool(url, h2c, tls).dispatch(
          {
            method: req.method as 'GET',
            path: req.path,
            headers: req.headers as Record<string, string>,
            body: req.body,
            reset: closeAfterEach,
            // Not in undici's DispatchOptions type, but read by its Request; undefined leaves it to undici.
            servername,
          } as Dispatcher.DispatchOptions,
          call,
        );
      } catch (err) {
        // A pool that cannot be made (bad address or TLS material) fails the request like an upstream error.
        call.onError(err as Error);
      }
    });
  };
}

/**
 * A cluster's endpoint tier: the address the concrete tier picked, reached over its pool, with mTLS
 * where the mesh and the endpoint have it, else HTTP/2 cleartext where asked for and offered.
 */
export function buildEndpoint(resource: ClusterResource, pools: EndpointPools, mtls: MtlsState, events?: MeshEvents): Handler {
  // HTTP/2 only where it was asked for and the endpoint offers it (a peer sidecar); apps speak HTTP/1.1.
  const upgrade = resource.connectionPool.h2UpgradePolicy === 'UPGRADE';
  return forward(
    (url, useH2c, tls) => pools.get(url, resource.connectionPool, resource.name, useH2c, tls),
    (ctx) => {
      const e = ctx.endpoint!;
      // mTLS goes over HTTP/1.1 to the sidecar's inbound listener; h2c is cleartext only.
      const tls = mtls.clientTls(resource.name, e);
      if (tls) return { url: e.url, h2c: false, tls };
      const refused = mtls.plaintextRefusal(resource.name, e);
      if (refused) {
        events?.emit('plaintext-refused', { cluster: resource.name });
        throw refused;
      }
      return upgrade && e.h2cUrl !== undefined ? { url: e.h2cUrl, h2c: true } : { url: e.url, h2c: false };
    },
    resource.connectionPool.maxRequestsPerConnection === 1,
  );
}
