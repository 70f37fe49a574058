import { startControlPlaneProcess, startRecordingServer, type ControlPlaneProcess, type RecordingServer } from '@meshcart/testing';
import { connect } from 'node:http2';
import pino from 'pino';
import { Pool, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sidecar, WorkloadIdentity } from '../src/index';
import type { SidecarPorts } from '../src/runtime/sidecar';

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
      - to: payment-service
        from: [order-service]
        methods: [POST]
        paths: [/charges, /charges/*]
  services: { order-service: {}, user-service: {}, payment-service: {} }
`;

let cp: ControlPlaneProcess;
let app: RecordingServer;
const sidecars: Record<string, { s: Sidecar; ports: SidecarPorts }> = {};

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  cp = await startControlPlaneProcess(config);
  app = await startRecordingServer();
  for (const [service, appUrl] of [
    ['order-service', 'http://127.0.0.1:9'],
    ['user-service', 'http://127.0.0.1:9'],
    ['payment-service', app.url],
  ] as const) {
    const s = new Sidecar({
      service,
      instance: service,
      appUrl,
      controlPlaneUrls: [cp.url],
      join: { token: cp.joinToken(service) },
      heartbeatIntervalMs: 500,
      logger: pino({ level: 'silent' }),
    });
    sidecars[service] = { s, ports: await s.start() };
  }
  for (const { ports } of Object.values(sidecars)) {
    await until('a ready sidecar', async () => {
      const res = await request(`http://127.0.0.1:${ports.admin}/ready`);
      await res.body.dump();
      return res.statusCode === 200;
    });
  }
  // Callers know payment-service's endpoint from the control plane's push.
  for (const caller of ['order-service', 'user-service']) {
    await until(`${caller} to know payment-service`, async () => {
      const dump = (await (await request(`http://127.0.0.1:${sidecars[caller]!.ports.admin}/config_dump`)).body.json()) as {
        clusters: { name: string; endpoints: unknown[] }[];
      };
      return (dump.clusters.find((c) => c.name === 'payment-service')?.endpoints.length ?? 0) > 0;
    });
  }
}, 90_000);

afterAll(async () => {
  for (const { s } of Object.values(sidecars)) await s.stop();
  await app?.close();
  await cp?.stop();
});

const call = async (from: string, method: string, path: string, headers: Record<string, string> = {}) => {
  const res = await request(`http://127.0.0.1:${sidecars[from]!.ports.outbound}${path}`, {
    method: method as 'GET',
    headers: { host: 'payment-service', ...headers },
    body: method === 'POST' ? '{}' : undefined,
  });
  const text = await res.body.text();
  return { status: res.statusCode, code: res.statusCode === 403 ? (JSON.parse(text) as { error: { code: string } }).error.code : undefined };
};
const paymentMetrics = async () => (await request(`http://127.0.0.1:${sidecars['payment-service']!.ports.admin}/metrics`)).body.text();
const errorOf = async (body: { json: () => Promise<unknown> }) => ((await body.json()) as { error: { code: string; message: string } }).error;

describe('authorization (default deny, STRICT mTLS): the caller is its certificate', () => {
  it('lets through what a rule allows, and refuses the rest with 403 MESH_ERR_FORBIDDEN', async () => {
    expect(await call('order-service', 'POST', '/charges')).toEqual({ status: 200, code: undefined });
    expect(await call('order-service', 'POST', '/charges/ch_1/refund')).toEqual({ status: 200, code: undefined });
    expect(await call('order-service', 'GET', '/charges')).toEqual({ status: 403, code: 'MESH_ERR_FORBIDDEN' });
    expect(await call('order-service', 'POST', '/chargesx')).toEqual({ status: 403, code: 'MESH_ERR_FORBIDDEN' });
    expect(await call('user-service', 'POST', '/charges')).toEqual({ status: 403, code: 'MESH_ERR_FORBIDDEN' });
    // A header naming another service changes nothing: the sidecar sends its own, and the certificate decides.
    expect(await call('user-service', 'POST', '/charges', { 'x-meshcart-src': 'order-service' })).toEqual({
      status: 403,
      code: 'MESH_ERR_FORBIDDEN',
    });
    expect(app.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /charges', 'POST /charges/ch_1/refund']);
    const metrics = await paymentMetrics();
    expect(metrics).toMatch(/mesh_authz_denied_total\{src_service="user-service",dst_service="payment-service"[^}]*\} 2/);
    expect(metrics).toMatch(/mesh_authz_denied_total\{src_service="order-service",dst_service="payment-service"[^}]*\} 2/);
  });

  it("does not give order-service's permissions to a caller with another certificate that claims them in x-meshcart-src", async () => {
    // user-service's own certificate, straight to payment-service's inbound port, naming order-service in the header.
    const identity = new WorkloadIdentity({ service: 'user-service', controlPlaneUrls: [cp.url], join: { token: cp.joinToken('user-service') } });
    const user = await identity.ensure('ECDSA_P256');
    identity.stop();
    const pool = new Pool(`https://127.0.0.1:${sidecars['payment-service']!.ports.inbound}`, {
      connect: { cert: user.certPem, key: user.keyPem, ca: user.caPem, rejectUnauthorized: true, checkServerIdentity: () => undefined },
    });
    try {
      const served = app.requests.length;
      const res = await pool.request({ path: '/charges', method: 'POST', headers: { 'x-meshcart-src': 'order-service' }, body: '{}' });
      expect(res.statusCode).toBe(403);
      const error = await errorOf(res.body);
      expect(error.code).toBe('MESH_ERR_FORBIDDEN');
      expect(error.message).toBe('user-service may not POST /charges on payment-service');
      expect(app.requests).toHaveLength(served);
      // Metrics name the caller the certificate proves, not the header.
      expect(await paymentMetrics()).toMatch(
        /mesh_requests_total\{direction="inbound",src_service="user-service",dst_service="payment-service",status_code="403"[^}]*\} [1-9]/,
      );
    } finally {
      await pool.close();
    }
  });

  it('refuses a caller without a certificate that claims to be order-service, on the inbound port and on the HTTP/2 one', async () => {
    const served = app.requests.length;
    const plain = await request(`http://127.0.0.1:${sidecars['payment-service']!.ports.inbound}/charges`, {
      method: 'POST',
      headers: { 'x-meshcart-src': 'order-service' },
      body: '{}',
    });
    expect(plain.statusCode).toBe(403);
    expect((await errorOf(plain.body)).code).toBe('MESH_ERR_MTLS_REQUIRED');
    const session = connect(`http://127.0.0.1:${sidecars['payment-service']!.ports.inboundH2c}`);
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/charges', 'x-meshcart-src': 'order-service' });
        let status = 0;
        let body = '';
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('data', (c: Buffer) => (body += c.toString()));
        stream.on('end', () => resolve({ status, body }));
        stream.on('error', reject);
        stream.end('{}');
      });
      expect(status).toBe(403);
      expect((JSON.parse(body) as { error: { code: string } }).error.code).toBe('MESH_ERR_MTLS_REQUIRED');
    } finally {
      session.close();
    }
    expect(app.requests).toHaveLength(served);
  });
});
