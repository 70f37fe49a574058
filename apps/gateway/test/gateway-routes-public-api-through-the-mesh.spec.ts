import { compileProxyResources, endpointsSnapshot, loadMeshConfigFile } from '@meshcart/mesh-config';
import { MeshRuntime } from '@meshcart/sidecar';
import { startRecordingServer, type RecordingServer } from '@meshcart/testing';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';

const config = loadMeshConfigFile(join(__dirname, '../../../deploy/mesh/optimized.yaml'));
config.spec.defaults!.accessLog = { mode: 'off' };
// Plaintext recording servers stand in for the services here, and no certificate is issued: under the
// profile's STRICT mTLS the gateway would send them nothing (that refusal is tested in libs/sidecar).
config.spec.mtls = { ...config.spec.mtls!, mode: 'PERMISSIVE' };

let mesh: MeshRuntime;
let app: ReturnType<typeof buildApp>;
let users: RecordingServer;
let products: RecordingServer;
let orders: RecordingServer;

beforeAll(async () => {
  [users, products, orders] = await Promise.all([startRecordingServer(), startRecordingServer(), startRecordingServer()]);
  // No control plane here: the snapshot a push would carry is applied directly.
  mesh = new MeshRuntime({
    service: 'gateway',
    instance: 'gateway-test',
    mode: 'edge',
    controlPlaneUrls: ['http://127.0.0.1:9'],
    admin: { host: '127.0.0.1', port: 0 },
    logger: pino({ level: 'silent' }),
  });
  app = buildApp({ mesh, logger: false });
});

afterAll(async () => {
  await app.close();
  await mesh.close();
  await Promise.all([users.close(), products.close(), orders.close()]);
});

// Registered as the shop's v1 instances are: the shipped profiles route product calls to the v1 subset.
const endpoint = (instance: string, s: RecordingServer) => ({ instance, url: s.url, weight: 1, labels: { version: 'v1' } });

describe('gateway', () => {
  it('is live at once but not ready until the mesh has config', async () => {
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await app.inject('/readyz')).statusCode).toBe(503);
    const early = await app.inject('/api/products');
    expect(early.statusCode).toBe(503);
    expect(early.json().error.code).toBe('MESH_ERR_NOT_READY');

    mesh.dataPlane.applyResources(compileProxyResources(config, 'gateway'));
    mesh.dataPlane.applyEndpoints(
      endpointsSnapshot({
        'user-service': [endpoint('u1', users)],
        'product-service': [endpoint('p1', products)],
        'order-service': [endpoint('o1', orders)],
      }),
    );
    expect((await app.inject('/readyz')).statusCode).toBe(200);
  });

  it('rewrites public paths to service paths and keeps the query string', async () => {
    const res = await app.inject('/api/products?search=kettle&page=2');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ method: 'GET', url: '/products?search=kettle&page=2' });
    expect((await app.inject('/api/products/p-001')).json()).toMatchObject({ url: '/products/p-001' });
  });

  it('streams request bodies and passes headers through to the service', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/orders',
      // A public client naming a service in x-meshcart-src: the gateway sends its own name instead.
      headers: { authorization: 'Bearer t', 'idempotency-key': 'k1', 'content-type': 'application/json', 'x-meshcart-src': 'order-service' },
      payload: { items: [{ productId: 'p-001', quantity: 1 }] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ method: 'POST', url: '/orders', body: '{"items":[{"productId":"p-001","quantity":1}]}' });
    const seen = orders.requests.at(-1)!;
    expect(seen.headers['authorization']).toBe('Bearer t');
    expect(seen.headers['idempotency-key']).toBe('k1');
    expect(seen.headers['x-meshcart-src']).toBe('gateway');
    expect(seen.headers['x-request-id']).toBeTruthy();
  });

  it('routes by method: registration is POST only, so GET /api/users is not routed', async () => {
    expect((await app.inject({ method: 'POST', url: '/api/users', payload: {} })).json()).toMatchObject({ url: '/users' });
    const res = await app.inject('/api/users');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('MESH_ERR_NO_ROUTE');
    expect((await app.inject('/api/users/someone-else')).statusCode).toBe(404);
  });

  it('counts edge requests in the mesh metrics', async () => {
    const text = await mesh.metrics.metrics();
    expect(text).toMatch(/mesh_requests_total\{direction="edge",src_service="gateway",dst_service="product-service",status_code="200"[^}]*\} 2/);
  });
});
