// The sidecar's three listeners: outbound (HTTP proxy protocol), inbound (to the local app), admin.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createH2cServer, type Http2Server, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { trackConnections, type ConnectionTracker } from '@meshcart/service-kit';
import type { DataPlane } from './data-plane';
import { BadRequestError } from './errors';
import { MtlsRequiredError } from './inbound-server';
import { connectionOptions, forwardableHeaders, meshRequest, respond, sendError, type AnyRequest, type AnyResponse } from './http-bridge';
import type { MeshMetrics } from './metrics';
import type { Inbound } from './tiers/inbound';

/** The header a sidecar names its service in, for the peer's metrics (mTLS identity replaces it later). */
export const SOURCE_HEADER = 'x-meshcart-src';

/**
 * The destination service: from an absolute-form URI (`GET http://payment-service/charges`, what
 * HTTP_PROXY clients send) or else from the Host header. Ports are ignored: names are services.
 */
export function destinationOf(req: IncomingMessage): { service: string; path: string } | undefined {
  const url = req.url ?? '/';
  if (url.startsWith('http://')) {
    const parsed = new URL(url);
    return { service: parsed.hostname, path: parsed.pathname + parsed.search };
  }
  const host = req.headers.host;
  if (!host) return undefined;
  return { service: host.replace(/:\d+$/, ''), path: url };
}

export function outboundListener(service: string, dataPlane: DataPlane): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const dest = destinationOf(req);
    if (!dest) return sendError(res, new BadRequestError('cannot tell the destination: send an absolute URI or a Host header'));
    const headers = forwardableHeaders(req.headers);
    headers['host'] = dest.service;
    headers[SOURCE_HEADER] = service;
    const ctx = { direction: 'outbound' as const, srcService: service, dstService: dest.service };
    respond(dataPlane.outbound, meshRequest(req, res, dest.path, ctx, headers), res);
  }).on('connect', (_req, socket) => {
    // CONNECT tunnels (https:// through HTTP_PROXY) would hide the request from every policy.
    socket.end('HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\n\r\n');
  });
}

/** `peer`: the caller proven by its mTLS certificate; otherwise the caller's sidecar names itself in a header. */
export function inboundHandler(service: string, inbound: Inbound) {
  return (req: AnyRequest, res: AnyResponse, peer: { service?: string } = {}) => {
    const headers = forwardableHeaders(req.headers, SOURCE_HEADER);
    // Like any header the Connection header names, a claim so named is not taken.
    const claimed = connectionOptions(req.headers).includes(SOURCE_HEADER) ? undefined : req.headers[SOURCE_HEADER];
    headers['host'] = req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? service;
    const src = peer.service ?? (typeof claimed === 'string' ? claimed : 'unknown');
    const ctx = { direction: 'inbound' as const, srcService: src, dstService: service };
    respond(inbound.handler, meshRequest(req, res, req.url ?? '/', ctx, headers), res);
  };
}

export function inboundListener(service: string, inbound: Inbound): Server {
  const handle = inboundHandler(service, inbound);
  return createServer((req, res) => handle(req, res));
}

/** The same inbound side over HTTP/2 cleartext, for peers whose h2UpgradePolicy is UPGRADE. */
export function inboundH2cListener(service: string, inbound: Inbound, mtlsRequired: () => boolean = () => false): Http2Server {
  const handle = inboundHandler(service, inbound);
  // h2c is cleartext: under STRICT mTLS it refuses, like the plaintext side of the inbound port.
  const server = createH2cServer((req, res) =>
    mtlsRequired() ? sendError(res, new MtlsRequiredError('this service accepts only mTLS (PeerAuthentication STRICT)')) : handle(req, res),
  );
  const sessions = new Set<Http2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  h2Sessions.set(server, sessions);
  return server;
}

const h2Sessions = new WeakMap<Http2Server, Set<Http2Session>>();

/** GOAWAY to every session: streams in flight finish, no new ones start. */
export function closeH2cServer(server: Http2Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    for (const session of h2Sessions.get(server) ?? []) session.close();
  });
}

export interface AdminHooks {
  /** Who this proxy is, for /config_dump. */
  status: () => unknown;
  ready: () => boolean;
  /** Leaves the mesh ahead of shutdown (POST /drain); `draining` is true from then on. */
  drain: () => Promise<void>;
  draining: () => boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Operations port: metrics, readiness, the config in force, and draining (from inside the pod only). */
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

const trackers = new WeakMap<Server, ConnectionTracker>();

export function listen(server: Server | Http2Server, host: string, port: number): Promise<number> {
  if (!('closeIdleConnections' in server)) return listenRaw(server, host, port);
  trackers.set(server, trackConnections(server));
  return listenRaw(server, host, port);
}

function listenRaw(server: Server | Http2Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting, lets requests in flight finish, and closes every other connection at once. */
export function closeServer(server: Server): Promise<void> {
  const tracker = trackers.get(server);
  if (tracker) return tracker.close();
  return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}
