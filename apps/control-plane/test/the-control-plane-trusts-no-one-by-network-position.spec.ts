// A real control plane on loopback, called as an intruder, a workload of the wrong service, and an operator:
// identity comes from a certificate or a verified credential, every refusal says what was missing, nothing is half-applied.
import { ContractCheck, ProxyList } from '@meshcart/control-plane-api';
import { WorkloadIdentity } from '@meshcart/sidecar';
import { makeTempDir } from '@meshcart/testing';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { buildApp, type ControlPlaneOptions } from '../src/app';
import { operatorTokenFrom } from '../src/auth/operator-token';
import { access, asOperator, asWorkload } from './credentials';
import { startSidecarProxy } from './sidecar-proxy';

const deployDir = join(__dirname, '../../../deploy/mesh');
const dir = makeTempDir('meshcart-zero-trust-');
afterAll(() => dir.remove());
const WAIT = { timeout: 5_000, interval: 50 };
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
const proxyList = new ContractCheck(ProxyList);

async function startControlPlane(opts: Partial<ControlPlaneOptions> = {}) {
  const logs: string[] = [];
  const app = buildApp({
    configDir: deployDir,
    profile: 'optimized',
    caDir: join(dir.path, 'ca'),
    ...access,
    logger: { level: 'warn', stream: { write: (line: string) => void logs.push(line) } },
    ...opts,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  return { app, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`, logs };
}

async function call(url: string, method: 'GET' | 'PUT' | 'POST' | 'DELETE', headers: Record<string, string> = {}, body?: unknown) {
  const res = await request(url, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  const isJson = String(res.headers['content-type']).startsWith('application/json');
  const json = (isJson && text ? JSON.parse(text) : {}) as { error?: { code: string; message: string } } & Record<string, unknown>;
  return { status: res.statusCode, json, headers: res.headers };
}

const intruder = { service: 'payment-service', instance: 'intruder-1', mode: 'sidecar', endpointUrl: 'http://127.0.0.1:6666', labels: {} };

describe('the control plane refuses callers that prove nothing', () => {
  it('an intruder with no credential cannot register an endpoint for payment-service', async () => {
    const { url } = await startControlPlane();
    const res = await call(`${url}/api/v1/proxies/intruder-1`, 'PUT', {}, intruder);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.json.error).toMatchObject({ code: 'CREDENTIAL_REQUIRED', message: expect.stringContaining('register intruder-1: no credential') });
    expect((await call(`${url}/api/v1/endpoints`, 'GET')).json).toMatchObject({ clusters: {} });
    expect(proxyList.verify((await call(`${url}/api/v1/proxies`, 'GET')).json, 'proxies')).toEqual([]);
  });

  it('nor put a fault on payment-service, nor apply, roll back or switch the config: 401 without, 403 with a workload credential', async () => {
    const { url } = await startControlPlane();
    const before = (await call(`${url}/api/v1/config`, 'GET')).json['version'];
    const changes: [string, 'PUT' | 'POST' | 'DELETE', string, unknown][] = [
      ['/api/v1/services/payment-service/fault', 'PUT', 'fault set', { abort: { httpStatus: 503, percent: 100 } }],
      ['/api/v1/services/payment-service/fault', 'DELETE', 'fault clear', undefined],
      ['/api/v1/faults', 'DELETE', 'faults clear', undefined],
      ['/api/v1/config', 'POST', 'config apply', { yaml: 'apiVersion: x' }],
      ['/api/v1/config/rollback', 'POST', 'config rollback', { to: String(before).slice(0, 8) }],
      ['/api/v1/config/profile', 'POST', 'profile switch', { profile: 'baseline' }],
      ['/api/v1/join-credentials', 'POST', 'join create', { service: 'payment-service' }],
      ['/api/v1/join-credentials/revoke', 'POST', 'join revoke', { service: 'payment-service' }],
    ];
    for (const [path, method, action, body] of changes) {
      const none = await call(`${url}${path}`, method, {}, body);
      expect(none.status, `${method} ${path} with no credential`).toBe(401);
      expect(none.json.error!.message).toContain(`${action}: no credential; this needs an operator credential`);
      const workload = await call(`${url}${path}`, method, asWorkload('order-service'), body);
      expect(workload.status, `${method} ${path} as order-service`).toBe(403);
      expect(workload.json.error!.message).toBe(
        `${action}: spiffe://meshcart.local/ns/default/sa/order-service may not: only an operator may do this`,
      );
    }
    const wrong = await call(
      `${url}/api/v1/services/payment-service/fault`,
      'PUT',
      { authorization: 'Bearer not-the-operator-token' },
      changes[0]![3],
    );
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toMatchObject({
      code: 'CREDENTIAL_REFUSED',
      message: expect.stringContaining('neither the operator credential nor a join credential'),
    });
    // Nothing was applied.
    expect((await call(`${url}/api/v1/config`, 'GET')).json['version']).toBe(before);
    expect((await call(`${url}/api/v1/config/history`, 'GET')).json).toHaveLength(1);
    expect((await call(`${url}/api/v1/faults`, 'GET')).json).toEqual({});
  });

  it('counts every refusal in /metrics and logs it once per caller, not per request', async () => {
    const { url, logs } = await startControlPlane();
    for (let i = 0; i < 3; i++) await call(`${url}/api/v1/services/payment-service/fault`, 'PUT', {}, { abort: { httpStatus: 503, percent: 100 } });
    await call(`${url}/api/v1/services/payment-service/fault`, 'PUT', asWorkload('order-service'), { abort: { httpStatus: 503, percent: 100 } });
    const metrics = await (await request(`${url}/metrics`)).body.text();
    expect(metrics).toMatch(/meshcart_control_plane_refusals_total\{status="401",code="CREDENTIAL_REQUIRED",action="fault set"\} 3/);
    expect(metrics).toMatch(/meshcart_control_plane_refusals_total\{status="403",code="FORBIDDEN",action="fault set"\} 1/);
    const refusals = logs.map((l) => JSON.parse(l) as { msg: string; caller: string }).filter((l) => l.msg.startsWith('refused:'));
    expect(refusals.map((l) => l.caller)).toEqual(['anonymous', 'spiffe://meshcart.local/ns/default/sa/order-service']);
  });
});

