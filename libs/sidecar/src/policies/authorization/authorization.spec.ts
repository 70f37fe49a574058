import { compileProxyResources, endpointsSnapshot, parseMeshConfig } from '@meshcart/mesh-config';
import { startRecordingServer, type RecordingServer } from '@meshcart/testing';
import pino from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sidecar } from '../../runtime/sidecar';
import { isAllowed } from './authorization-layer';

// PERMISSIVE and no certificates: every call here is plaintext, its caller only claimed (x-meshcart-src).
// The same rules over mTLS, where the certificate proves the caller: test/authorization-decides-on-the-caller-certificate.spec.ts.
const config = parseMeshConfig(`
apiVersion: meshcart.io/v1alpha1
kind: MeshConfig
metadata: { name: authz }
spec:
  mtls: { mode: PERMISSIVE, keyType: ECDSA_P256, certTtl: 1h }
  defaults: { accessLog: { mode: 'off' } }
  authorization:
    defaultAction: DENY
    rules:
      - to: payment-service
        from: [order-service]
        methods: [POST]
        paths: [/charges, /charges/*]
      - to: payment-service
        from: ['*']
        methods: [GET]
        paths: [/status]
  services: { order-service: {}, payment-service: {} }
`);

let app: RecordingServer;
const sidecars: Record<string, { s: Sidecar; outbound: number; admin: number; inbound: number }> = {};

beforeAll(async () => {
  app = await startRecordingServer();
  for (const [service, appUrl] of [
    ['order-service', 'http://127.0.0.1:9'],
    ['payment-service', app.url],
  ] as const) {
    const s = new Sidecar({ service, instance: service, appUrl, controlPlaneUrls: ['http://127.0.0.1:9'], logger: pino({ level: 'silent' }) });
    const ports = await s.start();
    sidecars[service] = { s, ...ports };
  }
  const endpoints = endpointsSnapshot({
    'payment-service': [{ instance: 'p1', url: `http://127.0.0.1:${sidecars['payment-service']!.inbound}`, mtls: true, weight: 1, labels: {} }],
  });
  for (const [service, { s }] of Object.entries(sidecars)) {
    s.runtime.dataPlane.applyResources(compileProxyResources(config, service));
    s.runtime.dataPlane.applyEndpoints(endpoints);
  }
});
afterAll(async () => {
  for (const { s } of Object.values(sidecars)) await s.stop();
  await app.close();
});

describe('authorization on plaintext (PERMISSIVE)', () => {
  it('gives a caller that only names itself none of the rules naming services; rules for any caller still admit it', async () => {
    const charge = await request(`http://127.0.0.1:${sidecars['order-service']!.outbound}/charges`, {
      method: 'POST',
      headers: { host: 'payment-service' },
      body: '{}',
    });
    expect(charge.statusCode).toBe(403);
    const { error } = (await charge.body.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('MESH_ERR_FORBIDDEN');
    expect(error.message).toMatch(/^an unauthenticated caller \(claiming to be order-service, without an mTLS certificate\) may not POST \/charges/);
    const status = await request(`http://127.0.0.1:${sidecars['order-service']!.outbound}/status`, { headers: { host: 'payment-service' } });
    await status.body.dump();
    expect(status.statusCode).toBe(200);
    expect(app.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /status']);
    const metrics = await (await request(`http://127.0.0.1:${sidecars['payment-service']!.admin}/metrics`)).body.text();
    // Denials name what authorization knew of the caller; request metrics keep the name it gave.
    expect(metrics).toMatch(/mesh_authz_denied_total\{src_service="unauthenticated",dst_service="payment-service"[^}]*\} 1/);
    expect(metrics).toMatch(
      /mesh_requests_total\{direction="inbound",src_service="order-service",dst_service="payment-service",status_code="403"[^}]*\} 1/,
    );
  });

  it('matches paths exactly, by "/prefix/*", or "*"; a caller no certificate proved matches only "*" rules', () => {
    const policy = {
      defaultAction: 'DENY' as const,
      rules: [
        { from: ['a'], paths: ['/x', '/y/*'] },
        { from: ['*'], methods: ['GET'], paths: ['*'] },
      ],
    };
    expect(isAllowed(policy, 'a', 'POST', '/x?q=1')).toBe(true);
    expect(isAllowed(policy, 'a', 'POST', '/x/1')).toBe(false);
    expect(isAllowed(policy, 'a', 'POST', '/y')).toBe(true);
    expect(isAllowed(policy, 'a', 'POST', '/y/z/w')).toBe(true);
    expect(isAllowed(policy, 'b', 'POST', '/y')).toBe(false);
    expect(isAllowed(policy, 'b', 'GET', '/anything')).toBe(true);
    expect(isAllowed(policy, undefined, 'POST', '/x')).toBe(false);
    expect(isAllowed(policy, undefined, 'GET', '/x')).toBe(true);
    expect(isAllowed({ defaultAction: 'ALLOW', rules: [] }, 'b', 'DELETE', '/z')).toBe(true);
    expect(isAllowed({ defaultAction: 'ALLOW', rules: [] }, undefined, 'DELETE', '/z')).toBe(true);
  });
});
