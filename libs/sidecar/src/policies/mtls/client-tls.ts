// Client-side mTLS to a peer sidecar: our certificate, the mesh root, and the SPIFFE ID the server must prove.
import type { ConnectionPoolSettings } from '@meshcart/mesh-config';
import { createSecureContext } from 'node:tls';

/** Client-side mTLS: our certificate, the mesh root, and the SPIFFE ID the server must prove. */
export interface ClientTls {
  cert: string;
  key: string;
  ca: string;
  /** Changes with every renewal: a new version gets new connections, old ones finish their work. */
  version: number;
  expectedId: string;
}

export function tlsConnect(s: ConnectionPoolSettings, tls: ClientTls) {
  return {
    timeout: s.connectTimeoutMs,
    // One TLS context per pool, built here once. Given cert/key/ca instead, Node parses the PEMs and
    // builds a fresh context (and CA store) for every connection: ~2 ms of CPU per new connection,
    // which a profile that opens one per request (maxRequestsPerConnection: 1) paid on every call.
    secureContext: createSecureContext({ cert: tls.cert, key: tls.key, ca: tls.ca }),
    rejectUnauthorized: true,
    // Peers are named by SPIFFE ID, not host name: the certificate must carry the destination's ID.
    checkServerIdentity: (_host: string, cert: { subjectaltname?: string }) => {
      const ids = (cert.subjectaltname ?? '')
        .split(', ')
        .filter((n) => n.startsWith('URI:'))
        .map((n) => n.slice(4));
      return ids.includes(tls.expectedId) ? undefined : new Error(`peer is ${ids.join(', ') || 'anonymous'}, expected ${tls.expectedId}`);
    },
  };
}
