import { compileProxyResources, endpointsSnapshot, parseMeshConfig } from '@meshcart/mesh-config';
import { startRecordingServer, type RecordingServer } from '@meshcart/testing';
import pino from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sidecar } from '../../runtime/sidecar';
import { isAllowed } from './authorization-layer';

const config = parseMeshConfig(`
apiVersion: meshcart.io/v1alpha1
kind: MeshConfig
metadata: { name: authz }
spec:
  defaults: { accessLog: { mode: 'off' } }
  authorization:
    defaultAction: DENY
    rules:
      - to: payment-service
        from: [order-service]
        methods: [POST]
        paths: [/charges, /charges/*]
  services: { order-service: {}, user-service: {}, payment-service: {} }
`);

let app: RecordingServer;
const sidecars: Record<string, { s: Sidecar; outbound: number; admin: number; inbound: number }> = {};

beforeAll(async () => {
  app = await startRecordingServer();
  for (const [service, appUrl] of [
    ['order-service', 'http://127.0.0.1:9'],
    ['user-service', 'http://127.0.0.1:9'],
    ['payment-service', app.url],
  ] as const) {
    const s = new Sidecar({ service, instance: service, appUrl, controlPlaneUrls: ['http://127.0.0.1:9'], logger: pino({ level: 'silent' }) });
    const ports = await s.start();
    sidecars[service] = { s, ...ports };
  }
  const endpoints = endpointsSnapshot({
    'payment-service': [{ instance: 'p1', url: `http://127.0.0.1:${sidecars['payment-service']!.inbound}`, weight: 1, labels: {} }],
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

const call = async (from: string, method: string, path: string) => {
  const res = await request(`http://127.0.0.1:${sidecars[from]!.outbound}${path}`, {
    method: method as 'GET',
    headers: { host: 'payment-service' },
    body: method === 'POST' ? '{}' : undefined,
  });
  const text = await res.body.text();
  return { status: res.statusCode, code: res.statusCode === 403 ? (JSON.parse(text) as { error: { code: string } }).error.code : undefined };
};

describe('authorization (default deny)', () => {
  it('lets through what a rule allows, and refuses the rest with 403 MESH_ERR_FORBIDDEN', async () => {
    expect(await call('order-service', 'POST', '/charges')).toEqual({ status: 200, code: undefined });
    expect(await call('order-service', 'POST', '/charges/ch_1/refund')).toEqual({ status: 200, code: undefined });
    expect(await call('order-service', 'GET', '/charges')).toEqual({ status: 403, code: 'MESH_ERR_FORBIDDEN' });
    expect(await call('order-service', 'POST', '/chargesx')).toEqual({ status: 403, code: 'MESH_ERR_FORBIDDEN' });
    expect(await call('user-service', 'POST', '/charges')).toEqual({ status: 403, code: 'MESH_ERR_FORBIDDEN' });
    expect(app.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /charges', 'POST /charges/ch_1/refund']);
    const metrics = await (await request(`http://127.0.0.1:${sidecars['payment-service']!.admin}/metrics`)).body.text();
    expect(metrics).toMatch(/mesh_authz_denied_total\{src_service="user-service",dst_service="payment-service"[^}]*\} 1/);
    expect(metrics).toMatch(/mesh_authz_denied_total\{src_service="order-service",dst_service="payment-service"[^}]*\} 2/);
  });

  it('matches paths exactly, by "/prefix/*", or "*"', () => {
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
    expect(isAllowed({ defaultAction: 'ALLOW', rules: [] }, 'b', 'DELETE', '/z')).toBe(true);
  });
});
