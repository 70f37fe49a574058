// The sidecar's inbound port: mTLS and plaintext on one port (told apart by the first byte), per the mesh's mode.
import type { MtlsMode } from '@meshcart/mesh-config';
import { trackConnections } from '@meshcart/service-kit';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Credentials } from '../control/workload-identity';
import { serviceOfSpiffeId } from '../control/workload-identity';
import { MtlsRequiredError } from '../core/errors';
import type { Inbound } from '../tiers/inbound';
import { arrivalOf, respond, sendError, type AnyRequest, type AnyResponse } from './http-bridge';
import { callerOf, forwardableHeaders, meshRequest, PLAINTEXT, principalOf, SOURCE_HEADER, type PeerIdentity } from './request';

export type { PeerIdentity } from './request';

type Handler = (req: IncomingMessage, res: ServerResponse, peer: PeerIdentity) => void;

/**
 * Requests for the local app, from any inbound listener: `peer` is what the connection proved (mTLS:
 * the caller's certificate). Authorization sees only that; the source header counts for metrics on
 * plaintext alone and never reaches the app.
 */
export function inboundHandler(service: string, inbound: Inbound) {
  return (req: AnyRequest, res: AnyResponse, peer: PeerIdentity = PLAINTEXT): void => {
    const headers = forwardableHeaders(req.headers, SOURCE_HEADER);
    headers['host'] = req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? service;
    const arrival = arrivalOf(req, res, req.url ?? '/', headers);
    respond(inbound.handler, meshRequest('inbound', callerOf(req.headers, peer), service, arrival, principalOf(peer)), res);
  };
}

/**
 * How long an idle inbound connection stays open: longer than the optimized profile's 60 s pool
 * idle timeout. A caller set to keep connections longer is told this limit in the Keep-Alive
 * response header, which undici honours, so it never sends on a connection the server is closing.
 */
export const INBOUND_KEEP_ALIVE_MS = 75_000;

/** A TLS record starts with 0x16 (handshake); an HTTP/1.1 request starts with a method name. */
const TLS_HANDSHAKE = 0x16;

/**
 * The caller's SPIFFE ID (URI SAN) from its certificate, read once per connection: getPeerCertificate()
 * builds a whole object from the DER on every call, which was the inbound side's most expensive call
 * per request on keep-alive connections. The certificate cannot change on a live connection: TLS 1.3
 * has no renegotiation, and for TLS 1.2 it is disabled on every mesh connection (see the constructor).
 */
const peerIds = new WeakMap<TLSSocket, string | undefined>();

function spiffeIdOf(socket: TLSSocket): string | undefined {
  if (peerIds.has(socket)) return peerIds.get(socket);
  const cert = socket.getPeerCertificate();
  const id = (cert.subjectaltname ?? '')
    .split(', ')
    .find((n) => n.startsWith('URI:'))
    ?.slice(4);
  peerIds.set(socket, id);
  return id;
}

export class InboundServer {
  private readonly net: NetServer;
  private readonly plain;
  private readonly secure;
  private readonly trackers;

  constructor(
    handler: Handler,
    private readonly policy: () => { mode: MtlsMode; trustDomain: string; namespace: string },
    /** Called for every refused handshake: a wrong, expired or foreign certificate, or none. */
    onHandshakeFailure: (reason: string) => void = () => undefined,
  ) {
    this.plain = createHttpServer({ keepAliveTimeout: INBOUND_KEEP_ALIVE_MS }, (req, res) => {
      // STRICT refuses plaintext with a clear answer rather than a bare reset.
      if (this.policy().mode === 'STRICT') return sendError(res, new MtlsRequiredError('this service accepts only mTLS (PeerAuthentication STRICT)'));
      handler(req, res, PLAINTEXT);
    });
    // No certificate until the control plane issues one: handshakes fail until then, as they should.
    // Peers' pools keep idle connections for their idleTimeoutMs (60 s in the optimized profile).
    // Node's default of 5 s here would close them first, and every pause in traffic would cost each
    // caller a fresh round of mTLS handshakes; the server outlasts the callers instead.
    const keepAlive = { keepAliveTimeout: INBOUND_KEEP_ALIVE_MS };
    this.secure = createHttpsServer({ requestCert: true, rejectUnauthorized: true, ...keepAlive }, (req, res) => {
      const spiffeId = spiffeIdOf(req.socket as TLSSocket);
      const { trustDomain, namespace } = this.policy();
      handler(req, res, { tls: true, spiffeId, service: serviceOfSpiffeId(spiffeId, trustDomain, namespace) });
    });
    // A renegotiation could present another certificate under the identity read above; peers never need one.
    this.secure.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
    this.secure.on('tlsClientError', (err: Error & { code?: string }) => onHandshakeFailure(err.code ?? err.message));
    this.trackers = [trackConnections(this.plain), trackConnections(this.secure)];
    this.net = createNetServer((socket: Socket) => {
      socket.once('data', (first: Buffer) => {
        socket.pause();
        socket.unshift(first);
        const tls = first[0] === TLS_HANDSHAKE;
        if (!tls || this.policy().mode !== 'DISABLE') (tls ? this.secure : this.plain).emit('connection', socket);
        else socket.destroy();
        process.nextTick(() => socket.resume());
      });
      socket.on('error', () => socket.destroy());
    });
  }

  /** New credentials apply to new connections; live ones keep the certificate they were made with. */
  setCredentials(c: Credentials): void {
    this.secure.setSecureContext({ key: c.keyPem, cert: c.certPem, ca: c.caPem });
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.net.once('error', reject);
      this.net.listen(port, host, () => {
        this.net.off('error', reject);
        resolve((this.net.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting; requests in flight finish, every other connection closes now. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.net.listening) return resolve();
      this.net.close(() => resolve());
      for (const t of this.trackers) t.drain();
    });
  }

  connectionCount(): Promise<number> {
    return new Promise((resolve, reject) => this.net.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  }

  onConnection(listener: () => void): void {
    this.net.on('connection', listener);
  }
}
