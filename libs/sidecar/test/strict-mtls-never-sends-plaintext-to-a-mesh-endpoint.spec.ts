import { compileProxyResources, endpointsSnapshot, parseMeshConfig, type Endpoint } from '@meshcart/mesh-config';
import { startControlPlaneProcess, startRecordingServer, type ControlPlaneProcess, type RecordingServer } from '@meshcart/testing';
import pino from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Credentials } from '../src/control/workload-identity';
import { MeshDispatcher, Sidecar, WorkloadIdentity } from '../src/index';

const silent = pino({ level: 'silent' });
const configOf = (mode: 'STRICT' | 'PERMISSIVE') => `
apiVersion: meshcart.io/v1alpha1
kind: MeshConfig
metadata: { name: test }
spec:
  mtls: { mode: ${mode}, keyType: ECDSA_P256, certTtl: 1h }
  defaults:
    accessLog: { mode: 'off' }
    policy: { loadBalancer: { policy: ROUND_ROBIN } }
  services: { order-service: {}, payment-service: {} }
`;
const strict = compileProxyResources(parseMeshConfig(configOf('STRICT')), 'order-service');
const permissive = compileProxyResources(parseMeshConfig(configOf('PERMISSIVE')), 'order-service');

let cp: ControlPlaneProcess;
let paymentApp: RecordingServer;
/** An address that took a registration without mTLS: it answers like an app, and must never be sent anything under STRICT. */
let intruder: RecordingServer;
let payment: { sidecar: Sidecar; inbound: number; admin: number };
let order: { sidecar: Sidecar; outbound: number; admin: number };
let orderCredentials: Credentials;
let meshEndpoint: Endpoint;
let plaintextEndpoint: Endpoint;

