// The proxy's operations port: metrics, readiness, the config in force, and draining (from inside the pod only).
import { createServer, type Server } from 'node:http';
import type { MeshMetrics } from '../policies/telemetry/metrics';
import type { DataPlane } from './data-plane';

export interface AdminHooks {
  /** Who this proxy is, for /config_dump. */
  status: () => unknown;
  ready: () => boolean;
  /** Leaves the mesh ahead of shutdown (POST /drain); `draining` is true from then on. */
  drain: () => Promise<void>;
  draining: () => boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Operations port: read-only but for POST /drain, which only the pod itself may send. */
export function adminListener(dataPlane: DataPlane, metrics: MeshMetrics, hooks: AdminHooks): Server {
  return createServer((req, res) => {
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body, null, 2));
    };
    switch (req.url?.split('?')[0]) {
      case '/metrics':
        metrics.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': metrics.registry.contentType });
            res.end(text);
          },
          (err: Error) => json(500, { error: err.message }),
        );
        return;
      case '/ready':
        if (hooks.draining()) return json(503, { status: 'draining' });
        return hooks.ready()
          ? json(200, { status: 'ready', ...dataPlane.versions() })
          : json(503, { status: dataPlane.ready() ? 'waiting for a workload certificate' : 'waiting for config' });
      case '/healthz':
        return json(200, { status: 'ok' });
      case '/config_dump':
        return json(200, { ...(hooks.status() as object), ...(dataPlane.dump() as object) });
      case '/drain':
        if (req.method !== 'POST') return json(405, { error: 'drain with POST /drain' });
        // The admin port faces the network in containers (for Prometheus): only the pod itself may take it out of the mesh.
        if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) return json(403, { error: 'POST /drain is taken only from the pod itself (loopback)' });
        hooks.drain().then(
          () => json(200, { status: 'draining' }),
          (err: Error) => json(500, { error: err.message }),
        );
        return;
      default:
        return json(404, { error: 'not found', paths: ['/metrics', '/ready', '/healthz', '/config_dump', 'POST /drain'] });
    }
  });
}
