// A real control plane and real sidecars on loopback, STRICT mTLS with a new connection (and handshake) per
// request: `meshctl ca rotate` moves the mesh to a new root in three steps while traffic flows, and no request fails.
import { CaStatus, ContractCheck } from '@meshcart/control-plane-api';
import { Sidecar } from '@meshcart/sidecar';
import { makeTempDir, startRecordingServer, type RecordingServer } from '@meshcart/testing';
import * as x509 from '@peculiar/x509';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import { Pool, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { buildApp } from '../src/app';
import { CertificateAuthority } from '../src/certificate-authority';
import { startApiRelay, type ApiRelay } from './api-relay';
import { access, asOperator, joinOf } from './credentials';

const dir = makeTempDir('meshcart-rotation-');
const caDir = join(dir.path, 'ca');
const caStatus = new ContractCheck(CaStatus);
let cp: ReturnType<typeof buildApp>;
let cpUrl: string;
let paymentApp: RecordingServer;
let relay: ApiRelay;
let lagging = false;
const sidecars: Record<string, { sidecar: Sidecar; ports: Awaited<ReturnType<Sidecar['start']>> }> = {};

async function sidecar(service: string, instance: string, appUrl: string, controlPlaneUrl = cpUrl) {
  const s = new Sidecar({
    service,
    instance,
    appUrl,
    controlPlaneUrls: [controlPlaneUrl],
    logger: pino({ level: 'silent' }),
    join: joinOf(service),
    heartbeatIntervalMs: 200,
  });
  sidecars[instance] = { sidecar: s, ports: await s.start() };
  for (let i = 0; i < 200; i++) {
    const res = await request(`http://127.0.0.1:${sidecars[instance]!.ports.admin}/ready`);
    await res.body.dump();
    if (res.statusCode === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${instance} never became ready`);
}

const status = async () => caStatus.verify(await (await request(`${cpUrl}/api/v1/ca/status`)).body.json(), 'the CA status');
const charge = () => request(`http://127.0.0.1:${sidecars['order-1']!.ports.outbound}/charges`, { headers: { host: 'payment-service' } });

beforeAll(async () => {
  // The baseline profile: STRICT mTLS and one request per connection, so every request is a new
  // handshake with whatever certificates and roots each side holds at that moment.
  const profile = parse(readFileSync(join(__dirname, '../../../deploy/mesh/baseline.yaml'), 'utf8'));
  profile.metadata.name = 'rotation';
  profile.spec.defaults.accessLog = { mode: 'off' };
  profile.spec.mtls = { mode: 'STRICT', keyType: 'ECDSA_P256', certTtl: '1h' };
  writeFileSync(join(dir.path, 'rotation.yaml'), stringify(profile));
  cp = buildApp({ configDir: dir.path, profile: 'rotation', logger: false, caDir, ...access, leaseTtlMs: 2_000 });
  await cp.listen({ host: '127.0.0.1', port: 0 });
  cpUrl = `http://127.0.0.1:${(cp.server.address() as { port: number }).port}`;
  paymentApp = await startRecordingServer();
  await sidecar('order-service', 'order-1', 'http://127.0.0.1:9');
  // payment-1 lags: every config push reaches it two seconds late (a busy or distant proxy). A
  // rotation that moved on without waiting for it would have order-1 present a certificate of a
  // root payment-1 does not trust yet, and every call would fail until it caught up.
  relay = await startApiRelay(cpUrl, async (line) => {
    if (lagging && line.includes('"trustEpoch"')) await new Promise((r) => setTimeout(r, 2_000));
    return [line];
  });
  await sidecar('payment-service', 'payment-1', paymentApp.url, relay.url);
  lagging = true;
}, 30_000);

afterAll(async () => {
  for (const { sidecar } of Object.values(sidecars)) await sidecar.stop();
  await paymentApp?.close();
  await relay?.close();
  await cp?.close();
  dir.remove();
});

describe('meshctl ca rotate', () => {
  it('moves every workload to a new root in three steps while traffic flows, and no request fails', async () => {
    const before = await status();
    expect(before.phase).toBe('steady');
    expect(before.roots).toHaveLength(1);
    const oldCa = join(dir.path, 'old-ca');
    cpSync(caDir, oldCa, { recursive: true });

    // Without the operator credential: refused, nothing started.
    expect((await request(`${cpUrl}/api/v1/ca/rotate`, { method: 'POST' })).statusCode).toBe(401);

    let stop = false;
    const failures: string[] = [];
    let sent = 0;
    const traffic = Promise.all(
      Array.from({ length: 3 }, async () => {
        while (!stop) {
          sent++;
          const res = await charge().catch((err: Error) => ({ statusCode: 0, body: { text: async () => err.message } }));
          if (res.statusCode !== 200) failures.push(`${res.statusCode} ${await res.body.text()}`);
          else await (res as Awaited<ReturnType<typeof charge>>).body.dump();
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    const started = await request(`${cpUrl}/api/v1/ca/rotate`, { method: 'POST', headers: asOperator });
    expect(started.statusCode).toBe(202);
    expect(caStatus.verify(await started.body.json(), 'the rotation').rotation.running).toBe(true);
    const again = await request(`${cpUrl}/api/v1/ca/rotate`, { method: 'POST', headers: asOperator });
    expect(again.statusCode).toBe(409);
    expect(await again.body.text()).toContain('a rotation is already running');

    // Every step is seen, and the traffic keeps flowing through all of them.
    const steps = new Set<string>();
    let last = await status();
    for (let i = 0; i < 600 && last.rotation.running; i++) {
      // While payment-1 lags, the rotation waits for it by name.
      if (last.rotation.waitingFor.includes('payment-1')) steps.add('waited for payment-1');
      if (last.rotation.step) steps.add(last.rotation.step.slice(0, 8));
      await new Promise((r) => setTimeout(r, 50));
      last = await status();
    }
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await traffic;

    expect(last.rotation).toMatchObject({ running: false, waitingFor: [] });
    expect(last.rotation.error).toBeUndefined();
    expect(last.phase).toBe('steady');
    expect(last.roots).toHaveLength(1);
    expect(last.roots[0]!.fingerprint).not.toBe(before.roots[0]!.fingerprint);
    expect(last.trustEpoch).not.toBe(before.trustEpoch);
    expect(steps).toContain('waited for payment-1');
    expect([...steps].length).toBeGreaterThanOrEqual(3);
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(20);

    // Only the new root is handed out and trusted now: a certificate of the old root is refused.
    const bundle = await (await request(`${cpUrl}/api/v1/ca`)).body.text();
    expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    const old = await CertificateAuthority.loadOrCreate(oldCa, 'meshcart.local');
    x509.cryptoProvider.set(webcrypto as never);
    const own = await old.issueIdentity('spiffe://meshcart.local/ns/default/sa/order-service', 60_000);
    const pool = new Pool(`https://127.0.0.1:${sidecars['payment-1']!.ports.inbound}`, {
      connect: { cert: own.certificatePem, key: own.keyPem, ca: bundle, rejectUnauthorized: false },
    });
    await expect(pool.request({ path: '/charges', method: 'GET' })).rejects.toThrow();
    await pool.close();

    // The audit trail says who rotated.
    const audit = (await (await request(`${cpUrl}/api/v1/audit`)).body.json()) as { by: string; action: string }[];
    expect(audit).toEqual([
      expect.objectContaining({ by: 'operator', action: expect.stringMatching(/^ca rotate \(from steady, root [0-9a-f]{16}\)$/) }),
    ]);
  }, 60_000);
});
