// Proxyless mode: the data plane's layer stack as an undici Dispatcher inside the app, so a call costs no extra hop.
import { Readable } from 'node:stream';
import { Dispatcher } from 'undici';
import type { DataPlane } from './data-plane';
import { MeshError } from './errors';
import { forwardableHeaders } from './http-bridge';
import { SOURCE_HEADER } from './listeners';
import type { Headers, MeshRequest, MeshResponse } from './types';

type Handler = Dispatcher.DispatchHandler;

/** undici hands headers over as an object, a flat [name, value, ...] array, or an iterable of pairs. */
function headersOf(raw: Dispatcher.DispatchOptions['headers']): Headers {
  const out: Headers = {};
  const add = (name: string, value: string | string[] | undefined) => {
    if (value !== undefined) out[name.toLowerCase()] = value;
  };
  if (!raw) return out;
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) add(String(raw[i]), String(raw[i + 1]));
  } else if (typeof (raw as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name, value] of raw as Iterable<[string, string | string[] | undefined]>) add(name, value);
  } else {
    for (const [name, value] of Object.entries(raw as Record<string, string | string[] | undefined>)) add(name, value);
  }
  return out;
}

function bodyOf(body: Dispatcher.DispatchOptions['body']): Readable | null {
  if (body === null || body === undefined) return null;
  if (body instanceof Readable) return body;
  if (typeof body === 'string' || body instanceof Uint8Array) return Readable.from([Buffer.from(body)]);
  return Readable.from(body as unknown as AsyncIterable<Buffer>);
}

/** A mesh failure becomes the same HTTP answer a sidecar would give, so apps see one behaviour in every mode. */
function errorResponse(err: unknown): MeshResponse {
  const mesh = err instanceof MeshError ? err : undefined;
  const code = mesh?.code ?? 'MESH_ERR_INTERNAL';
  const body = JSON.stringify({ error: { code, message: mesh?.message ?? 'internal mesh error' } });
  return {
    statusCode: mesh?.statusCode ?? 500,
    headers: { ...mesh?.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-meshcart-error': code },
    body: Readable.from([Buffer.from(body)]),
  };
}

/** Adapts both undici handler styles (controller-based and the older callback one) to one set of calls. */
function driver(handler: Handler, controller: Dispatcher.DispatchController) {
  const legacy = !handler.onRequestStart && !handler.onResponseStart;
  return {
    start: () => (legacy ? handler.onConnect?.((err) => controller.abort(err ?? new Error('aborted'))) : handler.onRequestStart?.(controller, {})),
    headers: (status: number, headers: Headers) => {
      if (!legacy) return handler.onResponseStart?.(controller, status, headers as never, '');
      const raw: Buffer[] = [];
      for (const [k, v] of Object.entries(headers)) for (const one of Array.isArray(v) ? v : [v ?? '']) raw.push(Buffer.from(k), Buffer.from(one));
      return handler.onHeaders?.(status, raw, () => controller.resume(), '');
    },
    data: (chunk: Buffer) => (legacy ? handler.onData?.(chunk) : handler.onResponseData?.(controller, chunk)),
    end: () => (legacy ? handler.onComplete?.([]) : handler.onResponseEnd?.(controller, {})),
    error: (err: Error) => (legacy ? handler.onError?.(err) : handler.onResponseError?.(controller, err)),
  };
}

export class MeshDispatcher extends Dispatcher {
  constructor(
    private readonly dataPlane: DataPlane,
    private readonly service: string,
  ) {
    super();
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    const abort = new AbortController();
    let body: Readable | undefined;
    let paused = false;
    const controller: Dispatcher.DispatchController = {
      get aborted() {
        return abort.signal.aborted;
      },
      get paused() {
        return paused;
      },
      get reason() {
        return (abort.signal.reason as Error) ?? null;
      },
      abort: (reason) => abort.abort(reason),
      pause: () => {
        paused = true;
        body?.pause();
      },
      resume: () => {
        paused = false;
        body?.resume();
      },
    };
    const drive = driver(handler, controller);
    drive.start();

    const origin = typeof opts.origin === 'string' ? new URL(opts.origin) : opts.origin;
    const headers = forwardableHeaders(headersOf(opts.headers));
    const dstService = origin?.hostname ?? String(headers['host'] ?? '');
    headers['host'] = dstService;
    headers[SOURCE_HEADER] = this.service;
    const req: MeshRequest = {
      method: opts.method,
      path: opts.path,
      headers,
      body: bodyOf(opts.body),
      ctx: { direction: 'outbound', srcService: this.service, dstService, signal: abort.signal },
    };

    const deliver = (res: MeshResponse) => {
      if (abort.signal.aborted) {
        res.body.destroy();
        return drive.error(controller.reason ?? new Error('aborted'));
      }
      body = res.body;
      abort.signal.addEventListener('abort', () => res.body.destroy(controller.reason ?? undefined), { once: true });
      drive.headers(res.statusCode, forwardableHeaders(res.headers));
      res.body.on('data', (chunk: Buffer) => {
        // The old handler style asks for backpressure by returning false.
        if (drive.data(chunk) === false) controller.pause();
      });
      res.body.once('end', () => drive.end());
      res.body.once('error', (err) => drive.error(err));
    };
    this.dataPlane.outbound(req).then(deliver, (err: unknown) => deliver(errorResponse(err)));
    return true;
  }

  override async close(): Promise<void> {}

  override async destroy(): Promise<void> {}
}
