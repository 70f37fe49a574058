// Endpoint tier: one undici Pool per upstream address, shaped by the cluster's connection-pool knobs.
import type { ConnectionPoolSettings } from '@meshcart/mesh-config';
import { createSecureContext } from 'node:tls';
import { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { buildConnector, errors, Pool, type Dispatcher } from 'undici';
import { fromUpstreamError, UpstreamTimeoutError, type MeshError } from '../errors';
import type { MeshEvents } from '../mesh-events';
import type { Cancellation } from '../cancellation';
import { UpstreamBody, type BodySource } from '../upstream-body';
import type { Handler, Headers, MeshResponse } from '../types';

/** Client-side mTLS: our certificate, the mesh root, and the SPIFFE ID the server must prove. */
export interface ClientTls {
  cert: string;
  key: string;
  ca: string;
  /** Changes with every renewal: a new version gets new connections, old ones finish their work. */
  version: number;
  expectedId: string;
}

function tlsConnect(s: ConnectionPoolSettings, tls: ClientTls) {
  return {
    timeout: s.connectTimeoutMs,
    // One TLS context per pool, built here once. Given cert/key/ca instead, Node parses the PEMs and
    // builds a fresh context (and CA store) for every connection: ~2 ms of CPU per new connection,
    // which a profile that opens one per request (maxRequestsPerConnection: 1) paid on every call.
    secureContext: createSecureContext({ cert: tls.cert, key: tls.key, ca: tls.ca }),
    rejectUnauthorized: true,
    // Peers are named by SPIFFE ID, not host name: the certificate must carry the destination's ID.
    checkServerIdentity: (_host: string, cert: { subjectaltname?: string }) => {
      const ids = (cert.subjectaltname ?? '').split(', ').filter((n) => n.startsWith('URI:')).map((n) => n.slice(4));
      return ids.includes(tls.expectedId) ? undefined : new Error(`peer is ${ids.join(', ') || 'anonymous'}, expected ${tls.expectedId}`);
    },
  };
}

function poolOptions(s: ConnectionPoolSettings, h2c: boolean, tls?: ClientTls): Pool.Options {
  if (h2c) {
    // HTTP/2 multiplexes: a few connections carry maxConcurrentStreams requests each.
    return {
      connections: Math.max(1, Math.ceil(s.maxConnections / s.maxConcurrentStreams)),
      pipelining: s.maxConcurrentStreams,
      maxConcurrentStreams: s.maxConcurrentStreams,
      allowH2: true,
      keepAliveTimeout: s.idleTimeoutMs,
      keepAliveMaxTimeout: s.idleTimeoutMs,
      // Pool does not pass useH2c on to its connector, so the prior-knowledge connector is built here.
      connect: buildConnector({ useH2c: true, allowH2: true, timeout: s.connectTimeoutMs } as buildConnector.BuildOptions),
      headersTimeout: 0,
      bodyTimeout: 0,
    } as Pool.Options;
  }
  return {
    connections: s.maxConnections,
    pipelining: s.pipelining,
    keepAliveTimeout: s.idleTimeoutMs,
    keepAliveMaxTimeout: s.idleTimeoutMs,
    connect: { timeout: s.connectTimeoutMs },
    // undici closes a socket once it has carried maxRequestsPerClient + 1 requests, hence the - 1.
    // 0 means unlimited; 1 is handled per request (see forward), since undici reads 0 as "off".
    ...(s.maxRequestsPerConnection > 1 ? { maxRequestsPerClient: s.maxRequestsPerConnection - 1 } : {}),
    ...(tls ? { connect: tlsConnect(s, tls) } : {}),
    // Deadlines are the route timeout's job; undici's own 300 s defaults would only mask them.
    headersTimeout: 0,
    bodyTimeout: 0,
  };
}

/** Pools are kept across config pushes while the address and settings stay the same. */
export class EndpointPools {
  private readonly pools = new Map<string, { pool: Pool; key: string; settings: ConnectionPoolSettings; h2c: boolean; tls?: ClientTls }>();

  constructor(private readonly events?: MeshEvents) {}

  /** `h2c`: the URL is a peer sidecar's HTTP/2 listener; `tls`: speak mTLS to it. */
  get(url: string, settings: ConnectionPoolSettings, cluster = '', h2c = false, tls?: ClientTls): Pool {
    const current = this.pools.get(url);
    // Called per request: the same settings and TLS objects as last time mean the same pool, without
    // building the key (a JSON.stringify of the settings) again.
    if (current && current.settings === settings && current.h2c === h2c && current.tls === tls) return current.pool;
    const key = `${h2c} ${tls ? `tls ${tls.version} ${tls.expectedId}` : 'plain'} ${JSON.stringify(settings)}`;
    if (current && current.key === key) {
      Object.assign(current, { settings, h2c, tls });
      return current.pool;
    }
    if (current) void current.pool.close().catch(() => undefined);
    const origin = tls ? url.replace(/^http:/, 'https:') : url;
    const pool = new Pool(origin, poolOptions(settings, h2c, tls));
    // Every new TCP connection (and TLS handshake) is a cost the pooling knobs exist to avoid: count them.
    pool.on('connect', () => {
      this.events?.emit('connection-opened', { cluster, endpoint: url });
      if (tls) this.events?.emit('tls-handshake', { cluster, endpoint: url });
    });
    this.pools.set(url, { pool, key, settings, h2c, tls });
    return pool;
  }

  /** Closes pools of addresses no longer in use, letting their requests in flight finish. */
  retain(urls: ReadonlySet<string>): void {
    for (const [url, { pool }] of this.pools) {
      if (!urls.has(url)) {
        this.pools.delete(url);
        void pool.close().catch(() => undefined);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map(({ pool }) => pool.close().catch(() => undefined)));
    this.pools.clear();
  }
}

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
    const { url, h2c, tls } = target(req.ctx);
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
