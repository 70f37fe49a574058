// How a proxy or a replica talks to a control plane over mTLS: its own certificate presented, the control plane's identity checked.
import type { PeerCertificate } from 'node:tls';
import { Agent } from 'undici';

/** The service account in a control plane's SPIFFE ID (spiffe://<domain>/ns/<ns>/sa/control-plane). */
export const CONTROL_PLANE_ACCOUNT = 'control-plane';

/** The control plane's SPIFFE ID in the trust domain and namespace of `workloadId` (any SPIFFE ID of the mesh). */
export function controlPlaneIdFor(workloadId: string): string {
  return workloadId.replace(/\/sa\/[^/]+$/, `/sa/${CONTROL_PLANE_ACCOUNT}`);
}

/** The mTLS base URL of the control plane at `plainUrl`, whose mTLS port is `port`. */
export function mtlsUrl(plainUrl: string, port: number): string {
  const url = new URL(plainUrl);
  url.protocol = 'https:';
  url.port = String(port);
  return url.origin;
}

/**
 * A dispatcher that presents `key`/`cert` and accepts only a server whose certificate chains to `ca`
 * and names `expectedId`: the address it dials proves nothing (a container name, a pod IP).
 */
export function controlPlaneAgent(c: { key: string; cert: string; ca: string }, expectedId: string): Agent {
  return new Agent({
    connect: {
      key: c.key,
      cert: c.cert,
      ca: c.ca,
      checkServerIdentity: (_host: string, peer: PeerCertificate) => {
        const ids = (peer.subjectaltname ?? '').split(', ').filter((n) => n.startsWith('URI:'));
        return ids.includes(`URI:${expectedId}`)
          ? undefined
          : new Error(`the server at this address is ${ids.join(', ') || 'no SPIFFE identity'}, not the control plane (${expectedId})`);
      },
    },
    keepAliveTimeout: 30_000,
  });
}
