import { createServiceApp, readServiceEnv, type ServiceApp } from '@meshcart/service-kit';
import { Sidecar, WorkloadIdentity } from '@meshcart/sidecar';
import { startControlPlaneProcess, startRecordingServer, type ControlPlaneProcess, type RecordingServer } from '@meshcart/testing';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Pool, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceMesh } from '../src/index';

// order-service and payment-service run proxyless (the mesh in the app), user-service beside a sidecar.
const config = `
apiVersion: meshcart.io/v1alpha1
kind: MeshConfig
metadata: { name: test }
spec:
  mtls: { mode: STRICT, keyType: ECDSA_P256, certTtl: 1h }
  defaults: { accessLog: { mode: 'off' } }
  authorization:
    defaultAction: DENY
    rules:
      - { to: payment-service, from: [order-service], methods: [POST], paths: [/charges] }
      - { to: payment-service, from: [user-service], methods: [GET], paths: [/charges/*] }
      - { to: user-service, from: [order-service], methods: [GET], paths: [/users/*] }
  services:
    order-service: { mode: proxyless }
    payment-service: { mode: proxyless }
    user-service: {}
`;

interface Proxyless {
  mesh: ServiceMesh;
  app: ServiceApp;
  appPort: number;
  ports: Record<string, number>;
}

let cp: ControlPlaneProcess;
let payment: Proxyless;
let order: Proxyless;
let userApp: RecordingServer;
let user: { sidecar: Sidecar; outbound: number; inbound: number; admin: number };
/** Requests payment-service's own handlers ran. */
const charges: string[] = [];

