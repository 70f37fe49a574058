// How a service calls another service: through its sidecar, through the in-process mesh (proxyless), or directly (off).
import type { IncomingHttpHeaders } from 'node:http';
import { Pool, request, type Dispatcher } from 'undici';
import { currentTraceparent, DEADLINE_HEADER, remainingDeadlineMs, TRACEPARENT_HEADER } from './request-context';

export type MeshClientMode = 'sidecar' | 'proxyless' | 'off';

export interface MeshClientOptions {
  /** The calling service's name, sent as a hint; the sidecar's own identity is what counts. */
  service: string;
  mode: MeshClientMode;
  /** sidecar mode: the sidecar's outbound listener, e.g. http://127.0.0.1:15001 */
  outboundUrl?: string;
  /** off mode: where each service listens, e.g. { 'user-service': 'http://127.0.0.1:3001' }; replicas joined by "|" */
  upstreams?: Record<string, string>;
  /** proxyless mode: the mesh's own undici Dispatcher, running the data plane's layers in this process. */
  dispatcher?: Dispatcher;
  /** Keep-alive connections per destination (to the sidecar in sidecar mode). */
  connections?: number;
}

export interface MeshCall {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  /** Serialized as JSON. */
  body?: unknown;
  /** Gives up after this long; the caller decides what a timeout means. */
  timeoutMs?: number;
}

export interface MeshReply<T> {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: T;
}

/** A call that got no HTTP answer at all (refused, reset, timed out). */
export class MeshCallError extends Error {
  readonly code = 'MESH_CALL_FAILED';
  constructor(
    readonly service: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`call to ${service} failed: ${message}`, options);
    this.name = 'MeshCallError';
  }
}

export class MeshClient {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly options: MeshClientOptions) {
    if (options.mode === 'sidecar' && !options.outboundUrl) {
      throw new Error('MeshClient: mode "sidecar" needs outboundUrl (the sidecar outbound listener)');
    }
    if (options.mode === 'proxyless' && !options.dispatcher) {
      throw new Error('MeshClient: mode "proxyless" needs the mesh dispatcher');
    }
  }

  async request<T = unknown>(service: string, call: MeshCall): Promise<MeshReply<T>> {
    const headers: Record<string, string> = {
      // In sidecar mode the Host header names the destination service; the sidecar routes on it.
      host: service,
      'x-meshcart-caller': this.options.service,
      ...call.headers,
    };
    let body: string | undefined;
    if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] = 'application/json';
    }
    // Work done for a caller must not outlive it: send on what is left of its deadline, or give up now.
    const remaining = remainingDeadlineMs();
    if (remaining !== undefined && remaining <= 0) throw new MeshCallError(service, "the caller's deadline has passed");
    if (remaining !== undefined) headers[DEADLINE_HEADER] = String(Math.ceil(remaining));
    // The trace continues: the mesh makes a new span for this call under the caller's.
    const traceparent = currentTraceparent();
    if (traceparent && !headers[TRACEPARENT_HEADER]) headers[TRACEPARENT_HEADER] = traceparent;
    const timeoutMs = Math.min(call.timeoutMs ?? Infinity, remaining ?? Infinity);
    const limit = Number.isFinite(timeoutMs) ? Math.ceil(timeoutMs) : undefined;
    const options = { method: call.method ?? 'GET', headers, body, headersTimeout: limit, bodyTimeout: limit };
    try {
      const res =
        this.options.mode === 'proxyless'
          ? // The service name is the origin: the mesh dispatcher routes on it, as a sidecar routes on Host.
            await request(`http://${service}${call.path}`, { ...options, dispatcher: this.options.dispatcher })
          : await this.poolFor(service).request({ ...options, path: call.path });
      const type = String(res.headers['content-type'] ?? '');
      const text = await res.body.text();
      const parsed = type.includes('json') && text.length > 0 ? (JSON.parse(text) as T) : (text as T);
      return { statusCode: res.statusCode, headers: res.headers as IncomingHttpHeaders, body: parsed };
    } catch (err) {
      throw new MeshCallError(service, (err as Error).message, { cause: err });
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    this.pools.clear();
  }

  private turn = 0;

  private poolFor(service: string): Pool {
    // Off, a service may list several replicas ("http://a|http://b"): plain round robin, no mesh.
    const origins = this.options.mode === 'sidecar' ? [this.options.outboundUrl!] : this.options.upstreams?.[service]?.split('|');
    const origin = origins?.[this.turn++ % origins.length];
    if (!origin) throw new MeshCallError(service, `no address for "${service}" with the mesh off (set MESH_UPSTREAMS)`);
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: this.options.connections ?? 32, keepAliveTimeout: 30_000 });
      this.pools.set(origin, pool);
    }
    return pool;
  }
}
