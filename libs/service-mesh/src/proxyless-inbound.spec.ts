import { compileProxyResources, endpointsSnapshot, parseMeshConfig } from '@meshcart/mesh-config';
import { createServiceApp } from '@meshcart/service-kit';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { MeshRuntime } from '@meshcart/sidecar';
import { installProxylessInbound } from './proxyless-inbound';

const config = parseMeshConfig(`
apiVersion: meshcart.io/v1alpha1
kind: MeshConfig
metadata: { name: t }
spec:
  defaults: { accessLog: { mode: 'off' } }
  services:
    order-service: {}
    payment-service: { rateLimit: { requestsPerSecond: 1, burst: 2 } }
`);

const runtime = new MeshRuntime({
  service: 'payment-service',
  instance: 'payment-1',
  mode: 'proxyless',
  controlPlaneUrls: ['http://127.0.0.1:9'],
  admin: { host: '127.0.0.1', port: 0 },
  logger: pino({ level: 'silent' }),
});
runtime.dataPlane.applyResources(compileProxyResources(config, 'payment-service'));
runtime.dataPlane.applyEndpoints(endpointsSnapshot({}));
const app = createServiceApp({ name: 'payment-service', logger: false });
app.get('/charges', async () => ({ ok: true }));
installProxylessInbound(app, runtime, 'payment-service');
afterAll(async () => {
  await app.close();
  await runtime.close();
});

describe('proxyless inbound', () => {
  it('enforces the service rate limit in the app and counts inbound requests by caller', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await app.inject({ url: '/charges', headers: { 'x-meshcart-src': 'order-service' } })).statusCode);
    expect(statuses).toEqual([200, 200, 429]);
    const limited = await app.inject({ url: '/charges' });
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json().error.code).toBe('MESH_ERR_RATE_LIMITED');
    const text = await runtime.metrics.metrics();
    expect(text).toMatch(
      /mesh_requests_total\{direction="inbound",src_service="order-service",dst_service="payment-service",status_code="200",route="default"[^}]*\} 2/,
    );
    expect(text).toMatch(
      /mesh_requests_total\{direction="inbound",src_service="order-service",dst_service="payment-service",status_code="429"[^}]*\} 1/,
    );
  });
});
