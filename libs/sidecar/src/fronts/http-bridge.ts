// Between node:http and the layer stack: an arrival in, the response (or a mesh error) streamed out, client aborts passed on.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Http2ServerResponse, type Http2ServerRequest } from 'node:http2';
import type { Readable } from 'node:stream';
import { Cancellation } from '../core/cancellation';
import type { Handler, Headers, MeshRequest } from '../core/types';
import { UpstreamBody, type BodySink } from '../core/upstream-body';
import { errorAnswer } from './error-response';
import { forwardableHeaders, type Arrival } from './request';

export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;

function hasBody(req: AnyRequest): boolean {
  const length = req.headers['content-length'];
  if (req.httpVersionMajor === 2) return !(req as Http2ServerRequest).stream.endAfterHeaders;
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * A node:http (or HTTP/2 compatibility) request as the stack will see it: its body, if it has one, and
 * a cancellation for when the client goes away, which should not leave an upstream call running.
 */
export function arrivalOf(req: AnyRequest, res: AnyResponse, path: string, headers: Headers): Arrival {
  const cancellation = new Cancellation();
  res.once('close', () => {
    if (!res.writableFinished) cancellation.cancel(new Error('client closed the connection'));
  });
  return { method: req.method ?? 'GET', path, headers, body: hasBody(req) ? (req as IncomingMessage) : null, cancellation };
}

/** Answers with a mesh error (errorAnswer); once the response has started, breaks it instead. */
export function sendError(res: AnyResponse, err: unknown): void {
  if (res.headersSent) {
    if (res instanceof Http2ServerResponse) res.stream.close();
    else res.destroy();
    return;
  }
  const answer = errorAnswer(err);
  res.writeHead(answer.statusCode, answer.headers);
  res.end(answer.body);
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
