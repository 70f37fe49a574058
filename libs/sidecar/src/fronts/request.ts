// The one way every front turns what arrived into a MeshRequest: the headers passed on, who calls whom, and the request's context.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Cancellation } from '../core/cancellation';
import type { Direction, Headers, MeshRequest } from '../core/types';

/**
 * The header a proxy names its service in, for the peer's metrics on plaintext. Never an identity: over
 * mTLS the certificate alone names the caller, and authorization never reads it (see principalOf).
 */
export const SOURCE_HEADER = 'x-meshcart-src';

/** Who is on the other end of an inbound connection, as its TLS handshake proved it. */
export interface PeerIdentity {
  /** The connection is mTLS: the caller presented a certificate signed by the mesh's CA. */
  tls: boolean;
  /** The SPIFFE ID (URI SAN) of that certificate. */
  spiffeId?: string;
  /** The service the SPIFFE ID names in this mesh's trust domain and namespace; undefined for any other ID. */
  service?: string;
}

/** A plaintext connection: nothing proven. */
export const PLAINTEXT: PeerIdentity = Object.freeze({ tls: false });

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
]);

const NONE: readonly string[] = [];
const CLOSE: readonly string[] = ['close'];

/** The header names the request's Connection header lists, to be dropped with it. */
export function connectionOptions(raw: IncomingHttpHeaders | Headers): readonly string[] {
  const connection = raw['connection'];
  if (typeof connection !== 'string') return NONE;
  // What nearly every client sends, answered without splitting and lower-casing it per request
  // (that was most of forwardableHeaders' time in bench:peers); keep-alive is hop-by-hop anyway.
  if (connection === 'keep-alive') return NONE;
  if (connection === 'close') return CLOSE;
  return connection
    .toLowerCase()
    .split(',')
    .map((s) => s.trim());
}

/**
 * Copies headers without hop-by-hop ones, including any the Connection header names, and without
 * `drop` if given (left out here rather than deleted afterwards: a delete turns the object into a
 * slow dictionary for every later reader, which was the inbound handler's largest cost).
 */
export function forwardableHeaders(raw: IncomingHttpHeaders | Headers, drop?: string): Headers {
  const named = connectionOptions(raw);
  const out: Headers = {};
  for (const name in raw) {
    // HTTP/2 pseudo-headers (:method, :path, ...) describe this hop only.
    if (HOP_BY_HOP.has(name) || name === drop || name.startsWith(':') || (named.length > 0 && named.includes(name))) continue;
    out[name] = raw[name];
  }
  return out;
}

/** Headers for a call this proxy's service makes to `dst`: the forwardable ones, the destination as Host, and who calls. */
export function outgoingHeaders(raw: IncomingHttpHeaders | Headers, dst: string, src: string): Headers {
  const headers = forwardableHeaders(raw);
  headers['host'] = dst;
  headers[SOURCE_HEADER] = src;
  return headers;
}

/**
 * The calling service of an inbound request, for metrics and logs. Over mTLS, the service its
 * certificate proves, and only that ('unknown' for a certificate naming no service of this mesh),
 * whatever the headers say. On plaintext, the name the caller's proxy gives in a header: a claim,
 * unproven, so authorization does not use it (principalOf). Like any header the Connection header
 * names, a claim so named is not taken.
 */
export function callerOf(raw: IncomingHttpHeaders | Headers, peer: PeerIdentity): string {
  if (peer.tls) return peer.service ?? 'unknown';
  const claimed = connectionOptions(raw).includes(SOURCE_HEADER) ? undefined : raw[SOURCE_HEADER];
  return typeof claimed === 'string' ? claimed : 'unknown';
}

/**
 * The caller as authorization knows it: the service an mTLS certificate proves, or none. A plaintext
 * caller has no principal, whatever it names itself (as in Istio: no mTLS, no principal).
 */
export function principalOf(peer: PeerIdentity): string | undefined {
  return peer.tls ? peer.service : undefined;
}

/**
 * The destination service of an outbound request: from an absolute-form URI (`GET http://payment-service/charges`,
 * what HTTP_PROXY clients send) or else from the Host header. Ports are ignored: names are services.
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

/** A request as it arrived at a front, before the mesh knows more about it. */
export interface Arrival {
  method: string;
  /** Path and query string, as it will be sent on. */
  path: string;
  headers: Headers;
  body: Readable | null;
  /** Cancelled when the caller goes away (or gives up), if the front can tell. */
  cancellation?: Cancellation;
}

/**
 * The one request-context builder: every front (sidecar listeners, edge, proxyless dispatcher and
 * inbound) makes its requests here. `principal`: inbound only, the caller proven by its certificate.
 */
export function meshRequest(direction: Direction, srcService: string, dstService: string, arrival: Arrival, principal?: string): MeshRequest {
  return {
    method: arrival.method,
    path: arrival.path,
    headers: arrival.headers,
    body: arrival.body,
    // Every context starts with the same fields in the same order: one shape for the layers to read.
    ctx: { direction, srcService, dstService, cancellation: arrival.cancellation, principal },
  };
}