describe('operators', () => {
  it('change the mesh with the operator credential, and every change is in the audit trail: who, what, version before and after', async () => {
    const { url } = await startControlPlane();
    const v0 = (await call(`${url}/api/v1/config`, 'GET')).json['version'] as string;
    expect((await call(`${url}/api/v1/services/payment-service/fault`, 'PUT', asOperator, { abort: { httpStatus: 503, percent: 10 } })).status).toBe(
      200,
    );
    const v1 = (await call(`${url}/api/v1/config`, 'GET')).json['version'] as string;
    expect((await call(`${url}/api/v1/config/rollback`, 'POST', asOperator, { to: v0.slice(0, 8) })).status).toBe(200);
    const trail = (await call(`${url}/api/v1/audit`, 'GET')).json as unknown as { by: string; action: string; before?: string; after?: string }[];
    expect(trail).toEqual([
      expect.objectContaining({ by: 'operator', action: 'fault on payment-service', before: v0, after: v1 }),
      expect.objectContaining({ by: 'operator', action: `rollback to ${v0.slice(0, 8)}`, before: v1, after: v0 }),
    ]);
    const history = (await call(`${url}/api/v1/config/history`, 'GET')).json as unknown as { by?: string; source: string }[];
    expect(history.map((h) => h.by)).toEqual([undefined, 'operator', 'operator']);
  });

  it('get the operator credential from a 0600 file the control plane writes on first start, the same on the next', () => {
    const file = join(dir.path, 'data', 'operator-token');
    const token = operatorTokenFrom({ file });
    expect(token).toMatch(/^mco_[A-Za-z0-9_-]{40,}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(operatorTokenFrom({ file })).toBe(token);
    expect(() => operatorTokenFrom({ token: 'short', file })).toThrow(/MESH_OPERATOR_TOKEN is 5 characters; use at least 24/);
  });

  it('may lock the read-only views too: then a caller with no credential is told what is needed', async () => {
    const { url } = await startControlPlane({ lockReads: true });
    for (const path of ['/api/v1/proxies', '/api/v1/config', '/api/v1/endpoints', '/api/v1/faults', '/api/v1/audit', '/metrics']) {
      const res = await call(`${url}${path}`, 'GET');
      expect(res.status, path).toBe(401);
      expect(res.json.error!.message).toContain('reads need a credential here (MESH_API_READS=authenticated)');
      expect((await call(`${url}${path}`, 'GET', asWorkload('order-service'))).status, `${path} as a workload`).toBe(200);
    }
    // The root of trust and the probes stay open.
    expect((await call(`${url}/healthz`, 'GET')).status).toBe(200);
    expect((await request(`${url}/api/v1/ca`)).statusCode).toBe(200);
  });
});

describe('workloads', () => {
  const registration = (service: string, instance: string, extra: object = {}) => ({
    service,
    instance,
    mode: 'sidecar',
    endpointUrl: 'http://127.0.0.1:7',
    mtls: true,
    labels: {},
    ...extra,
  });

  it("act only for their own service: no registering another's instances, no taking over or draining another's", async () => {
    const { url } = await startControlPlane();
    const put = (as: Record<string, string>, body: object, instance = 'order-1') => call(`${url}/api/v1/proxies/${instance}`, 'PUT', as, body);
    const borrowed = await put(asWorkload('order-service'), registration('payment-service', 'payment-x'), 'payment-x');
    expect(borrowed.status).toBe(403);
    expect(borrowed.json.error!.message).toBe(
      'register payment-x: spiffe://meshcart.local/ns/default/sa/order-service may not: spiffe://meshcart.local/ns/default/sa/order-service is order-service and may act only for order-service, not for payment-service',
    );
    expect((await put(asWorkload('order-service'), registration('order-service', 'order-1'))).status).toBe(200);
    // payment-service registering under order-1's name, streaming, ACKing or leaving for it: refused.
    expect((await put(asWorkload('payment-service'), registration('payment-service', 'order-1'))).status).toBe(403);
    expect((await call(`${url}/api/v1/proxies/order-1/stream`, 'GET', asWorkload('payment-service'))).status).toBe(403);
    expect(
      (await call(`${url}/api/v1/proxies/order-1/acks`, 'POST', asWorkload('payment-service'), { kind: 'resources', version: 'x' })).status,
    ).toBe(403);
    expect((await call(`${url}/api/v1/proxies/order-1`, 'DELETE', asWorkload('payment-service'))).status).toBe(403);
    expect(proxyList.verify((await call(`${url}/api/v1/proxies`, 'GET')).json, 'proxies').map((p) => [p.instance, p.service])).toEqual([
      ['order-1', 'order-service'],
    ]);
    // An operator may drain it, and the audit trail says so.
    expect((await call(`${url}/api/v1/proxies/order-1`, 'DELETE', asOperator)).status).toBe(204);
    const trail = (await call(`${url}/api/v1/audit`, 'GET')).json as unknown as { by: string; action: string }[];
    expect(trail).toEqual([expect.objectContaining({ by: 'operator', action: 'drain order-1 (order-service)' })]);
  });

  it('cannot register a mesh endpoint as plaintext', async () => {
    const { url } = await startControlPlane();
    for (const mode of ['sidecar', 'proxyless']) {
      const res = await call(
        `${url}/api/v1/proxies/order-1`,
        'PUT',
        asWorkload('order-service'),
        registration('order-service', 'order-1', { mode, mtls: false }),
      );
      expect(res.status).toBe(400);
      expect(res.json.error).toMatchObject({
        code: 'PLAINTEXT_MESH_ENDPOINT',
        message: expect.stringContaining(`a ${mode} proxy's endpoint must accept mTLS`),
      });
    }
    // A service outside the mesh (mode off) has no mTLS to offer: it may register its plain address.
    expect(
      (
        await call(
          `${url}/api/v1/proxies/order-1`,
          'PUT',
          asWorkload('order-service'),
          registration('order-service', 'order-1', { mode: 'off', mtls: false }),
        )
      ).status,
    ).toBe(200);
  });

  it('talk to the control plane over mTLS with their certificate once they have one', async () => {
    const { url } = await startControlPlane();
    const { rt } = await startSidecarProxy({ url, service: 'order-service', instance: 'order-1' });
    cleanups.push(() => rt.close());
    const attestedBy = async () => proxyList.verify((await call(`${url}/api/v1/proxies`, 'GET')).json, 'proxies')[0]?.attestedBy;
    await expect.poll(attestedBy, { ...WAIT, message: 'how order-1 proved its service on its latest heartbeat' }).toBe('certificate');
  });

  it('lose their say when their join credential is revoked: no new certificate, and those issued on it (or renewed from one) no longer talk to the control plane', async () => {
    const state = makeTempDir('meshcart-state-');
    cleanups.push(() => state.remove());
    // Certificates of three seconds: the proxy renews (with the certificate it holds) before the revocation.
    const profile = parse(readFileSync(join(deployDir, 'optimized.yaml'), 'utf8'));
    profile.spec.mtls.certTtl = '3s';
    writeFileSync(join(state.path, 'short.yaml'), stringify(profile));
    const { url, app } = await startControlPlane({ stateDir: state.path, leaseTtlMs: 1_000, configDir: state.path, profile: 'short' });
    const created = await call(`${url}/api/v1/join-credentials`, 'POST', asOperator, { service: 'payment-service' });
    expect(created.status).toBe(200);
    const token = created.json['token'] as string;
    const id = (created.json['credential'] as { id: string }).id;
    expect(token).toMatch(/^mcj_/);
    const { rt, adminUrl } = await startSidecarProxy({ url, service: 'payment-service', instance: 'payment-1', join: { token } });
    cleanups.push(() => rt.close());
    const listed = async () =>
      proxyList.verify((await call(`${url}/api/v1/proxies`, 'GET')).json, 'proxies').map((p) => `${p.instance}:${p.attestedBy}`);
    await expect.poll(listed, { ...WAIT, message: 'payment-1 registered with its certificate' }).toEqual(['payment-1:certificate']);
    const notAfter = async () => proxyList.verify((await call(`${url}/api/v1/proxies`, 'GET')).json, 'proxies')[0]?.certNotAfter;
    const first = await notAfter();
    await expect.poll(notAfter, { ...WAIT, message: "payment-1's certificate, renewed" }).not.toBe(first);

    const revoked = await call(`${url}/api/v1/join-credentials/revoke`, 'POST', asOperator, { id });
    expect(revoked.status).toBe(200);
    expect(revoked.json['revoked']).toEqual([expect.objectContaining({ id, service: 'payment-service', revokedAt: expect.any(String) })]);
    // Its heartbeats are refused from now on: the lease runs out, it leaves every endpoint list, and
    // its push stream ends (it gets no more config until it proves itself again).
    await expect.poll(listed, { ...WAIT, message: 'the proxies listed once the lease ran out' }).toEqual([]);
    const streaming = async () =>
      ((await (await request(`${adminUrl}/config_dump`)).body.json()) as { controlPlane: { connected: boolean } }).controlPlane.connected;
    await expect.poll(streaming, { ...WAIT, message: "payment-1's push stream" }).toBe(false);
    const again = new WorkloadIdentity({ service: 'payment-service', controlPlaneUrls: [url], join: { token } });
    await expect(again.ensure('ECDSA_P256')).rejects.toThrow(
      new RegExp(`refused \\(401\\).*join credential ${id} \\(payment-service\\) was revoked at`),
    );

    // Revoked stays revoked after a restart, even if the same credential were handed out again.
    await app.close();
    const restarted = await startControlPlane({ stateDir: state.path, joinCredentials: { ...access.joinCredentials, 'payment-service': token } });
    const list = (await call(`${restarted.url}/api/v1/join-credentials`, 'GET', asOperator)).json as unknown as { id: string; revokedAt?: string }[];
    expect(list.find((c) => c.id === id)?.revokedAt).toBeDefined();
    const afterRestart = new WorkloadIdentity({ service: 'payment-service', controlPlaneUrls: [restarted.url], join: { token } });
    await expect(afterRestart.ensure('ECDSA_P256')).rejects.toThrow(/refused \(401\).*was revoked at/);
  });
});
