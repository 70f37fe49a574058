// Calls from inside the mesh for a lab's check: a service's identity borrowed for a moment, to see what its sidecar would be let do.
import { ContractCheck, JoinCreated, JoinRevoked, type JoinCreateBody, type JoinRevokeBody } from '@meshcart/control-plane-api';
import { EndpointsSnapshot } from '@meshcart/mesh-config';
import { createSecureContext } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import type { LabMesh } from './lab-mesh';

const joinCreated = new ContractCheck(JoinCreated);
const joinRevoked = new ContractCheck(JoinRevoked);
const endpointsSnapshot = new ContractCheck(EndpointsSnapshot);

export interface ProbeAnswer {
  status: number;
  /** The mesh's error code (x-meshcart-error), if the mesh answered. */
  code?: string;
}

/**
 * The workload certificate `service` would get: a join credential is made for it (meshctl join create), used
 * once to get the certificate, and revoked at once (the certificate still proves the identity to peers).
 */
export async function borrowIdentity(mesh: LabMesh, service: string): Promise<{ key: string; cert: string; ca: string }> {
  const created = await mesh.api.call('POST', '/api/v1/join-credentials', joinCreated, { service } satisfies JoinCreateBody);
  try {
    // The data plane's own client, loaded only when a check needs it.
    const { WorkloadIdentity } = await import('@meshcart/sidecar');
    const identity = new WorkloadIdentity({ service, controlPlaneUrls: [mesh.api.baseUrl], join: { token: created.token } });
    const c = await identity.ensure('ECDSA_P256');
    identity.stop();
    return { key: c.keyPem, cert: c.certPem, ca: c.caPem };
  } finally {
    await mesh.api.call('POST', '/api/v1/join-credentials/revoke', joinRevoked, { id: created.credential.id } satisfies JoinRevokeBody);
  }
}

/** Where `service`'s sidecars take mesh traffic (its registered endpoints). */
export async function endpointsOf(mesh: LabMesh, service: string): Promise<string[]> {
  const snapshot = await mesh.api.call('GET', '/api/v1/endpoints', endpointsSnapshot);
  return (snapshot.clusters[service] ?? []).filter((e) => e.mtls).map((e) => e.url.replace(/^http:/, 'https:'));
}

/** One call over mTLS with `identity`'s certificate straight to a sidecar's inbound port, as a peer sidecar sends it. */
export async function callAs(
  identity: { key: string; cert: string; ca: string },
  endpoint: string,
  call: { method: Dispatcher.HttpMethod; path: string; body?: unknown },
): Promise<ProbeAnswer> {
  const agent = new Agent({
    connect: {
      secureContext: createSecureContext(identity),
      rejectUnauthorized: true,
      // Peers are named by SPIFFE ID, not host name; the CA check above is what matters for a probe.
      checkServerIdentity: () => undefined,
    },
  });
  try {
    const res = await request(`${endpoint}${call.path}`, {
      dispatcher: agent,
      method: call.method,
      headers: call.body !== undefined ? { 'content-type': 'application/json' } : {},
      body: call.body !== undefined ? JSON.stringify(call.body) : undefined,
      headersTimeout: 10_000,
    });
    await res.body.dump();
    const code = res.headers['x-meshcart-error'];
    return { status: res.statusCode, ...(typeof code === 'string' ? { code } : {}) };
  } finally {
    await agent.close();
  }
}
