import { compileProxyResources, endpointsSnapshot, parseMeshConfig } from '@meshcart/mesh-config';
import { startRecordingServer, type RecordingServer } from '@meshcart/testing';
import { fetch, request, stream } from 'undici';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../policies/telemetry/telemetry-layer';
import { DataPlane } from '../runtime/data-plane';
import { MeshDispatcher } from './mesh-dispatcher';

const config = parseMeshConfig(`
apiVersion: meshcart.io/v1alpha1
kind: MeshConfig
metadata: { name: test }
spec:
  defaults: { accessLog: { mode: 'off' }, policy: { timeoutMs: 300 } }
  services: { order-service: {}, payment-service: {} }
`);

let payment: RecordingServer;
let slow: RecordingServer;
const records: RequestRecord[] = [];
let dispatcher: MeshDispatcher;

beforeAll(async () => {
  payment = await startRecordingServer();
  slow = await startRecordingServer((_req, res) => void setTimeout(() => res.end('late'), 2_000));
  const dp = new DataPlane({ observers: () => [{ onRequestEnd: (r) => records.push(r) }] });
  dp.applyResources(compileProxyResources(config, 'order-service'));
  dp.applyEndpoints(endpointsSnapshot({ 'payment-service': [{ instance: 'p1', url: payment.url, weight: 1, labels: {} }] }));
  dispatcher = new MeshDispatcher(dp, 'order-service');
  // A second plane whose only payment endpoint is slow, for the deadline test.
  const slowPlane = new DataPlane({ observers: () => [] });
  slowPlane.applyResources(compileProxyResources(config, 'order-service'));
  slowPlane.applyEndpoints(endpointsSnapshot({ 'payment-service': [{ instance: 's1', url: slow.url, weight: 1, labels: {} }] }));
  slowDispatcher = new MeshDispatcher(slowPlane, 'order-service');
});
let slowDispatcher: MeshDispatcher;

afterAll(async () => {
  await payment.close();
  await slow.close();
});

describe('MeshDispatcher (proxyless)', () => {
  it('runs undici.request through the mesh: the service name is the origin', async () => {
    const res = await request('http://payment-service/charges?x=1', {
      method: 'POST',
      body: '{"a":1}',
      headers: { 'content-type': 'application/json' },
      dispatcher,
    });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ method: 'POST', url: '/charges?x=1', body: '{"a":1}' });
    const seen = payment.requests.at(-1)!;
    expect(seen.headers['host']).toBe('payment-service');
    expect(seen.headers['x-meshcart-src']).toBe('order-service');
    expect(records.at(-1)).toMatchObject({
      direction: 'outbound',
      srcService: 'order-service',
      dstService: 'payment-service',
      statusCode: 200,
      endpoint: 'p1',
    });
  });

  it('serves fetch() and undici.stream as well', async () => {
    const res = await fetch('http://payment-service/refunds', { method: 'POST', body: 'r', dispatcher });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ url: '/refunds', body: 'r' });
    const chunks: Buffer[] = [];
    await stream('http://payment-service/s', { method: 'GET', dispatcher }, () => new Writable({ write: (c, _e, cb) => (chunks.push(c), cb()) }));
    expect(JSON.parse(Buffer.concat(chunks).toString())).toMatchObject({ url: '/s' });
  });

  it('answers mesh failures as a sidecar would: status, code header and JSON body', async () => {
    const res = await request('http://nobody/x', { dispatcher });
    expect(res.statusCode).toBe(404);
    expect(res.headers['x-meshcart-error']).toBe('MESH_ERR_NO_ROUTE');
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('MESH_ERR_NO_ROUTE');
  });

  it('enforces the route deadline in-process', async () => {
    const res = await request('http://payment-service/slow', { dispatcher: slowDispatcher });
    expect(res.statusCode).toBe(504);
    expect(res.headers['x-meshcart-error']).toBe('MESH_ERR_UPSTREAM_TIMEOUT');
    await res.body.dump();
  });
});
