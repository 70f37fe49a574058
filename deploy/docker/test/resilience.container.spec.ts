// The mesh under failure, in real containers of our own image (testcontainers): each service beside
// its sidecar in one network namespace, as compose and Kubernetes run them. A product replica dies
// under load; the payment pod freezes; the control plane drops off the network.
import { makeTempDir } from '@meshcart/testing';
import { chmodSync } from 'node:fs';
import { Network, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { meshContainer as base, CONTROL_PLANE_CREDENTIALS, startGateway, startPod as start, type Pod } from './mesh-containers';
import { call, metricsIn, placeOrder, polling, run, sample, shopper, stockOf } from './shop-client';

const MESH_ENV = { MESH_CONTROL_PLANE_URLS: 'http://control-plane:15010', LOG_LEVEL: 'warn' };

describe('the mesh in containers under failure', () => {
  const image = inject('image');
  const productData = makeTempDir('meshcart-product-data-');
  let network: StartedNetwork;
  let controlPlane: StartedTestContainer;
  let gatewayContainer: StartedTestContainer;
  const pods: Record<string, Pod> = {};
  let gateway = '';
  let token = '';
  let orders = 0;
  const nextKey = () => `resilience-${process.pid}-${++orders}`;

  const meshContainer = (role: string, env: Record<string, string>) => base(image, role, { ...MESH_ENV, ...env });
  const started: StartedTestContainer[] = [];
  async function startPod(service: string, instance: string, port: number, data?: string): Promise<Pod> {
    pods[instance] = await start({ image, network, service, instance, port, env: MESH_ENV, data, track: (c) => started.push(c) });
    return pods[instance]!;
  }

  beforeAll(async () => {
    // Both product replicas share one SQLite catalog, as on the compose volume; the image runs as uid 1000.
    chmodSync(productData.path, 0o777);
    network = await new Network().start();
    controlPlane = await meshContainer('control-plane', { HOST: '0.0.0.0', PORT: '15010', MESH_PROFILE: 'optimized', ...CONTROL_PLANE_CREDENTIALS })
      .withNetwork(network)
      .withNetworkAliases('control-plane')
      .withExposedPorts(15010)
      .start();
    await Promise.all([
      startPod('user-service', 'user-service-1', 3001),
      startPod('product-service', 'product-service-1', 3002, productData.path),
      startPod('product-service', 'product-service-2', 3002, productData.path),
      startPod('order-service', 'order-service-1', 3003),
      startPod('payment-service', 'payment-service-1', 3004),
    ]);
    gatewayContainer = await startGateway(image, network, MESH_ENV);
    gateway = `http://${gatewayContainer.getHost()}:${gatewayContainer.getMappedPort(8080)}`;
    token = (await shopper(gateway, `resilience-${process.pid}@example.com`)).token;
  });

  afterAll(async () => {
    const all = [gatewayContainer, ...started.reverse(), controlPlane].filter(Boolean);
    for (const c of all) await c.stop({ timeout: 5_000 }).catch(() => undefined);
    await network?.stop().catch(() => undefined);
    productData.remove();
  });

  it('keeps orders succeeding through the other product replica when one is killed under load', async () => {
    const results: { status: number; body: unknown }[] = [];
    let killed = false;
    let stop = false;
    // Steady traffic through both product replicas: catalog reads from the gateway, orders (which
    // reserve stock) from order-service.
    const load = (async () => {
      while (!stop) {
        // Orders spread over the catalog, so no product sells out during the test.
        const product = `p-${String((orders % 72) + 1).padStart(3, '0')}`;
        const [browse, order] = await Promise.all([call(`${gateway}/api/products?page=1`), placeOrder(gateway, token, nextKey(), product, 1)]);
        if (killed) results.push(browse, order);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await new Promise((r) => setTimeout(r, 3_000));
    // SIGKILL, app and sidecar: no graceful deregistration, the endpoint stays listed until its lease ends.
    await run('docker', ['kill', pods['product-service-2']!.sidecar.getId(), pods['product-service-2']!.app.getId()]);
    killed = true;
    await new Promise((r) => setTimeout(r, 15_000));
    stop = true;
    await load;

    const failed = results.filter((r) => r.status >= 400);
    expect(results.length).toBeGreaterThan(20);
    expect(failed, JSON.stringify(failed.slice(0, 3))).toEqual([]);
    // The dead replica has left the endpoint list once its lease expired.
    const endpoints = await call<{ clusters: Record<string, { instance: string }[]> }>(
      `http://${controlPlane.getHost()}:${controlPlane.getMappedPort(15010)}/api/v1/endpoints`,
    );
    expect(endpoints.body.clusters['product-service']!.map((e) => e.instance)).toEqual(['product-service-1']);
  });

  it('opens the breaker to a frozen payment pod: orders fail fast with a clear reason, no stock leaks, and orders recover on unpause', async () => {
    const order = pods['order-service-1']!.app.getId();
    const payment = pods['payment-service-1']!;
    const stockBefore = await stockOf(gateway, 'p-003');
    await run('docker', ['pause', payment.sidecar.getId(), payment.app.getId()]);
    try {
      // Enough failing calls to trip the breaker (requestVolumeThreshold 20 at 50% errors).
      const outcomes = await Promise.all(Array.from({ length: 24 }, () => placeOrder(gateway, token, nextKey(), 'p-003', 1)));
      expect(outcomes.filter((o) => o.status === 201)).toEqual([]);
      const breaker = await vi.waitFor(async () => {
        const state = sample(await metricsIn(order), 'mesh_circuit_breaker_state', { dst_service: 'payment-service' });
        expect(state, "order sidecar's breaker to payment-service open").toBe(1);
        return state;
      }, polling(20_000));
      expect(breaker).toBe(1);
      const fast = await placeOrder(gateway, token, nextKey(), 'p-003', 1);
      // Refused by the order sidecar's breaker to payment-service, or by the gateway's to order-service
      // once enough orders failed: either way an open circuit, named.
      expect(fast.status).toBe(503);
      expect(JSON.stringify(fast.body)).toMatch(/MESH_ERR_CIRCUIT_OPEN/);
      // Failing fast: no timeout waited out (a frozen call waits 2 s per try).
      expect(fast.ms).toBeLessThan(1_500);
    } finally {
      await run('docker', ['unpause', payment.sidecar.getId(), payment.app.getId()]);
    }

    // Once the breaker's sleep window has passed, a trial call succeeds and orders go through again.
    const recovered = await vi.waitFor(async () => {
      const r = await placeOrder(gateway, token, nextKey(), 'p-003', 1);
      expect(r.status, `an order after unpause: ${JSON.stringify(r.body)}`).toBe(201);
      return r;
    }, polling(60_000));
    expect(recovered.body.status).toBe('confirmed');
    // Every failed order's reservation was released: stock fell by exactly the confirmed order.
    await expect.poll(() => stockOf(gateway, 'p-003'), { ...polling(60_000), message: 'stock after compensation' }).toBe(stockBefore - 1);
  });

  it('keeps serving on the last config while the control plane is off the network, and resyncs when it returns', async () => {
    const cpUrl = `http://${controlPlane.getHost()}:${controlPlane.getMappedPort(15010)}`;
    type Proxy = { instance: string; configVersion: string | null; stream?: string; acks: { resources?: { acked: boolean } } };
    const before = (await call<Proxy[]>(`${cpUrl}/api/v1/proxies`)).body;
    const netName = network.getName();
    await run('docker', ['network', 'disconnect', netName, controlPlane.getId()]);
    try {
      // The control plane changes profile while cut off (meshctl inside its container, on loopback).
      const applied = await controlPlane.exec(['node', '/app/dist/meshcart.js', 'meshctl', 'profile', 'use', 'baseline']);
      expect(applied.exitCode, applied.output).toBe(0);
      // The data plane keeps serving the shop on what it has.
      for (let i = 0; i < 10; i++) {
        const r = await placeOrder(gateway, token, nextKey(), 'p-004', 1);
        expect(r.status, JSON.stringify(r.body)).toBe(201);
      }
    } finally {
      await run('docker', ['network', 'connect', '--alias', 'control-plane', netName, controlPlane.getId()]);
    }
    // Reconnected, every proxy takes the config changed in the meantime and ACKs it. (Asked from
    // inside the container: a network reconnect does not bring back the published port.)
    const after = await vi.waitFor(async () => {
      const script = "fetch('http://127.0.0.1:15010/api/v1/proxies').then((r) => r.text()).then((t) => process.stdout.write(t))";
      const out = await controlPlane.exec(['node', '-e', script]);
      const list = JSON.parse(out.stdout) as Proxy[];
      const onNewConfig = (l: Proxy[]) =>
        l.length >= before.length &&
        before.every((b) => {
          const now = l.find((p) => p.instance === b.instance);
          return now?.acks.resources?.acked === true && now.configVersion !== b.configVersion;
        });
      expect(list).toSatisfy(onNewConfig, 'every proxy on the new config');
      return list;
    }, polling(90_000));
    expect(after.length).toBeGreaterThanOrEqual(before.length);
    const r = await placeOrder(gateway, token, nextKey(), 'p-004', 1);
    expect(r.status).toBe(201);
  });
});
