// The sidecar's inbound side over HTTP/2 cleartext, for peers whose h2UpgradePolicy is UPGRADE.
import { createServer as createH2cServer, type Http2Server, type Http2Session } from 'node:http2';
import { MtlsRequiredError } from '../core/errors';
import type { Inbound } from '../tiers/inbound';
import { sendError } from './http-bridge';
import { inboundHandler } from './inbound-server';

const h2Sessions = new WeakMap<Http2Server, Set<Http2Session>>();

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

/** GOAWAY to every session: streams in flight finish, no new ones start. */
export function closeH2cServer(server: Http2Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    for (const session of h2Sessions.get(server) ?? []) session.close();
  });
}
