// Between node:http and the layer stack: request in, response (or a mesh error) out, client aborts passed on.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Http2ServerResponse, type Http2ServerRequest } from 'node:http2';
import type { Readable } from 'node:stream';
import { Cancellation } from './cancellation';
import { MeshError } from './errors';
import type { Handler, Headers, MeshRequest, RequestContext } from './types';
import { UpstreamBody, type BodySink } from './upstream-body';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
]);

const NONE: readonly string[] = [];
const CLOSE: readonly string[] = ['close'];

/** The header names the request's Connection header lists, to be dropped with it. */
export function connectionOptions(raw: IncomingHttpHeaders | Headers): readonly string[] {
  const connection = raw['connection'];
  if (typeof connection !== 'string') return NONE;
  // What nearly every client sends, answered without splitting and lower-casing it per request
  // (that was most of forwardableHeaders' time in bench:peers); keep-alive is hop-by-hop anyway.
  if (connection === 'keep-alive') return NONE;
  if (connection === 'close') return CLOSE;
  return connection.toLowerCase().split(',').map((s) => s.trim());
}

/**
 * Copies headers without hop-by-hop ones, including any the Connection header names, and without
 * `drop` if given (left out here rather than deleted afterwards: a delete turns the object into a
 * slow dictionary for every later reader, which was the inbound handler's largest cost).
 */
export function forwardableHeaders(raw: IncomingHttpHeaders | Headers, drop?: string): Headers {
  const named = connectionOptions(raw);
  const out: Headers = {};
  for (const name in raw) {
    // HTTP/2 pseudo-headers (:method, :path, ...) describe this hop only.
    if (HOP_BY_HOP.has(name) || name === drop || name.startsWith(':') || (named.length > 0 && named.includes(name))) continue;
    out[name] = raw[name];
  }
  return out;
}

export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;

function hasBody(req: AnyRequest): boolean {
  const length = req.headers['content-length'];
  if (req.httpVersionMajor === 2) return !(req as Http2ServerRequest).stream.endAfterHeaders;
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export function meshRequest(req: AnyRequest, res: AnyResponse, path: string, ctx: RequestContext, headers: Headers): MeshRequest {
  const cancellation = new Cancellation();
  // A client that goes away should not keep an upstream call running.
  res.once('close', () => {
    if (!res.writableFinished) cancellation.cancel(new Error('client closed the connection'));
  });
  ctx.cancellation = cancellation;
  return { method: req.method ?? 'GET', path, headers, body: hasBody(req) ? (req as IncomingMessage) : null, ctx };
}

export function sendError(res: AnyResponse, err: unknown): void {
  const mesh = err instanceof MeshError ? err : undefined;
  const status = mesh?.statusCode ?? 500;
  const code = mesh?.code ?? 'MESH_ERR_INTERNAL';
  const message = mesh?.message ?? 'internal proxy error';
  if (res.headersSent) {
    if (res instanceof Http2ServerResponse) res.stream.close();
    else res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { ...mesh?.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-meshcart-error': code });
  res.end(body);
}

/**
 * Streams an upstream body to the client; a failure on either side ends the other. This is what
 * stream.pipeline did here, without its cost: on Node 20, pipeline makes an AbortController per
 * call and aborts it when the streams finish, which builds a DOMException (with a stack trace)
 * for every request. Measured, that was the largest single cost of ours in a sidecar.
 */
function relay(body: Readable, res: AnyResponse): void {
  const out = res as ServerResponse;
  if (body instanceof UpstreamBody && !(res instanceof Http2ServerResponse) && body.handOff(new ResponseSink(out, body))) return;
  // The client went away or the response failed: stop reading, so undici frees the connection.
  const stop = () => {
    if (!body.readableEnded) body.destroy();
  };
  out.once('close', stop);
  out.on('error', stop);
  // The upstream failed mid-body: the client must see a broken response, not a short one.
  body.once('error', () => out.destroy());
  body.pipe(out);
}

/**
 * An HTTP/1.1 response taking an upstream body over: chunks written as undici reads them, no stream
 * (and no pipe, with its half a dozen listeners) in between. The same rules as relay: backpressure
 * from the client reaches the upstream connection, a client gone away aborts the upstream request,
 * and an upstream failure mid-body breaks the response.
 */
class ResponseSink implements BodySink {
  constructor(
    private readonly out: ServerResponse,
    private readonly body: UpstreamBody,
  ) {
    out.once('close', this.stop);
    out.on('error', this.stop);
  }

  data(chunk: Buffer): boolean {
    const more = this.out.write(chunk);
    if (!more) this.out.once('drain', this.drained);
    return more;
  }

  end(): void {
    this.out.end();
  }

  error(): void {
    this.out.destroy();
  }

  private readonly drained = (): void => this.body.resumeSink();

  private readonly stop = (): void => {
    if (!this.body.settled) this.body.destroy();
  };
}

/** Runs the handler and streams its response back; errors become JSON with a stable code. */
export function respond(handler: Handler, req: MeshRequest, res: AnyResponse): void {
  handler(req).then(
    (upstream) => {
      res.writeHead(upstream.statusCode, forwardableHeaders(upstream.headers) as Record<string, string>);
      relay(upstream.body, res);
    },
    (err: unknown) => {
      // The request body may be unread after an early failure; drain it so the connection stays usable.
      req.body?.resume();
      sendError(res, err);
    },
  );
}
