// Proxyless mode: the data plane's layer stack as an undici Dispatcher inside the app, so a call costs no extra hop.
import { Readable } from 'node:stream';
import { Dispatcher } from 'undici';
import { Cancellation } from '../core/cancellation';
import type { Handler as StackHandler, Headers, MeshResponse } from '../core/types';
import { UpstreamBody, type BodySink } from '../core/upstream-body';
import { errorAnswer } from './error-response';
import { forwardableHeaders, meshRequest, outgoingHeaders } from './request';

type Handler = Dispatcher.DispatchHandler;

/** undici hands headers over as an object, a flat [name, value, ...] array, or an iterable of pairs. */
function headersOf(raw: Dispatcher.DispatchOptions['headers']): Headers {
  const out: Headers = {};
  if (!raw) return out;
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i]).toLowerCase()] = String(raw[i + 1]);
  } else if (typeof (raw as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name, value] of raw as Iterable<[string, string | string[] | undefined]>) if (value !== undefined) out[name.toLowerCase()] = value;
  } else {
    // for...in rather than Object.entries: no array of pairs per request for the common case.
    const record = raw as Record<string, string | string[] | undefined>;
    for (const name in record) {
      const value = record[name];
      if (value !== undefined) out[name.toLowerCase()] = value;
    }
  }
  return out;
}

/** Host names of origins seen, so a call does not parse its origin URL again (there are as many as destinations). */
const hostnames = new Map<string, string>();
const HOSTNAME_CACHE_LIMIT = 1_000;

function hostnameOf(origin: Dispatcher.DispatchOptions['origin']): string | undefined {
  if (origin === undefined) return undefined;
  if (typeof origin !== 'string') return origin.hostname;
  let hostname = hostnames.get(origin);
  if (hostname === undefined) {
    hostname = new URL(origin).hostname;
    if (hostnames.size >= HOSTNAME_CACHE_LIMIT) hostnames.clear();
    hostnames.set(origin, hostname);
  }
  return hostname;
}

function bodyOf(body: Dispatcher.DispatchOptions['body']): Readable | null {
  if (body === null || body === undefined) return null;
  if (body instanceof Readable) return body;
  if (typeof body === 'string' || body instanceof Uint8Array) return Readable.from([Buffer.from(body)]);
  return Readable.from(body as unknown as AsyncIterable<Buffer>);
}

/** A mesh failure becomes the same HTTP answer a sidecar would give, so apps see one behaviour in every mode. */
function errorResponse(err: unknown): MeshResponse {
  const answer = errorAnswer(err);
  return { statusCode: answer.statusCode, headers: answer.headers, body: Readable.from([Buffer.from(answer.body)]) };
}

/**
 * One call through the mesh: the controller undici's handler holds, and the glue from the stack's
 * response stream to that handler, for both handler styles (controller-based and the older
 * callback one). A class with methods rather than a dozen closures per call: the closures, and
 * the getters of an object literal made per call, were a measurable share of proxyless overhead.
 */
class ProxylessCall implements Dispatcher.DispatchController, BodySink {
  /** Cancelled by the handler (its caller gave up); the stack sees it as the request's cancellation. */
  readonly cancellation = new Cancellation();
  private readonly legacy: boolean;
  private body?: Readable;
  /** Set when the body was handed over by the upstream connection (no stream in between). */
  private upstream?: UpstreamBody;
  private isPaused = false;

  constructor(private readonly handler: Handler) {
    this.legacy = !handler.onRequestStart && !handler.onResponseStart;
  }

  get aborted(): boolean {
    return this.cancellation.cancelled;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  get reason(): Error | null {
    return this.cancellation.reason ?? null;
  }

  abort(reason: Error): void {
    // What an AbortController would give as the reason when none is given.
    this.cancellation.cancel(reason ?? new DOMException('This operation was aborted', 'AbortError'));
  }

  pause(): void {
    this.isPaused = true;
    if (!this.upstream) this.body?.pause();
  }

  resume(): void {
    this.isPaused = false;
    if (this.upstream) this.upstream.resumeSink();
    else this.body?.resume();
  }

  start(): void {
    if (this.legacy) this.handler.onConnect?.((err) => this.abort(err ?? new Error('aborted')));
    else this.handler.onRequestStart?.(this, {});
  }

  /** The stack's answer (or the mesh error made into one), streamed to the handler. */
  readonly deliver = (res: MeshResponse): void => {
    const body = res.body;
    if (this.aborted) {
      body.destroy();
      return this.error(this.reason ?? new Error('aborted'));
    }
    this.body = body;
    this.cancellation.onCancel((reason) => body.destroy(reason));
    this.headers(res.statusCode, forwardableHeaders(res.headers));
    // Straight from the upstream connection when the body is untouched; otherwise as a stream.
    if (body instanceof UpstreamBody && body.handOff(this)) {
      this.upstream = body;
      return;
    }
    body.on('data', this.onData);
    body.once('end', this.onEnd);
    body.once('error', this.onError);
  };

  /** BodySink: a chunk from the upstream; false pauses the connection until the handler resumes. */
  data(chunk: Buffer): boolean {
    this.onData(chunk);
    return !this.isPaused;
  }

  /** BodySink: the upstream body is complete. */
  end(): void {
    this.onEnd();
  }

  readonly fail = (err: unknown): void => this.deliver(errorResponse(err));

  private headers(status: number, headers: Headers): void {
    if (!this.legacy) {
      this.handler.onResponseStart?.(this, status, headers as never, '');
      return;
    }
    const raw: Buffer[] = [];
    for (const [k, v] of Object.entries(headers)) for (const one of Array.isArray(v) ? v : [v ?? '']) raw.push(Buffer.from(k), Buffer.from(one));
    this.handler.onHeaders?.(status, raw, () => this.resume(), '');
  }

  private readonly onData = (chunk: Buffer): void => {
    // The old handler style asks for backpressure by returning false.
    const more = this.legacy ? this.handler.onData?.(chunk) : this.handler.onResponseData?.(this, chunk);
    if (more === false) this.pause();
  };

  private readonly onEnd = (): void => {
    if (this.legacy) this.handler.onComplete?.([]);
    else this.handler.onResponseEnd?.(this, {});
  };

  private readonly onError = (err: Error): void => this.error(err);

  /** Also BodySink's: the upstream body broke. */
  error(err: Error): void {
    if (this.legacy) this.handler.onError?.(err);
    else this.handler.onResponseError?.(this, err);
  }
}

/** `plane.outbound` is the data plane's outbound stack; `service` is the app's own, the caller of every request. */
export class MeshDispatcher extends Dispatcher {
  constructor(
    private readonly plane: { outbound: StackHandler },
    private readonly service: string,
  ) {
    super();
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    const call = new ProxylessCall(handler);
    call.start();
    // The destination service is the origin's host name (http://payment-service): undici always sends one.
    const dstService = hostnameOf(opts.origin) ?? '';
    const headers = outgoingHeaders(headersOf(opts.headers), dstService, this.service);
    const arrival = { method: opts.method, path: opts.path, headers, body: bodyOf(opts.body), cancellation: call.cancellation };
    this.plane.outbound(meshRequest('outbound', this.service, dstService, arrival)).then(call.deliver, call.fail);
    return true;
  }

  override async close(): Promise<void> {}

  override async destroy(): Promise<void> {}
}