async function ready(adminPort: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const res = await request(`http://127.0.0.1:${adminPort}/ready`);
    await res.body.dump();
    if (res.statusCode === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('never became ready');
}

beforeAll(async () => {
  cp = await startControlPlaneProcess(configOf('STRICT'));
  [paymentApp, intruder] = await Promise.all([startRecordingServer(), startRecordingServer()]);
  // payment-service: a real sidecar, registered with the control plane, serving mTLS with its certificate.
  const p = new Sidecar({
    service: 'payment-service',
    instance: 'payment-1',
    appUrl: paymentApp.url,
    controlPlaneUrls: [cp.url],
    join: { token: cp.joinToken('payment-service') },
    logger: silent,
  });
  const pPorts = await p.start();
  payment = { sidecar: p, inbound: pPorts.inbound, admin: pPorts.admin };
  await ready(pPorts.admin);
  // order-service's sidecar takes its endpoint lists from the test, as pushed, so that one can list an
  // endpoint without mTLS whatever the control plane would accept; its certificate is a real one.
  const o = new Sidecar({
    service: 'order-service',
    instance: 'order-1',
    appUrl: 'http://127.0.0.1:9',
    controlPlaneUrls: ['http://127.0.0.1:9'],
    logger: silent,
  });
  const oPorts = await o.start();
  order = { sidecar: o, outbound: oPorts.outbound, admin: oPorts.admin };
  const identity = new WorkloadIdentity({ service: 'order-service', controlPlaneUrls: [cp.url], join: { token: cp.joinToken('order-service') } });
  orderCredentials = await identity.ensure('ECDSA_P256');
  identity.stop();
  order.sidecar.runtime.dataPlane.setCredentials(orderCredentials);
  order.sidecar.runtime.dataPlane.applyResources(strict);
  meshEndpoint = { instance: 'payment-1', url: `http://127.0.0.1:${payment.inbound}`, mtls: true, weight: 1, labels: {} };
  plaintextEndpoint = { instance: 'intruder-1', url: intruder.url, weight: 1, labels: {} };
}, 90_000);

afterAll(async () => {
  await order?.sidecar.stop();
  await payment?.sidecar.stop();
  await Promise.all([paymentApp?.close(), intruder?.close()]);
  await cp?.stop();
});

const viaSidecar = async (path = '/charges') => {
  const res = await request(`http://127.0.0.1:${order.outbound}${path}`, { headers: { host: 'payment-service' } });
  return { status: res.statusCode, body: await res.body.text() };
};
const viaProxyless = async (path = '/charges') => {
  const res = await request(`http://payment-service${path}`, { dispatcher: new MeshDispatcher(order.sidecar.runtime.dataPlane, 'order-service') });
  return { status: res.statusCode, body: await res.body.text() };
};
const orderMetrics = async () => (await request(`http://127.0.0.1:${order.admin}/metrics`)).body.text();
const sampleOf = (text: string, name: string) =>
  Number(new RegExp(`^${name}\\{dst_service="payment-service"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);

describe('under STRICT mTLS the outbound side never sends plaintext to a mesh endpoint', () => {
  it('balances only over endpoints that offer mTLS, leaving the plaintext one out, shown in config_dump and counted', async () => {
    order.sidecar.runtime.dataPlane.applyEndpoints(endpointsSnapshot({ 'payment-service': [meshEndpoint, plaintextEndpoint] }));
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await viaSidecar()).status, (await viaProxyless()).status);
    expect(statuses).toEqual(new Array(12).fill(200));
    expect(paymentApp.requests).toHaveLength(12);
    expect(intruder.requests).toHaveLength(0);
    expect(intruder.connections()).toBe(0);
    expect(sampleOf(await orderMetrics(), 'mesh_plaintext_endpoints')).toBe(1);
    const dump = (await (await request(`http://127.0.0.1:${order.admin}/config_dump`)).body.json()) as {
      clusters: { name: string; endpoints: { instance: string }[]; plaintextRefused: { instance: string }[] }[];
    };
    const cluster = dump.clusters.find((c) => c.name === 'payment-service')!;
    expect(cluster.endpoints.map((e) => e.instance)).toEqual(['payment-1']);
    expect(cluster.plaintextRefused.map((e) => e.instance)).toEqual(['intruder-1']);
  });

  it('refuses with 503 MESH_ERR_PLAINTEXT_ENDPOINT_REFUSED, naming the endpoint and the mode, when only plaintext endpoints are left', async () => {
    order.sidecar.runtime.dataPlane.applyEndpoints(endpointsSnapshot({ 'payment-service': [plaintextEndpoint] }));
    const before = sampleOf(await orderMetrics(), 'mesh_plaintext_refused_total');
    for (const res of [await viaSidecar(), await viaProxyless()]) {
      expect(res.status).toBe(503);
      const { error } = JSON.parse(res.body) as { error: { code: string; message: string } };
      expect(error.code).toBe('MESH_ERR_PLAINTEXT_ENDPOINT_REFUSED');
      expect(error.message).toContain('STRICT');
      expect(error.message).toContain(`intruder-1 (${intruder.url})`);
    }
    expect(intruder.requests).toHaveLength(0);
    expect(intruder.connections()).toBe(0);
    expect(sampleOf(await orderMetrics(), 'mesh_plaintext_refused_total')).toBe(before + 2);
  });

  it('sends plaintext to such an endpoint under PERMISSIVE, and stops again when STRICT is pushed back', async () => {
    const dataPlane = order.sidecar.runtime.dataPlane;
    dataPlane.applyEndpoints(endpointsSnapshot({ 'payment-service': [meshEndpoint, plaintextEndpoint] }));
    dataPlane.applyResources(permissive);
    for (let i = 0; i < 4; i++) expect((await viaSidecar()).status).toBe(200);
    expect(intruder.requests.length).toBeGreaterThan(0);
    expect(sampleOf(await orderMetrics(), 'mesh_plaintext_endpoints')).toBe(0);
    dataPlane.applyResources(strict);
    const seen = intruder.requests.length;
    for (let i = 0; i < 4; i++) expect((await viaSidecar()).status).toBe(200);
    expect(intruder.requests).toHaveLength(seen);
    expect(sampleOf(await orderMetrics(), 'mesh_plaintext_endpoints')).toBe(1);
  });

  it('sends nothing before its workload certificate arrives, rather than plaintext to an mTLS endpoint', async () => {
    const fresh = new Sidecar({
      service: 'order-service',
      instance: 'order-2',
      appUrl: 'http://127.0.0.1:9',
      controlPlaneUrls: ['http://127.0.0.1:9'],
      logger: silent,
    });
    const ports = await fresh.start();
    try {
      fresh.runtime.dataPlane.applyResources(strict);
      fresh.runtime.dataPlane.applyEndpoints(endpointsSnapshot({ 'payment-service': [meshEndpoint] }));
      const served = paymentApp.requests.length;
      const early = await request(`http://127.0.0.1:${ports.outbound}/charges`, { headers: { host: 'payment-service' } });
      expect(early.statusCode).toBe(503);
      const { error } = (await early.body.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('MESH_ERR_NOT_READY');
      expect(error.message).toContain('no workload certificate yet');
      expect(paymentApp.requests).toHaveLength(served);
      fresh.runtime.dataPlane.setCredentials(orderCredentials);
      const later = await request(`http://127.0.0.1:${ports.outbound}/charges`, { headers: { host: 'payment-service' } });
      await later.body.dump();
      expect(later.statusCode).toBe(200);
    } finally {
      await fresh.stop();
    }
  });
});
