import { ConfigError, compileProxyResources, loadMeshConfigFile } from '@meshcart/mesh-config';
import { ControlPlaneClient, MeshRuntime } from '@meshcart/sidecar';
import { makeTempDir } from '@meshcart/testing';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { request } from 'undici';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/app';
import { access, asOperator, asWorkload, joinOf } from './credentials';

const deployDir = join(__dirname, '../../../deploy/mesh');
const caDir = makeTempDir('meshcart-ca-');
afterAll(() => caDir.remove());
const identity = { caDir: caDir.path, ...access };
const silent = pino({ level: 'silent' });
// Loopback calls and in-memory reads, cheap to repeat: polled often, for up to 5 s unless a test says otherwise.
const WAIT = { timeout: 5_000, interval: 50 };
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function startControlPlane(port = 0, leaseTtlMs = 10_000) {
  const app = buildApp({ configDir: deployDir, profile: 'optimized', logger: false, leaseTtlMs, ...identity });
  await app.listen({ host: '127.0.0.1', port });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  cleanups.push(() => app.close());
  return { app, url };
}

async function join_(cpUrl: string, service: string, instance: string, endpointUrl?: string) {
  const rt = new MeshRuntime({
    service,
    instance,
    mode: 'sidecar',
    controlPlaneUrls: [cpUrl],
    admin: { host: '127.0.0.1', port: 0 },
    logger: silent,
    heartbeatIntervalMs: 100,
    join: joinOf(service),
  });
  const adminUrl = await rt.startAdmin();
  // A sidecar's endpoint speaks mTLS (the control plane refuses one registered as plaintext).
  rt.connect(adminUrl, endpointUrl, undefined, endpointUrl !== undefined);
  cleanups.push(() => rt.close());
  await rt.waitReady(5_000);
  return rt;
}

async function proxies(cpUrl: string) {
  return (await (await request(`${cpUrl}/api/v1/proxies`)).body.json()) as {
    instance: string;
    service: string;
    mode: string;
    adminUrl: string;
    configVersion: string | null;
    acks: { resources?: { acked: boolean; error?: string; rejectedVersion?: string } };
  }[];
}

