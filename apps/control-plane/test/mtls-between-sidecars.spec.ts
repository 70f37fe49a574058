import { Sidecar, WorkloadIdentity } from '@meshcart/sidecar';
import { makeTempDir, startRecordingServer, type RecordingServer } from '@meshcart/testing';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Pool, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { buildApp } from '../src/app';
import { CertificateAuthority } from '../src/certificate-authority';
import { access, asWorkload, joinOf } from './credentials';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

const dir = makeTempDir('meshcart-mtls-');
const silent = pino({ level: 'silent' });
let cp: ReturnType<typeof buildApp>;
let cpUrl: string;
let paymentApp: RecordingServer;
let userApp: RecordingServer;
const sidecars: Record<string, { sidecar: Sidecar; ports: Awaited<ReturnType<Sidecar['start']>> }> = {};

async function sidecar(service: string, instance: string, appUrl: string) {
  const s = new Sidecar({ service, instance, appUrl, controlPlaneUrls: [cpUrl], logger: silent, join: joinOf(service), heartbeatIntervalMs: 200 });
  sidecars[instance] = { sidecar: s, ports: await s.start() };
  return sidecars[instance]!;
}

async function ready(adminPort: number) {
  for (let i = 0; i < 100; i++) {
    const res = await request(`http://127.0.0.1:${adminPort}/ready`);
    await res.body.dump();
    if (res.statusCode === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('sidecar never became ready');
}

beforeAll(async () => {
  const profile = parse(readFileSync(join(__dirname, '../../../deploy/mesh/optimized.yaml'), 'utf8'));
  profile.metadata.name = 'strict';
  profile.spec.defaults.accessLog = { mode: 'off' };
  // Renewed at two thirds: every four seconds, so the test sees a rotation under traffic, and a
  // renewal has two seconds to land before the old certificate expires (one was too few for a
  // loaded CI machine: a request failed on an expired certificate).
  profile.spec.mtls = { mode: 'STRICT', keyType: 'ECDSA_P256', certTtl: '6s' };
  writeFileSync(join(dir.path, 'strict.yaml'), stringify(profile));
  // A one-second lease: endpoint removals take effect one lease after a control plane starts.
  cp = buildApp({ configDir: dir.path, profile: 'strict', logger: false, caDir: join(dir.path, 'ca'), ...access, leaseTtlMs: 1_000 });
  await cp.listen({ host: '127.0.0.1', port: 0 });
  cpUrl = `http://127.0.0.1:${(cp.server.address() as { port: number }).port}`;
  paymentApp = await startRecordingServer();
  userApp = await startRecordingServer();
  const order = await sidecar('order-service', 'order-1', 'http://127.0.0.1:9');
  const payment = await sidecar('payment-service', 'payment-1', paymentApp.url);
  const user = await sidecar('user-service', 'user-1', userApp.url);
  await Promise.all([order, payment, user].map((s) => ready(s.ports.admin)));
}, 30_000);

afterAll(async () => {
  for (const s of Object.values(sidecars)) await s.sidecar.stop();
  await paymentApp.close();
  await userApp.close();
  await cp.close();
  dir.remove();
});

const outbound = () => `http://127.0.0.1:${sidecars['order-1']!.ports.outbound}`;
const metrics = async (instance: string) => (await request(`http://127.0.0.1:${sidecars[instance]!.ports.admin}/metrics`)).body.text();

describe('mTLS between sidecars (STRICT)', () => {
  it('carries calls over mTLS; the destination learns the caller from its certificate', async () => {
    const res = await request(`${outbound()}/charges`, { headers: { host: 'payment-service' } });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(await metrics('order-1')).toMatch(/mesh_tls_handshakes_total\{dst_service="payment-service"[^}]*\} [1-9]/);
    expect(await metrics('payment-1')).toMatch(
      /mesh_requests_total\{direction="inbound",src_service="order-service",dst_service="payment-service",status_code="200"/,
    );
  });

  it('exports when its workload certificate came into use and when it expires, as Unix timestamps', async () => {
    const text = await metrics('order-1');
    const expiry = Number(/^mesh_workload_certificate_expiry_timestamp_seconds\{[^}]*\} (\S+)$/m.exec(text)?.[1]);
    const dump = (await (await request(`http://127.0.0.1:${sidecars['order-1']!.ports.admin}/config_dump`)).body.json()) as {
      identity: { notAfter: string };
    };
    expect(expiry).toBe(new Date(dump.identity.notAfter).getTime() / 1000);
    expect(expiry * 1000).toBeGreaterThan(Date.now());
    const issued = Number(/^mesh_workload_certificate_issued_timestamp_seconds\{[^}]*\} (\S+)$/m.exec(text)?.[1]);
    expect(issued * 1000).toBeLessThanOrEqual(Date.now());
    expect(issued).toBeLessThan(expiry);
  });

  it('refuses plaintext with 403 MESH_ERR_MTLS_REQUIRED, whatever the caller claims', async () => {
    const res = await request(`http://127.0.0.1:${sidecars['payment-1']!.ports.inbound}/charges`, { headers: { 'x-meshcart-src': 'order-service' } });
    expect(res.statusCode).toBe(403);
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('MESH_ERR_MTLS_REQUIRED');
    expect(paymentApp.requests.every((r) => r.url === '/charges')).toBe(true);
  });

  it('refuses a caller whose certificate another CA signed, and counts the refusal', async () => {
    // A second, unrelated control plane: its own root, its own certificates.
    const other = buildApp({ configDir: dir.path, profile: 'strict', logger: false, caDir: join(dir.path, 'other-ca'), ...access });
    await other.listen({ host: '127.0.0.1', port: 0 });
    const otherUrl = `http://127.0.0.1:${(other.server.address() as { port: number }).port}`;
    const foreignIdentity = new WorkloadIdentity({ service: 'order-service', controlPlaneUrls: [otherUrl], join: joinOf('order-service') });
    const foreign = await foreignIdentity.ensure('ECDSA_P256');
    foreignIdentity.stop();
    await other.close();
    const port = sidecars['payment-1']!.ports.inbound;
    const pool = new Pool(`https://127.0.0.1:${port}`, {
      connect: { cert: foreign.certPem, key: foreign.keyPem, ca: foreign.caPem, rejectUnauthorized: false },
    });
    await expect(pool.request({ path: '/charges', method: 'GET' })).rejects.toThrow();
    await pool.close();
    expect(await metrics('payment-1')).toMatch(/mesh_tls_handshake_failures_total\{[^}]*\} [1-9]/);
  });

  it('refuses a caller whose certificate has expired, and counts the refusal', async () => {
    // Signed by the mesh's own CA, for a real identity, but already past its notAfter.
    const ca = await CertificateAuthority.loadOrCreate(join(dir.path, 'ca'), 'meshcart.local');
    x509.cryptoProvider.set(webcrypto as never);
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=order-service', keys: keys as never, signingAlgorithm: alg });
    const expired = await ca.issue(csr.toString('pem'), 'spiffe://meshcart.local/ns/default/sa/order-service', -30_000);
    const keyDer = Buffer.from((await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) as ArrayBuffer);
    const keyPem = `-----BEGIN PRIVATE KEY-----\n${keyDer.toString('base64')}\n-----END PRIVATE KEY-----\n`;
    const refusals = async () =>
      [...(await metrics('payment-1')).matchAll(/mesh_tls_handshake_failures_total\{[^}]*\} (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    const countBefore = await refusals();
    const pool = new Pool(`https://127.0.0.1:${sidecars['payment-1']!.ports.inbound}`, {
      connect: { cert: expired.certificatePem, key: keyPem, ca: expired.caPem, rejectUnauthorized: false },
    });
    await expect(pool.request({ path: '/charges', method: 'GET' })).rejects.toThrow();
    await pool.close();
    expect(await refusals()).toBeGreaterThan(countBefore);
  });

  it('refuses an endpoint whose certificate names another service', async () => {
    // A rogue registration made with payment-service's own (stolen) join credential: user-service's
    // sidecar listed as a payment-service endpoint. The control plane cannot tell; the caller's
    // proxy does, by the certificate the endpoint presents.
    const put = await request(`${cpUrl}/api/v1/proxies/impostor-1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...asWorkload('payment-service') },
      body: JSON.stringify({
        service: 'payment-service',
        instance: 'impostor-1',
        mode: 'sidecar',
        mtls: true,
        endpointUrl: `http://127.0.0.1:${sidecars['user-1']!.ports.inbound}`,
        labels: {},
      }),
    });
    expect(put.statusCode).toBe(200);
    await put.body.dump();
    await new Promise((r) => setTimeout(r, 200));
    const before = userApp.requests.length;
    for (let i = 0; i < 6; i++) await (await request(`${outbound()}/charges`, { headers: { host: 'payment-service' } })).body.dump();
    expect(userApp.requests.length).toBe(before);
    await (await request(`${cpUrl}/api/v1/proxies/impostor-1`, { method: 'DELETE', headers: asWorkload('payment-service') })).body.dump();
    // Gone from the order sidecar's endpoints before the next test.
    for (let i = 0; i < 60; i++) {
      const dump = (await (await request(`http://127.0.0.1:${sidecars['order-1']!.ports.admin}/config_dump`)).body.json()) as {
        clusters: { name: string; endpoints: { instance: string }[] }[];
      };
      if (!dump.clusters.find((c) => c.name === 'payment-service')!.endpoints.some((e) => e.instance === 'impostor-1')) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the impostor endpoint was never removed');
  });

  it('keeps serving, without a failed request, while the control plane is down and after it restarts', async () => {
    const statuses: number[] = [];
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        const res = await request(`${outbound()}/charges`, { headers: { host: 'payment-service' } });
        statuses.push(res.statusCode);
        await res.body.dump();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const port = Number(new URL(cpUrl).port);
    await cp.close();
    await new Promise((r) => setTimeout(r, 700));
    cp = buildApp({ configDir: dir.path, profile: 'strict', logger: false, caDir: join(dir.path, 'ca'), ...access, leaseTtlMs: 1_000 });
    await cp.listen({ host: '127.0.0.1', port });
    // The sidecars find it again and re-register (resync).
    for (let i = 0; i < 100; i++) {
      const list = (await (await request(`${cpUrl}/api/v1/proxies`)).body.json()) as { instance: string; connected: boolean }[];
      if (['order-1', 'payment-1', 'user-1'].every((n) => list.some((p) => p.instance === n && p.connected))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    stop = true;
    await traffic;
    expect(statuses.length).toBeGreaterThan(20);
    expect(new Set(statuses)).toEqual(new Set([200]));
  });

  it('renews certificates before they expire without failing requests', async () => {
    const dump = async () =>
      ((await (await request(`http://127.0.0.1:${sidecars['order-1']!.ports.admin}/config_dump`)).body.json()) as { identity: { notAfter: string } })
        .identity.notAfter;
    const first = await dump();
    const statuses = new Set<number>();
    // Certificates live 6 s and renew at two thirds; traffic runs until the renewal has happened
    // (on a busy machine it can take longer than one lifetime to be seen), then a moment more.
    let renewedAt = 0;
    const giveUp = Date.now() + 15_000;
    while (Date.now() < giveUp && (renewedAt === 0 || Date.now() < renewedAt + 500)) {
      const res = await request(`${outbound()}/charges`, { headers: { host: 'payment-service' } });
      statuses.add(res.statusCode);
      await res.body.dump();
      if (renewedAt === 0 && (await dump()) !== first) renewedAt = Date.now();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect([...statuses]).toEqual([200]);
    expect(await dump()).not.toBe(first);
  }, 30_000);
});
