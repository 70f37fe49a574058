// Two control-plane replicas in real containers, found through one DNS name that answers every
// replica's address (a shared network alias: what a headless Service is on Kubernetes). The shop's
// proxies are split between them; one replica stops, and a new one joins.
import { makeTempDir } from '@meshcart/testing';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { Network, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { meshContainer as base, startGateway, startPod as start, AS_OPERATOR, CONTROL_PLANE_CREDENTIALS } from './mesh-containers';
import { call, placeOrder, polling, run, shopper } from './shop-client';

const FIRST_CP1 = 'http://cp-1:15010,http://cp-2:15010';
const FIRST_CP2 = 'http://cp-2:15010,http://cp-1:15010';

interface ProxyView {
  instance: string;
  connected: boolean;
  controlPlane: string | null;
  configVersion: string | null;
}
interface PeersView {
  replica: string;
  joined: boolean;
  peers: { url: string; replica: string | null; state: string }[];
}

describe('control-plane replicas in containers', () => {
  const image = inject('image');
  // One CA root for every replica, made as docs/kubernetes.md makes the meshcart-ca Secret.
  const ca = makeTempDir('meshcart-replicas-ca-');
  let network: StartedNetwork;
  const replicas: Record<string, StartedTestContainer> = {};
  const others: StartedTestContainer[] = [];
  let gateway = '';
  let token = '';
  let orders = 0;
  const nextKey = () => `replicas-${process.pid}-${++orders}`;

  const api = (name: string) => `http://${replicas[name]!.getHost()}:${replicas[name]!.getMappedPort(15010)}/api/v1`;
  const proxiesAt = async (name: string) => (await call<ProxyView[]>(`${api(name)}/proxies`)).body;
  const peersAt = async (name: string) => (await call<PeersView>(`${api(name)}/peers`)).body;
  const configAt = async (name: string) => (await call<{ version: string }>(`${api(name)}/config`)).body.version;

  const meshContainer = (role: string, env: Record<string, string>) => base(image, role, { LOG_LEVEL: 'warn', ...env });

  async function startReplica(name: string): Promise<void> {
    replicas[name] = await meshContainer('control-plane', {
      HOST: '0.0.0.0',
      PORT: '15010',
      MESH_PROFILE: 'optimized',
      MESH_PEERS_DNS: 'control-plane-peers:15010',
      MESH_PEERS_REFRESH_MS: '1000',
      MESH_CA_DIR: '/etc/meshcart/ca',
      // Replicas prove themselves to each other with certificates from this CA: no shared token.
      ...CONTROL_PLANE_CREDENTIALS,
    })
      .withBindMounts([{ source: ca.path, target: '/etc/meshcart/ca', mode: 'ro' }])
      .withNetwork(network)
      .withNetworkAliases(name, 'control-plane-peers')
      .withExposedPorts(15010)
      .start();
  }

  /** A service's pod, given the replicas in `cpUrls` order (the first one it streams from). */
  const startPod = (service: string, port: number, cpUrls: string) =>
    start({
      image,
      network,
      service,
      instance: `${service}-1`,
      port,
      env: { LOG_LEVEL: 'warn', MESH_CONTROL_PLANE_URLS: cpUrls },
      track: (c) => others.unshift(c),
    });

  beforeAll(async () => {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      join(ca.path, 'ca-key.pem'),
      '-out',
      join(ca.path, 'ca-cert.pem'),
      '-subj',
      '/O=meshcart.local/CN=MeshCart test root CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    // The image runs as uid 1000; these throwaway files are readable to it.
    chmodSync(ca.path, 0o755);
    for (const f of ['ca-key.pem', 'ca-cert.pem']) chmodSync(join(ca.path, f), 0o644);
    network = await new Network().start();
    await startReplica('cp-1');
    await startReplica('cp-2');
    await Promise.all([
      startPod('user-service', 3001, FIRST_CP1),
      startPod('order-service', 3003, FIRST_CP1),
      startPod('product-service', 3002, FIRST_CP2),
      startPod('payment-service', 3004, FIRST_CP2),
    ]);
    const gw = await startGateway(image, network, { LOG_LEVEL: 'warn', MESH_CONTROL_PLANE_URLS: FIRST_CP2 });
    others.unshift(gw);
    gateway = `http://${gw.getHost()}:${gw.getMappedPort(8080)}`;
    token = (await shopper(gateway, `replicas-${process.pid}@example.com`)).token;
  });

  afterAll(async () => {
    for (const c of [...others, ...Object.values(replicas)]) await c.stop({ timeout: 5_000 }).catch(() => undefined);
    await network?.stop().catch(() => undefined);
    ca.remove();
  });

  it('find each other by one DNS name, list every proxy wherever it streams from, and serve orders across the split', async () => {
    for (const name of ['cp-1', 'cp-2']) {
      const view = await vi.waitFor(async () => {
        const v = await peersAt(name);
        const seesPeer = (peers: PeersView['peers']) => peers.some((p) => p.state === 'up') && peers.some((p) => p.state === 'self');
        expect(v.peers).toSatisfy(seesPeer, `${name} sees its peer`);
        return v;
      }, polling(20_000));
      expect(view.joined).toBe(true);
    }
    const [id1, id2] = [(await peersAt('cp-1')).replica, (await peersAt('cp-2')).replica];
    for (const name of ['cp-1', 'cp-2']) {
      const list = await vi.waitFor(async () => {
        const l = await proxiesAt(name);
        expect(l).toSatisfy((v: ProxyView[]) => v.length === 5 && v.every((p) => p.connected), `${name} lists all five proxies connected`);
        return l;
      }, polling(30_000));
      const holders = Object.fromEntries(list.map((p) => [p.instance, p.controlPlane]));
      expect(holders).toEqual({
        'user-service-1': id1,
        'order-service-1': id1,
        'product-service-1': id2,
        'payment-service-1': id2,
        'gateway-1': id2,
      });
    }
    expect((await call(`${api('cp-1')}/endpoints`)).body).toEqual((await call(`${api('cp-2')}/endpoints`)).body);
    // order-service streams from cp-1, payment-service registered with cp-2: the saga crosses the split.
    const order = await placeOrder(gateway, token, nextKey());
    expect(order.status, JSON.stringify(order.body)).toBe(201);
    expect(order.body.status).toBe('confirmed');
  });

  it('push a config change made through one replica to the proxies streaming from the other', async () => {
    const fault = await call(`${api('cp-2')}/services/payment-service/fault`, {
      method: 'PUT',
      body: { delay: { fixedDelayMs: 1, percent: 1 } },
      headers: AS_OPERATOR,
    });
    expect(fault.status).toBe(200);
    const version = await configAt('cp-2');
    await expect.poll(() => configAt('cp-1'), { ...polling(10_000), message: 'cp-1 applies the change' }).toBe(version);
    // order-service streams from cp-1 and calls payment-service: its resources carry the fault.
    const resources = (await call<{ version: string }>(`${api('cp-1')}/services/order-service/resources`)).body.version;
    for (const name of ['cp-1', 'cp-2']) {
      const list = await vi.waitFor(async () => {
        const l = await proxiesAt(name);
        expect(l.find((p) => p.instance === 'order-service-1')?.configVersion, `${name} lists order-service ACKing the change`).toBe(resources);
        return l;
      }, polling(15_000));
      expect(list.find((p) => p.instance === 'order-service-1')!.controlPlane).toBe((await peersAt('cp-1')).replica);
    }
  });

  it('keep serving orders while a replica stops: its proxies move to the other, which already knows every endpoint', async () => {
    const id2 = (await peersAt('cp-2')).replica;
    const endpointsBefore = (await call(`${api('cp-2')}/endpoints`)).body;
    const results: { status: number; body: unknown }[] = [];
    let stop = false;
    const load = (async () => {
      while (!stop) {
        results.push(await placeOrder(gateway, token, nextKey(), `p-${String((orders % 72) + 1).padStart(3, '0')}`, 1));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await new Promise((r) => setTimeout(r, 1_000));
    await replicas['cp-1']!.stop({ timeout: 10_000 });
    delete replicas['cp-1'];
    const list = await vi.waitFor(async () => {
      const l = await proxiesAt('cp-2');
      expect(l).toSatisfy((v: ProxyView[]) => v.length === 5 && v.every((p) => p.controlPlane === id2), 'every proxy streams from cp-2');
      return l;
    }, polling(30_000));
    expect(list.map((p) => p.instance).sort()).toEqual(['gateway-1', 'order-service-1', 'payment-service-1', 'product-service-1', 'user-service-1']);
    stop = true;
    await load;
    const failed = results.filter((r) => r.status !== 201);
    expect(results.length).toBeGreaterThan(5);
    expect(failed, JSON.stringify(failed.slice(0, 3))).toEqual([]);
    expect((await call(`${api('cp-2')}/endpoints`)).body).toEqual(endpointsBefore);
  });

  it('start a new replica on the running config (with the change made since the profile file) and the whole registry', async () => {
    const running = await configAt('cp-2');
    await startReplica('cp-3');
    expect(await configAt('cp-3')).toBe(running);
    const list = await proxiesAt('cp-3');
    expect(list).toHaveLength(5);
    expect((await peersAt('cp-3')).peers.filter((p) => p.state === 'up').map((p) => p.replica)).toEqual([(await peersAt('cp-2')).replica]);
  });
});