describe('control plane push', () => {
  it('pushes compiled resources, and lists each proxy with the version it ACKed', async () => {
    const cp = await startControlPlane();
    await join_(cp.url, 'order-service', 'order-1', 'http://127.0.0.1:1');
    // The optimized profile compiled for order-service, with the CA's roots (trustEpoch) the control plane adds.
    const { trustEpoch } = (await (await request(`${cp.url}/api/v1/ca/status`)).body.json()) as { trustEpoch: string };
    const expected = compileProxyResources(loadMeshConfigFile(join(deployDir, 'optimized.yaml')), 'order-service', { trustEpoch }).version;
    const list = await vi.waitFor(async () => {
      const l = await proxies(cp.url);
      expect(l[0]?.configVersion, 'the version order-1 ACKed').toBe(expected);
      return l;
    }, WAIT);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ service: 'order-service', instance: 'order-1', mode: 'sidecar', configVersion: expected });
    expect(list[0]!.acks.resources?.acked).toBe(true);
    expect(list[0]!.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('registers the advertised admin address when the admin port binds every interface (containers)', async () => {
    const cp = await startControlPlane();
    const rt = new MeshRuntime({
      service: 'order-service',
      instance: 'order-1',
      mode: 'sidecar',
      controlPlaneUrls: [cp.url],
      admin: { host: '0.0.0.0', port: 0, advertiseHost: 'order-service.internal' },
      logger: silent,
      join: joinOf('order-service'),
    });
    cleanups.push(() => rt.close());
    const adminUrl = await rt.startAdmin();
    expect(adminUrl).toBe(`http://order-service.internal:${rt.adminPort}`);
    rt.connect(adminUrl, 'http://127.0.0.1:1', undefined, true);
    const list = await vi.waitFor(async () => {
      const l = await proxies(cp.url);
      expect(l, 'the proxies registered').toHaveLength(1);
      return l;
    }, WAIT);
    expect(list[0]!.adminUrl).toBe(adminUrl);
    // Bound to the wildcard, so loopback reaches it too.
    expect((await request(`http://127.0.0.1:${rt.adminPort}/healthz`)).statusCode).toBe(200);
  });

  it('pushes endpoints to every proxy when an instance joins or leaves', async () => {
    // A short lease: removals apply once the control plane's first lease has passed.
    const cp = await startControlPlane(0, 400);
    const order = await join_(cp.url, 'order-service', 'order-1', 'http://127.0.0.1:1');
    const payment = await join_(cp.url, 'payment-service', 'payment-1', 'http://127.0.0.1:2');
    const paymentEndpoints = () =>
      (
        (order.dataPlane.dump() as { endpoints: { clusters: Record<string, { instance: string }[]> } }).endpoints.clusters['payment-service'] ?? []
      ).map((e) => e.instance);
    await expect.poll(() => paymentEndpoints().join(), { ...WAIT, message: "order-1's endpoints of payment-service" }).toBe('payment-1');
    await payment.leave();
    await expect.poll(paymentEndpoints, { ...WAIT, message: "order-1's endpoints of payment-service after it left" }).toHaveLength(0);
  });

  it('records a NACK with the error, and keeps serving the proxies that ACK', async () => {
    const cp = await startControlPlane();
    await join_(cp.url, 'order-service', 'order-1');
    const refusing = new ControlPlaneClient({
      urls: [cp.url],
      registration: { service: 'payment-service', instance: 'payment-old', mode: 'sidecar', labels: {} },
      onResources: () => {
        throw new Error('unsupported field');
      },
      onEndpoints: () => undefined,
      onRejected: (kind, version) => rejected.push(`${kind} ${version}`),
      versions: () => ({}),
      join: joinOf('payment-service'),
    });
    const rejected: string[] = [];
    refusing.start();
    cleanups.push(() => refusing.stop());
    const list = await vi.waitFor(async () => {
      const l = await proxies(cp.url);
      expect(l.find((p) => p.instance === 'payment-old')?.acks.resources, "payment-old's answer to its push").toBeDefined();
      return l;
    }, WAIT);
    const nacked = list.find((p) => p.instance === 'payment-old')!;
    expect(nacked.acks.resources).toMatchObject({ acked: false, error: 'unsupported field' });
    expect(nacked.acks.resources?.rejectedVersion).toMatch(/^[0-9a-f]{16}$/);
    // The proxy's own side is told too (it counts mesh_config_rejected_total).
    expect(rejected).toContain(`resources ${nacked.acks.resources?.rejectedVersion}`);
    expect(list.find((p) => p.instance === 'order-1')!.acks.resources?.acked).toBe(true);
  });

  it('keeps the data plane on its last config while the control plane is down, and resyncs after a restart', async () => {
    const first = await startControlPlane();
    const port = Number(new URL(first.url).port);
    const rt = await join_(first.url, 'order-service', 'order-1', 'http://127.0.0.1:1');
    const version = rt.dataPlane.versions().resources;
    await first.app.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(rt.dataPlane.ready()).toBe(true);
    expect(rt.dataPlane.versions().resources).toBe(version);

    const second = await startControlPlane(port);
    const list = await vi.waitFor(
      async () => {
        const l = await proxies(second.url);
        const listed = (v: typeof l) => v.some((p) => p.instance === 'order-1' && p.configVersion === version);
        expect(l).toSatisfy(listed, `order-1 listed on version ${version}`);
        return l;
      },
      { ...WAIT, timeout: 10_000 },
    );
    expect(list.map((p) => p.instance)).toEqual(['order-1']);
  });

  it('drops a proxy that stops heartbeating once its lease expires', async () => {
    const cp = await startControlPlane(0, 300);
    const put = await request(`${cp.url}/api/v1/proxies/ghost-1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...asWorkload('user-service') },
      body: JSON.stringify({
        service: 'user-service',
        instance: 'ghost-1',
        mode: 'sidecar',
        endpointUrl: 'http://127.0.0.1:3',
        mtls: true,
        labels: {},
      }),
    });
    expect(put.statusCode).toBe(200);
    await put.body.dump();
    expect((await proxies(cp.url)).map((p) => p.instance)).toEqual(['ghost-1']);
    await expect.poll(() => proxies(cp.url), { ...WAIT, timeout: 3_000, message: 'the proxies listed once the lease expired' }).toHaveLength(0);
  });

  it('refuses a stream for a proxy that has not registered, and bad registrations, with reasons', async () => {
    const cp = await startControlPlane();
    const stream = await request(`${cp.url}/api/v1/proxies/nobody/stream`, { headers: asWorkload('user-service') });
    expect(stream.statusCode).toBe(404);
    expect(((await stream.body.json()) as { error: { code: string } }).error.code).toBe('PROXY_NOT_REGISTERED');
    const bad = await request(`${cp.url}/api/v1/proxies/x`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...asWorkload('user-service') },
      body: JSON.stringify({ service: 'Bad Name', instance: 'x', mode: 'warp', labels: {} }),
    });
    expect(bad.statusCode).toBe(400);
    const body = (await bad.body.json()) as { error: { code: string; details: { path: string }[] } };
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect(body.error.details.map((d) => d.path)).toEqual(expect.arrayContaining(['/service', '/mode']));
  });

  it('refuses to start on an invalid config file, naming the path and reason', () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    copyFileSync(join(deployDir, 'optimized.yaml'), join(dir.path, 'ok.yaml'));
    writeFileSync(
      join(dir.path, 'broken.yaml'),
      'apiVersion: meshcart.io/v1alpha1\nkind: MeshConfig\nmetadata: {name: b}\nspec:\n  services:\n    a: { mode: warp }\n',
    );
    expect(() => buildApp({ configDir: dir.path, profile: 'ok', logger: false, ...identity })).not.toThrow();
    try {
      buildApp({ configDir: dir.path, profile: 'broken', logger: false, ...identity });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues).toEqual([{ path: 'spec.services.a.mode', message: 'must be one of "sidecar", "proxyless", "off"' }]);
    }
  });
});

describe('live changes', () => {
  it('pushes a fault to every proxy at once, refuses an invalid one whole, and clears it', async () => {
    const cp = await startControlPlane();
    const rt = await join_(cp.url, 'gateway', 'gw-1');
    const before = rt.dataPlane.versions().resources;
    const put = await request(`${cp.url}/api/v1/services/product-service/fault`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...asOperator },
      body: JSON.stringify({ abort: { httpStatus: 503, percent: 50 } }),
    });
    expect(put.statusCode).toBe(200);
    await put.body.dump();
    await expect.poll(() => rt.dataPlane.versions().resources, { ...WAIT, message: "gw-1's resources version after the fault" }).not.toBe(before);
    const routes = (rt.dataPlane.dump() as { resources: { resources: { edgeRoutes: { name: string; fault?: unknown }[] } } }).resources.resources
      .edgeRoutes;
    expect(routes.find((r) => r.name === 'products')?.fault).toEqual({ abort: { httpStatus: 503, percent: 50 } });
    expect(routes.find((r) => r.name === 'orders')?.fault).toBeUndefined();
    const faulted = rt.dataPlane.versions().resources;

    const bad = await request(`${cp.url}/api/v1/services/product-service/fault`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...asOperator },
      body: JSON.stringify({ abort: { httpStatus: 503, percent: 150 } }),
    });
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as { error: { details: { path: string }[] } }).error.details[0]!.path).toBe('/abort/percent');
    const unknown = await request(`${cp.url}/api/v1/services/nope-service/fault`, { method: 'DELETE', headers: asOperator });
    expect(unknown.statusCode).toBe(404);
    await unknown.body.dump();
    expect(rt.dataPlane.versions().resources).toBe(faulted);

    const clear = await request(`${cp.url}/api/v1/faults`, { method: 'DELETE', headers: asOperator });
    expect(clear.statusCode).toBe(200);
    await clear.body.dump();
    const cleared = { ...WAIT, message: "gw-1's resources version once the fault is cleared" };
    await expect.poll(() => rt.dataPlane.versions().resources, cleared).toBe(before);
  });
});

describe('several control-plane replicas', () => {
  it('a proxy given several addresses fails over to another replica with the same config and CA', async () => {
    const a = await startControlPlane();
    const b = await startControlPlane();
    const rt = new MeshRuntime({
      service: 'order-service',
      instance: 'order-ha',
      mode: 'sidecar',
      controlPlaneUrls: [a.url, b.url],
      admin: { host: '127.0.0.1', port: 0 },
      logger: silent,
      heartbeatIntervalMs: 100,
      join: joinOf('order-service'),
    });
    rt.connect(await rt.startAdmin(), 'http://127.0.0.1:1', undefined, true);
    cleanups.push(() => rt.close());
    await rt.waitReady(5_000);
    const version = rt.dataPlane.versions().resources;
    const listedOnA = (l: Awaited<ReturnType<typeof proxies>>) => l.some((p) => p.instance === 'order-ha');
    await expect.poll(() => proxies(a.url), WAIT).toSatisfy(listedOnA, 'order-ha listed on A');
    const rootOfA = await (await request(`${a.url}/api/v1/ca`)).body.text();
    await a.app.close();
    // The heartbeat reports the version in use; the ACK of B's own push follows it on a separate call.
    const onB = await vi.waitFor(
      async () => {
        const l = await proxies(b.url);
        const ackedOnB = (v: typeof l) => v.some((p) => p.instance === 'order-ha' && p.configVersion === version && p.acks.resources?.acked === true);
        expect(l).toSatisfy(ackedOnB, `order-ha listed on B with version ${version}, ACKed`);
        return l;
      },
      { ...WAIT, timeout: 10_000 },
    );
    expect(onB.find((p) => p.instance === 'order-ha')!.acks.resources?.acked).toBe(true);
    // Same CA on both replicas: certificates from either verify against one root.
    expect(await (await request(`${b.url}/api/v1/ca`)).body.text()).toBe(rootOfA);
  });
});

describe('replicas sharing a config store', () => {
  it('a change applied on one replica reaches the proxies of the other', async () => {
    const state = makeTempDir('meshcart-state-');
    cleanups.push(() => state.remove());
    const start = async () => {
      const app = buildApp({ configDir: deployDir, profile: 'optimized', logger: false, ...identity, stateDir: state.path });
      await app.listen({ host: '127.0.0.1', port: 0 });
      cleanups.push(() => app.close());
      return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    };
    const [a, b] = [await start(), await start()];
    const onB = await join_(b, 'order-service', 'order-b');
    const before = onB.dataPlane.versions().resources;
    const put = await request(`${a}/api/v1/services/payment-service/fault`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...asOperator },
      body: JSON.stringify({ delay: { fixedDelayMs: 10, percent: 5 } }),
    });
    expect(put.statusCode).toBe(200);
    await put.body.dump();
    const pushed = { ...WAIT, message: "order-b's resources version after the fault applied on A" };
    await expect.poll(() => onB.dataPlane.versions().resources, pushed).not.toBe(before);
    const history = (await (await request(`${b}/api/v1/config/history`)).body.json()) as { source: string }[];
    expect(history.map((h) => h.source)).toEqual(['profile file optimized.yaml', 'fault on payment-service']);
  });
});
