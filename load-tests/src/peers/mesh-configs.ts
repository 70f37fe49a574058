// The MeshConfig files the MeshCart peers run under: minimal (plaintext or mTLS) and the optimized profile's full policy set.
import { parseMeshConfig, type MeshConfig } from '@meshcart/mesh-config';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

export const CLIENT_SERVICE = 'bench-client';
export const UPSTREAM_SERVICE = 'bench-upstream';

/** Only what carries a request: keep-alive pool, round robin, no retries, breakers, outlier detection, logs or authorization rules. */
export function minimalConfig(mtls: 'DISABLE' | 'STRICT'): string {
  return `# bench:peers, minimal policy: the cost of the hop itself.
apiVersion: meshcart.io/v1alpha1
kind: MeshConfig
metadata: { name: bench-minimal-${mtls.toLowerCase()} }
spec:
  mtls: { mode: ${mtls}, keyType: ECDSA_P256, certTtl: 24h }
  defaults:
    mode: sidecar
    policy:
      connectionPool: { maxConnections: 64, maxRequestsPerConnection: 0, idleTimeoutMs: 60000 }
      loadBalancer: { policy: ROUND_ROBIN }
    accessLog: { mode: 'off' }
    routeMatching: compiled
  services:
    ${CLIENT_SERVICE}: {}
    ${UPSTREAM_SERVICE}: {}
`;
}

/**
 * deploy/mesh/optimized.yaml as it is (mTLS STRICT ECDSA P-256, retries with budget, breaker,
 * outlier detection, least-request, sampled access log, default-deny authorization), with the
 * shop's services and edge routes replaced by the two bench services and one rule between them.
 */
export function fullConfig(root: string, mode: 'sidecar' | 'proxyless'): string {
  const doc = parse(readFileSync(join(root, 'deploy/mesh/optimized.yaml'), 'utf8')) as MeshConfig;
  doc.metadata.name = `bench-full-${mode}`;
  doc.spec.services = { [CLIENT_SERVICE]: { mode }, [UPSTREAM_SERVICE]: { mode } };
  doc.spec.authorization = {
    defaultAction: 'DENY',
    rules: [{ to: UPSTREAM_SERVICE, from: [CLIENT_SERVICE], methods: ['GET'], paths: ['/items/*'] }],
  };
  delete doc.spec.edge;
  const text = `# bench:peers, the optimized profile's policies between ${CLIENT_SERVICE} and ${UPSTREAM_SERVICE}.\n${stringify(doc)}`;
  parseMeshConfig(text); // fail here, with the schema's reasons, rather than in the control plane
  return text;
}
