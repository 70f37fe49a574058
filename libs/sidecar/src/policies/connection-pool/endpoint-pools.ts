// Connection pooling: one undici Pool per upstream address, shaped by the cluster's connection-pool knobs.
import type { ConnectionPoolSettings } from '@meshcart/mesh-config';
import { buildConnector, Pool } from 'undici';
import type { MeshEvents } from '../../core/mesh-events';
import { tlsConnect, type ClientTls } from '../mtls/client-tls';

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
