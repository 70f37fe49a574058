// How a service calls another service: through its sidecar (default) or directly when the mesh is off.
import type { IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';

export type MeshClientMode = 'sidecar' | 'off';

export interface MeshClientOptions {
  /** The calling service's name, sent as a hint; the sidecar's own identity is what counts. */
  service: string;
  mode: MeshClientMode;
  /** sidecar mode: the sidecar's outbound listener, e.g. http://127.0.0.1:15001 */
  outboundUrl?: string;
  /** off mode: where each service listens, e.g. { 'user-service': 'http://127.0.0.1:3001' } */
  upstreams?: Record<string, string>;
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
  }

  async request<T = unknown>(service: string, call: MeshCall): Promise<MeshReply<T>> {
    const pool = this.poolFor(service);
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
    try {
      const res = await pool.request({
        method: call.method ?? 'GET',
        path: call.path,
        headers,
        body,
        headersTimeout: call.timeoutMs,
        bodyTimeout: call.timeoutMs,
      });
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

  private poolFor(service: string): Pool {
    const origin = this.options.mode === 'sidecar' ? this.options.outboundUrl! : this.options.upstreams?.[service];
    if (!origin) throw new MeshCallError(service, `no address for "${service}" with the mesh off (set MESH_UPSTREAMS)`);
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: this.options.connections ?? 32, keepAliveTimeout: 30_000 });
      this.pools.set(origin, pool);
    }
    return pool;
  }
}