async function proxyless(service: string, instance: string, opts: { credential: boolean }, routes: (app: ServiceApp) => void): Promise<Proxyless> {
  const env = readServiceEnv(service, 0, {
    HOST: '127.0.0.1',
    MESH_MODE: 'proxyless',
    MESH_INSTANCE: instance,
    MESH_CONTROL_PLANE_URLS: cp.url,
    MESH_INBOUND_PORT: '0',
    ...(opts.credential ? { MESH_JOIN_TOKEN: cp.joinToken(service) } : {}),
  });
  const mesh = new ServiceMesh(env.mesh, pino({ level: 'silent' }));
  const app = createServiceApp({ name: service, logger: false });
  routes(app);
  mesh.attach(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const appPort = (app.server.address() as AddressInfo).port;
  return { mesh, app, appPort, ports: await mesh.joined(appPort) };
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const status = async (url: string) => {
  const res = await request(url);
  await res.body.dump();
  return res.statusCode;
};
const errorOf = async (res: { statusCode: number; body: { json: () => Promise<unknown> } }) => ({
  status: res.statusCode,
  ...((await res.body.json()) as { error: { code: string; message: string } }).error,
});
const metricsOf = async (adminPort: number) => (await request(`http://127.0.0.1:${adminPort}/metrics`)).body.text();

beforeAll(async () => {
  cp = await startControlPlaneProcess(config);
  payment = await proxyless('payment-service', 'payment-1', { credential: true }, (app) => {
    app.post('/charges', async () => {
      charges.push('POST /charges');
      return { charged: true };
    });
    app.get('/charges/:id', async (req) => {
      charges.push(`GET ${req.url}`);
      return { id: (req.params as { id: string }).id };
    });
  });
  order = await proxyless('order-service', 'order-1', { credential: true }, () => undefined);
  userApp = await startRecordingServer();
  const s = new Sidecar({
    service: 'user-service',
    instance: 'user-1',
    appUrl: userApp.url,
    controlPlaneUrls: [cp.url],
    join: { token: cp.joinToken('user-service') },
    logger: pino({ level: 'silent' }),
  });
  const ports = await s.start();
  user = { sidecar: s, ...ports };
  // Ready: config and a certificate everywhere, and every caller knows every destination.
  await until('the proxyless apps to be ready', async () =>
    (await Promise.all([payment, order].map((p) => status(`http://127.0.0.1:${p.appPort}/readyz`)))).every((c) => c === 200),
  );
  await until('the sidecar to be ready', async () => (await status(`http://127.0.0.1:${user.admin}/ready`)) === 200);
  await until('every endpoint to be pushed', async () => {
    const res = await request(`${cp.url}/api/v1/endpoints`);
    const { clusters } = (await res.body.json()) as { clusters: Record<string, unknown[]> };
    return ['payment-service', 'order-service', 'user-service'].every((c) => (clusters[c]?.length ?? 0) > 0);
  });
}, 90_000);

afterAll(async () => {
  for (const p of [order, payment]) {
    if (!p) continue;
    await p.app.close();
    await p.mesh.close();
  }
  await user?.sidecar.stop();
  await userApp?.close();
  await cp?.stop();
});

describe('a proxyless service under STRICT mTLS', () => {
  it('registers its mesh port, offering mTLS, as its endpoint: not the app’s own port', async () => {
    const { clusters } = (await (await request(`${cp.url}/api/v1/endpoints`)).body.json()) as {
      clusters: Record<string, { instance: string; url: string; mtls?: boolean }[]>;
    };
    const endpoint = clusters['payment-service']!.find((e) => e.instance === 'payment-1')!;
    expect(endpoint).toMatchObject({ url: `http://127.0.0.1:${payment.ports['inbound']}`, mtls: true });
    expect(payment.ports['inbound']).not.toBe(payment.appPort);
  });

  it('refuses plaintext with 403 MESH_ERR_MTLS_REQUIRED on its mesh port and on its own port, whatever the caller claims; probes still answer', async () => {
    for (const port of [payment.ports['inbound'], payment.appPort]) {
      const res = await request(`http://127.0.0.1:${port}/charges`, {
        method: 'POST',
        headers: { 'x-meshcart-src': 'order-service', 'content-type': 'application/json' },
        body: '{}',
      });
      expect(await errorOf(res)).toMatchObject({ status: 403, code: 'MESH_ERR_MTLS_REQUIRED' });
    }
    expect(await status(`http://127.0.0.1:${payment.appPort}/healthz`)).toBe(200);
    expect(await status(`http://127.0.0.1:${payment.appPort}/readyz`)).toBe(200);
    expect(charges).toEqual([]);
  });

  it('serves a caller over mTLS and authorizes it by its certificate', async () => {
    const res = await order.mesh.client.request<{ charged: boolean }>('payment-service', { method: 'POST', path: '/charges', body: {} });
    expect(res).toMatchObject({ statusCode: 200, body: { charged: true } });
    expect(charges).toEqual(['POST /charges']);
    expect(await metricsOf(payment.ports['admin']!)).toMatch(
      /mesh_requests_total\{direction="inbound",src_service="order-service",dst_service="payment-service",status_code="200"[^}]*\} 1/,
    );
    expect(await metricsOf(order.ports['admin']!)).toMatch(/mesh_tls_handshakes_total\{dst_service="payment-service"[^}]*\} [1-9]/);
  });

  it("does not give order-service's permissions to a caller with another certificate claiming them in x-meshcart-src", async () => {
    const identity = new WorkloadIdentity({ service: 'user-service', controlPlaneUrls: [cp.url], join: { token: cp.joinToken('user-service') } });
    const cert = await identity.ensure('ECDSA_P256');
    identity.stop();
    const pool = new Pool(`https://127.0.0.1:${payment.ports['inbound']}`, {
      connect: { cert: cert.certPem, key: cert.keyPem, ca: cert.caPem, checkServerIdentity: () => undefined },
    });
    try {
      const before = charges.length;
      const res = await pool.request({
        path: '/charges',
        method: 'POST',
        headers: { 'x-meshcart-src': 'order-service', 'content-type': 'application/json' },
        body: '{}',
      });
      expect(await errorOf(res)).toMatchObject({
        status: 403,
        code: 'MESH_ERR_FORBIDDEN',
        message: 'user-service may not POST /charges on payment-service',
      });
      expect(charges).toHaveLength(before);
      expect(await metricsOf(payment.ports['admin']!)).toMatch(
        /mesh_authz_denied_total\{src_service="user-service",dst_service="payment-service"[^}]*\} 1/,
      );
    } finally {
      await pool.close();
    }
  });

  it('calls a sidecar service, and is called by one, over mTLS, each side authorized by certificate', async () => {
    // proxyless → sidecar
    const got = await order.mesh.client.request('user-service', { path: '/users/u1' });
    expect(got.statusCode).toBe(200);
    expect(userApp.requests.map((r) => r.url)).toEqual(['/users/u1']);
    expect(await metricsOf(user.admin)).toMatch(
      /mesh_requests_total\{direction="inbound",src_service="order-service",dst_service="user-service",status_code="200"[^}]*\} 1/,
    );
    // sidecar → proxyless: allowed for what user-service may do, refused for what only order-service may.
    const read = await request(`http://127.0.0.1:${user.outbound}/charges/ch_1`, { headers: { host: 'payment-service' } });
    expect(read.statusCode).toBe(200);
    expect(await read.body.json()).toEqual({ id: 'ch_1' });
    const charge = await request(`http://127.0.0.1:${user.outbound}/charges`, {
      method: 'POST',
      headers: { host: 'payment-service', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(await errorOf(charge)).toMatchObject({ status: 403, code: 'MESH_ERR_FORBIDDEN' });
    expect(charges.slice(-1)).toEqual(['GET /charges/ch_1']);
    expect(await metricsOf(user.admin)).toMatch(/mesh_tls_handshakes_total\{dst_service="payment-service"[^}]*\} [1-9]/);
  });

  it('without a credential is not let into the mesh, and lets nothing in itself, rather than serve plaintext', async () => {
    const before = charges.length;
    const unable = await proxyless('payment-service', 'payment-2', { credential: false }, (app) => {
      app.post('/charges', async () => {
        charges.push('POST /charges on payment-2');
        return { charged: true };
      });
    });
    try {
      // The control plane refuses its registration (it proves no service), so it is never an
      // endpoint, never gets a config, and never becomes ready.
      await new Promise((r) => setTimeout(r, 500));
      const list = (await (await request(`${cp.url}/api/v1/proxies`)).body.json()) as { instance: string }[];
      expect(list.map((p) => p.instance)).not.toContain('payment-2');
      expect(await status(`http://127.0.0.1:${unable.appPort}/readyz`)).toBe(503);
      for (const port of [unable.ports['inbound'], unable.appPort]) {
        const res = await request(`http://127.0.0.1:${port}/charges`, {
          method: 'POST',
          headers: { 'x-meshcart-src': 'order-service', 'content-type': 'application/json' },
          body: '{}',
        });
        expect(await errorOf(res)).toMatchObject({ status: 503, code: 'MESH_ERR_NOT_READY' });
      }
      for (let i = 0; i < 4; i++) {
        expect((await order.mesh.client.request('payment-service', { method: 'POST', path: '/charges', body: {} })).statusCode).toBe(200);
      }
      expect(charges.slice(before)).toEqual(new Array(4).fill('POST /charges'));
    } finally {
      await unable.app.close();
      await unable.mesh.close();
    }
  });
});
