// Two and three real control-plane replicas on loopback, with real proxies registered to each:
// what one replica hears, every replica pushes.
import { contentVersion, loadMeshConfigFile } from '@meshcart/mesh-config';
import { MeshRuntime } from '@meshcart/sidecar';
import { makeTempDir } from '@meshcart/testing';
import { createHash, X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { request, type Dispatcher } from 'undici';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { controlPlaneAgent, controlPlaneIdFor, mtlsUrl } from '@meshcart/control-plane-api';
import { buildApp } from '../src/app';
import { CertificateAuthority } from '../src/certificate-authority';
import { startApiRelay } from './api-relay';
import { access, asOperator, asWorkload, joinOf } from './credentials';
import { peerDiscovery } from '../src/replicas';

const deployDir = join(__dirname, '../../../deploy/mesh');
const caDir = makeTempDir('meshcart-ca-');
afterAll(() => caDir.remove());
const silent = pino({ level: 'silent' });
// Loopback calls and in-memory reads, cheap to repeat: polled often, for up to 5 s unless a test says otherwise.
const WAIT = { timeout: 5_000, interval: 50 };
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Replica {
  url: string;
  close: () => Promise<void>;
}

/** Each replica discovers the others through `peers`, a list the test grows as replicas start (like a headless Service). */
async function startReplica(peers: string[], opts: { configDir?: string; leaseTtlMs?: number; caDir?: string } = {}): Promise<Replica> {
  const app = buildApp({
    configDir: opts.configDir ?? deployDir,
    profile: 'optimized',
    caDir: opts.caDir ?? caDir.path,
    ...access,
    logger: false,
    leaseTtlMs: opts.leaseTtlMs ?? 30_000,
    peers: { discover: async () => [...peers], refreshMs: 100, keepaliveMs: 200 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  peers.push(url);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    peers.splice(peers.indexOf(url), 1);
    await app.close();
  };
  cleanups.push(close);
  return { url, close };
}

async function startProxy(cpUrls: string[], service: string, instance: string, endpointUrl?: string, heartbeatIntervalMs = 100) {
  const rt = new MeshRuntime({
    service,
    instance,
    mode: 'sidecar',
    controlPlaneUrls: cpUrls,
    admin: { host: '127.0.0.1', port: 0 },
    logger: silent,
    heartbeatIntervalMs,
    join: joinOf(service),
  });
  const adminUrl = await rt.startAdmin();
  rt.connect(adminUrl, endpointUrl, undefined, endpointUrl !== undefined);
  cleanups.push(() => rt.close());
  await rt.waitReady(5_000);
  return rt;
}

const endpointsOf = (rt: MeshRuntime, cluster: string) =>
  ((rt.dataPlane.dump() as { endpoints: { clusters: Record<string, { instance: string }[]> } | null }).endpoints?.clusters[cluster] ?? [])
    .map((e) => e.instance)
    .sort();

async function get<T>(url: string): Promise<T> {
  const res = await request(url);
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as T;
}

interface ProxyView {
  instance: string;
  connected: boolean;
  controlPlane: string | null;
  configVersion: string | null;
  acks: { resources?: { version: string; acked: boolean } };
}
const proxiesAt = (cp: Replica) => get<ProxyView[]>(`${cp.url}/api/v1/proxies`);
const configAt = (cp: Replica) => get<{ version: string }>(`${cp.url}/api/v1/config`).then((c) => c.version);
const peersAt = (cp: Replica) =>
  get<{ replica: string; joined: boolean; peers: { url: string; replica: string | null; state: string; lastError: string | null }[] }>(
    `${cp.url}/api/v1/peers`,
  );
/** What a peer replica sends as `ca`: the SHA-256 of the root certificate's DER. */
async function fingerprintOf(cp: Replica): Promise<string> {
  const pem = await (await request(`${cp.url}/api/v1/ca`)).body.text();
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

/** A certificate for `account` from the replicas' CA, with its key and the roots. */
async function identityOf(account: string) {
  const authority = await CertificateAuthority.loadOrCreate(caDir.path, 'meshcart.local');
  const spiffeId = `spiffe://meshcart.local/ns/default/sa/${account}`;
  const own = await authority.issueIdentity(spiffeId, 3_600_000);
  return { key: own.keyPem, cert: own.certificatePem, ca: authority.rootPem, spiffeId };
}

/** A dispatcher presenting a certificate for `account` from the replicas' CA, checking the server is a control plane. */
async function identityAgent(account: string) {
  const own = await identityOf(account);
  const agent = controlPlaneAgent(own, controlPlaneIdFor(own.spiffeId));
  cleanups.push(() => agent.close());
  return agent;
}

async function putFault(cp: Replica, service: string) {
  const res = await request(`${cp.url}/api/v1/services/${service}/fault`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...asOperator },
    body: JSON.stringify({ delay: { fixedDelayMs: 10, percent: 5 } }),
  });
  expect(res.statusCode).toBe(200);
  await res.body.dump();
}

describe('control-plane replicas', () => {
  it('push every proxy the endpoints registered with any replica', async () => {
    const peers: string[] = [];
    const a = await startReplica(peers);
    const b = await startReplica(peers);
    const order = await startProxy([a.url], 'order-service', 'order-1', 'http://127.0.0.1:1');
    const payment = await startProxy([b.url], 'payment-service', 'payment-1', 'http://127.0.0.1:2');
    await expect.poll(() => endpointsOf(order, 'payment-service').join(), { ...WAIT, message: "order-1's payment endpoints" }).toBe('payment-1');
    await expect.poll(() => endpointsOf(payment, 'order-service').join(), { ...WAIT, message: "payment-1's order endpoints" }).toBe('order-1');
    // Both replicas list both proxies, each with the replica that holds its stream.
    const [idA, idB] = [(await peersAt(a)).replica, (await peersAt(b)).replica];
    for (const cp of [a, b]) {
      const list = await vi.waitFor(async () => {
        const l = await proxiesAt(cp);
        expect(l).toSatisfy((v: ProxyView[]) => v.length === 2 && v.every((p) => p.connected), `both proxies listed connected at ${cp.url}`);
        return l;
      }, WAIT);
      expect(Object.fromEntries(list.map((p) => [p.instance, p.controlPlane]))).toEqual({ 'order-1': idA, 'payment-1': idB });
    }
    expect(await get(`${a.url}/api/v1/endpoints`)).toEqual(await get(`${b.url}/api/v1/endpoints`));
  });

  it('recognise themselves in the peer list and never send to themselves', async () => {
    const peers: string[] = [];
    const a = await startReplica(peers);
    const b = await startReplica(peers);
    const view = await vi.waitFor(async () => {
      const v = await peersAt(a);
      const bothUp = (peers: typeof v.peers) => peers.length === 2 && peers.every((p) => p.state !== 'down');
      expect(v.peers).toSatisfy(bothUp, "two peers in A's view, none down");
      return v;
    }, WAIT);
    expect(view.joined).toBe(true);
    expect(view.peers.find((p) => p.url === a.url)!.state).toBe('self');
    expect(view.peers.find((p) => p.url === b.url)).toMatchObject({ state: 'up', replica: (await peersAt(b)).replica });
  });

  it('apply a config change made on one replica on every replica, and both list the proxies ACKing it', async () => {
    const peers: string[] = [];
    const a = await startReplica(peers);
    const b = await startReplica(peers);
    const onA = await startProxy([a.url], 'order-service', 'order-1');
    const before = onA.dataPlane.versions().resources;
    await putFault(b, 'payment-service');
    const version = await configAt(b);
    await expect.poll(() => configAt(a), { ...WAIT, message: "A's config version" }).toBe(version);
    const pushed = await vi.waitFor(() => {
      const v = onA.dataPlane.versions().resources;
      expect(v, "order-1's resources version after the fault applied on B").not.toBe(before);
      return v;
    }, WAIT);
    for (const cp of [a, b]) {
      const list = await vi.waitFor(async () => {
        const l = await proxiesAt(cp);
        expect(l[0]?.acks.resources?.version, `the version order-1 answered, listed at ${cp.url}`).toBe(pushed);
        return l;
      }, WAIT);
      expect(list[0]!.acks.resources?.acked).toBe(true);
    }
    const history = await get<{ source: string }[]>(`${a.url}/api/v1/config/history`);
    expect(history.map((h) => h.source)).toEqual(['profile file optimized.yaml', 'fault on payment-service']);
  });

  it('drop a proxy that leaves through one replica from every replica at once, not after its lease', async () => {
    const peers: string[] = [];
    // A is past its first lease (its lists are complete); B joins it and takes that from it.
    const a = await startReplica(peers, { leaseTtlMs: 1_000 });
    await new Promise((r) => setTimeout(r, 1_100));
    const b = await startReplica(peers, { leaseTtlMs: 60_000 });
    const order = await startProxy([b.url], 'order-service', 'order-1');
    const payment = await startProxy([a.url], 'payment-service', 'payment-1', 'http://127.0.0.1:2');
    await expect.poll(() => endpointsOf(order, 'payment-service'), { ...WAIT, message: "order-1's endpoints of payment-service" }).toHaveLength(1);
    await payment.leave();
    // B's lease is a minute: only A passing on the leave can drop the instance this soon.
    const afterLeave = { ...WAIT, timeout: 2_000, message: "order-1's endpoints of payment-service after it left" };
    await expect.poll(() => endpointsOf(order, 'payment-service'), afterLeave).toHaveLength(0);
    expect((await proxiesAt(b)).map((p) => p.instance)).toEqual(['order-1']);
  });

  it('keep every endpoint when one replica stops: its proxies move to the other', async () => {
    const peers: string[] = [];
    const a = await startReplica(peers);
    const b = await startReplica(peers);
    const order = await startProxy([a.url, b.url], 'order-service', 'order-1', 'http://127.0.0.1:1');
    const payment = await startProxy([a.url, b.url], 'payment-service', 'payment-1', 'http://127.0.0.1:2');
    await expect.poll(() => endpointsOf(order, 'payment-service'), { ...WAIT, message: "order-1's endpoints of payment-service" }).toHaveLength(1);
    const idB = (await peersAt(b)).replica;
    await a.close();
    // The survivor held both registrations all along: the proxies reconnect and lose no endpoint.
    const list = await vi.waitFor(
      async () => {
        const l = await proxiesAt(b);
        expect(l).toSatisfy((v: ProxyView[]) => v.length === 2 && v.every((p) => p.controlPlane === idB), `both proxies streaming from B (${idB})`);
        return l;
      },
      { ...WAIT, timeout: 10_000 },
    );
    expect(list.map((p) => p.instance)).toEqual(['order-1', 'payment-1']);
    expect(endpointsOf(order, 'payment-service')).toEqual(['payment-1']);
    expect(endpointsOf(payment, 'order-service')).toEqual(['order-1']);
  });

  it('give a restarted replica the whole registry at once, not after the proxies next heartbeat', async () => {
    const peers: string[] = [];
    const a = await startReplica(peers);
    // A heartbeat a minute apart: whatever the new replica knows within seconds came from its peer.
    await startProxy([a.url], 'payment-service', 'payment-1', 'http://127.0.0.1:2', 60_000);
    const b = await startReplica(peers);
    const list = await vi.waitFor(
      async () => {
        const l = await proxiesAt(b);
        expect(l, 'the proxies the restarted replica lists').toHaveLength(1);
        return l;
      },
      { ...WAIT, timeout: 2_000 },
    );
    expect(list[0]).toMatchObject({ instance: 'payment-1', connected: true, controlPlane: (await peersAt(a)).replica });
    const endpoints = await get<{ clusters: Record<string, unknown[]> }>(`${b.url}/api/v1/endpoints`);
    expect(endpoints.clusters['payment-service']).toHaveLength(1);
  });

  it('start a new replica on the running config, with the changes made since its profile file', async () => {
    const peers: string[] = [];
    const a = await startReplica(peers);
    await putFault(a, 'payment-service');
    const running = await configAt(a);
    const c = await startReplica(peers);
    expect(await configAt(c)).toBe(running);
    expect(await configAt(a)).toBe(running);
  });

  it('take a new profile file from a replica started with it (a rollout) onto the running replicas', async () => {
    const peers: string[] = [];
    const a = await startReplica(peers);
    const b = await startReplica(peers);
    const changedDir = makeTempDir('meshcart-mesh-');
    cleanups.push(() => changedDir.remove());
    for (const f of ['optimized.yaml', 'baseline.yaml']) copyFileSync(join(deployDir, f), join(changedDir.path, f));
    const file = join(changedDir.path, 'optimized.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('timeoutMs: 5000', 'timeoutMs: 4000'));
    const expected = contentVersion(loadMeshConfigFile(file));
    expect(expected).not.toBe(await configAt(a));
    const c = await startReplica(peers, { configDir: changedDir.path });
    expect(await configAt(c)).toBe(expected);
    for (const cp of [a, b]) await expect.poll(() => configAt(cp), { ...WAIT, message: `the config version at ${cp.url}` }).toBe(expected);
  });

  it('pass on what happens while a snapshot is on its way, not only what the snapshot held', async () => {
    // B's link to A fails once, so B sends A a snapshot again, which takes a second and a half to
    // arrive: meanwhile a proxy registers with B, opens its stream and ACKs. A must learn all of it.
    const a = await startReplica([]);
    let posts = 0;
    let snapshotOnItsWay: () => void = () => undefined;
    const held = new Promise<void>((r) => (snapshotOnItsWay = r));
    const toA = await startApiRelay(a.url, undefined, await identityOf('control-plane'), (method, path) => {
      if (method !== 'POST' || path !== '/api/v1/peers/events') return 0;
      posts++;
      if (posts === 2) return 'fail';
      if (posts !== 3) return 0;
      snapshotOnItsWay();
      return 1_500;
    });
    cleanups.push(() => toA.close());
    const b = await startReplica([toA.url]);
    await held;
    await startProxy([b.url], 'order-service', 'order-1', 'http://127.0.0.1:1');
    const onA = await vi.waitFor(async () => {
      const l = await proxiesAt(a);
      expect(l[0], 'order-1 as A lists it: streaming from B, its config ACKed').toMatchObject({
        connected: true,
        acks: { resources: { acked: true } },
      });
      return l;
    }, WAIT);
    expect(onA.map((p) => p.instance)).toEqual(['order-1']);
  });

  it('settle two changes made at once on different replicas on the same one everywhere', async () => {
    const peers: string[] = [];
    const a = await startReplica(peers);
    const b = await startReplica(peers);
    await Promise.all([putFault(a, 'payment-service'), putFault(b, 'user-service')]);
    const [va, vb] = await vi.waitFor(async () => {
      const [x, y] = [await configAt(a), await configAt(b)];
      expect(x, "A's config version against B's").toBe(y);
      return [x, y];
    }, WAIT);
    expect(va).toBe(vb);
  });

  it('refuse to share anything with a replica of another CA root, and say how to fix it', async () => {
    const otherCa = makeTempDir('meshcart-other-ca-');
    cleanups.push(() => otherCa.remove());
    const peers: string[] = [];
    const a = await startReplica(peers);
    const b = await startReplica(peers, { caDir: otherCa.path });
    await startProxy([a.url], 'payment-service', 'payment-1', 'http://127.0.0.1:2');
    const view = await vi.waitFor(async () => {
      const v = await peersAt(a);
      const bDown = (peers: typeof v.peers) => peers.some((p) => p.url === b.url && p.state === 'down' && p.lastError !== null);
      expect(v.peers).toSatisfy(bDown, "B down with an error in A's view");
      return v;
    }, WAIT);
    expect(view.peers.find((p) => p.url === b.url)!.lastError).toMatch(/another CA root.*same MESH_CA_DIR/);
    expect(await proxiesAt(b)).toEqual([]);
  });

  it("refuse peer batches from anyone but a replica's certificate, and malformed ones, and a peer config invalid here without losing the rest of the batch", async () => {
    const a = await startReplica([]);
    const ca = await fingerprintOf(a);
    const batch = JSON.stringify({ from: 'intruder', ca, events: [{ type: 'leave', instance: 'order-1' }] });
    const post = async (init: { headers?: Record<string, string>; dispatcher?: Dispatcher; base?: string }, body = batch) =>
      request(`${init.base ?? a.url}/api/v1/peers/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...init.headers },
        body,
        dispatcher: init.dispatcher,
      });
    const refusal = async (res: Dispatcher.ResponseData) => ({
      status: res.statusCode,
      ...((await res.body.json()) as { error: { code: string; message: string } }).error,
    });
    // No credential, a workload's join credential, the operator's: none is a replica.
    expect(await refusal(await post({}))).toMatchObject({ status: 401, code: 'CREDENTIAL_REQUIRED' });
    expect(await refusal(await post({ headers: asWorkload('order-service') }))).toMatchObject({
      status: 403,
      message: expect.stringMatching(/sa\/order-service may not: only a replica of this control plane/),
    });
    expect(await refusal(await post({ headers: asOperator }))).toMatchObject({ status: 403, message: expect.stringContaining('operator may not') });
    // A workload's certificate on the mTLS port is a workload, not a replica.
    const tls = mtlsUrl(a.url, ((await (await request(`${a.url}/api/v1/mtls`)).body.json()) as { port: number }).port);
    const workload = await identityAgent('order-service');
    expect(await refusal(await post({ base: tls, dispatcher: workload }))).toMatchObject({ status: 403 });
    const replica = await identityAgent('control-plane');

    const malformed = await post(
      { base: tls, dispatcher: replica },
      JSON.stringify({ from: 'peer', ca, events: [{ type: 'register', registration: { service: 'Not A Name' } }] }),
    );
    expect(malformed.statusCode).toBe(400);
    expect(JSON.stringify(await malformed.body.json())).toMatch(/events/);
    const badConfig = await post(
      { base: tls, dispatcher: replica },
      JSON.stringify({
        from: 'peer',
        ca,
        events: [
          {
            type: 'config',
            entry: { seq: 9, version: 'abc', profile: 'x', appliedAt: new Date().toISOString(), source: 'peer', config: { spec: {} } },
          },
          {
            type: 'register',
            registration: {
              service: 'payment-service',
              instance: 'payment-9',
              mode: 'sidecar',
              labels: {},
              endpointUrl: 'http://127.0.0.1:9',
              mtls: true,
            },
          },
        ],
      }),
    );
    // The config is refused with its reason; the rest of a batch still applies (registrations are shared regardless).
    expect(badConfig.statusCode).toBe(200);
    const reply = (await badConfig.body.json()) as { refused: { version: string; error: string }[] };
    expect(reply.refused).toEqual([{ version: 'abc', error: expect.stringMatching(/metadata|apiVersion|kind/) }]);
    expect((await proxiesAt(a)).map((p) => p.instance)).toEqual(['payment-9']);
    // The last good config stays in force.
    expect(await configAt(a)).toBe(contentVersion(loadMeshConfigFile(join(deployDir, 'optimized.yaml'))));
  });
});

describe('peerDiscovery', () => {
  it('lists the static URLs and every address of a DNS name, and an unknown name as none', async () => {
    const found = await peerDiscovery({ urls: ['http://cp-1:15010'], dns: { host: 'localhost', port: 15010 } })();
    expect(found[0]).toBe('http://cp-1:15010');
    expect(found.slice(1)).toContain('http://127.0.0.1:15010');
    expect(await peerDiscovery({ dns: { host: 'no-such-replica.invalid', port: 15010 } })()).toEqual([]);
  });
});
