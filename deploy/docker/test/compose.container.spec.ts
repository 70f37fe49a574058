// The compose demo, as a user runs it: up, a working shop through the published gateway, the mesh's
// own metrics, a profile switch, down -v. Runs docker-compose.yml from the repository root.
import { makeTempDir } from '@meshcart/testing';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { call, metricsIn, placeOrder, polling, run, sample, shopper, stockOf } from './shop-client';

const root = resolve(import.meta.dirname, '../../..');

/** Compose v2 when the docker CLI has it, else v1.29's docker-compose (Debian 12's package). */
function composeCommand(): string[] {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' });
    return ['docker', 'compose'];
  } catch {
    return ['docker-compose'];
  }
}

/**
 * A Prometheus image from this machine's own binary (Debian's prometheus package) on the offline
 * Node base, which already holds the C library it links: the observability profile's scrape config
 * runs for real where Docker Hub is out of reach.
 */
async function prometheusImageFromHost(): Promise<string> {
  const binary = '/usr/bin/prometheus';
  if (!existsSync(binary)) throw new Error(`${binary} is missing: install Debian's "prometheus" package (apt-get install prometheus)`);
  const base = (await run(join(root, 'deploy/docker/node-base-from-host.sh'), [])).stdout.trim();
  const dir = makeTempDir('meshcart-prometheus-image-');
  try {
    copyFileSync(binary, join(dir.path, 'prometheus'));
    mkdirSync(join(dir.path, 'data'));
    writeFileSync(
      join(dir.path, 'Dockerfile'),
      `FROM ${base}\nCOPY prometheus /usr/bin/prometheus\nCOPY --chown=65534:65534 data /prometheus\nUSER 65534:65534\nWORKDIR /prometheus\nENTRYPOINT ["/usr/bin/prometheus"]\n`,
    );
    await run('docker', ['build', '-q', '-t', 'meshcart/prometheus:host', dir.path]);
    return 'meshcart/prometheus:host';
  } finally {
    dir.remove();
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('docker compose up: the shop and its mesh in containers', () => {
  const project = `meshcart-test-${process.pid}`;
  const [bin, ...pre] = composeCommand();
  const env: NodeJS.ProcessEnv = { ...process.env, MESHCART_IMAGE: inject('image') };
  let gateway = '';
  let controlPlane = '';
  const compose = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    run(bin!, [...pre, '-p', project, '-f', 'docker-compose.yml', ...args], { cwd: root, env: { ...env, ...extraEnv }, maxBuffer: 32 << 20 });
  const containerOf = async (service: string) => (await compose(['ps', '-q', service])).stdout.trim();

  beforeAll(async () => {
    env['GATEWAY_PORT'] = String(await freePort());
    env['CONTROL_PLANE_PORT'] = String(await freePort());
    gateway = `http://127.0.0.1:${env['GATEWAY_PORT']}`;
    controlPlane = `http://127.0.0.1:${env['CONTROL_PLANE_PORT']}`;
    // --no-build: the image under test was built once for every container test.
    await compose(['up', '-d', '--no-build']);
  });

  afterAll(async () => {
    const logs = await compose(['logs', '--no-color', '--tail', '30']).catch(() => ({ stdout: '' }));
    await compose(['down', '-v', '--timeout', '10']).catch((err: Error) => console.error(`compose down: ${err.message}`));
    if (process.env['MESHCART_KEEP_LOGS']) console.log(logs.stdout);
  });

  it('brings every container up healthy, each service beside a sidecar in its network namespace', async () => {
    const services = (await compose(['config', '--services'])).stdout
      .trim()
      .split('\n')
      .filter((s) => !['load', 'prometheus', 'grafana'].includes(s));
    // Each instance of deploy/topology.yaml beside its sidecar, the gateway and the control plane.
    expect(services).toHaveLength(14);
    await expect
      .poll(async () => {
        const states = await Promise.all(
          services.map(async (s) => (await run('docker', ['inspect', '-f', '{{.State.Health.Status}}', await containerOf(s)])).stdout.trim()),
        );
        return Object.fromEntries(services.map((s, i) => [s, states[i]]));
      }, polling(150_000))
      .toSatisfy((states: Record<string, string | undefined>) => Object.values(states).every((s) => s === 'healthy'), 'every container healthy');
    // A sidecar joins its app's network namespace, as in a pod: same network stack, no address of its own.
    for (const app of ['user-service', 'product-service-1', 'product-service-2', 'product-service-v2-1', 'order-service', 'payment-service']) {
      const appId = await containerOf(app);
      const mode = (await run('docker', ['inspect', '-f', '{{.HostConfig.NetworkMode}}', await containerOf(`${app}-sidecar`)])).stdout.trim();
      expect(mode).toBe(`container:${appId}`);
    }
  });

  it('registers, logs in and places an order through the published gateway, counted by the order sidecar on the order→payment edge', async () => {
    await expect.poll(async () => (await call(`${gateway}/readyz`)).status, { ...polling(60_000), message: 'gateway ready' }).toBe(200);
    const { token } = await shopper(gateway, `compose-${process.pid}@example.com`);
    const before = await stockOf(gateway, 'p-002');
    const order = await placeOrder(gateway, token, `compose-${process.pid}-1`, 'p-002', 2);
    expect(order.status, JSON.stringify(order.body)).toBe(201);
    expect(order.body.status).toBe('confirmed');
    expect(await stockOf(gateway, 'p-002')).toBe(before - 2);

    const metrics = await metricsIn(await containerOf('order-service'));
    const charges = sample(metrics, 'mesh_requests_total', {
      direction: 'outbound',
      src_service: 'order-service',
      dst_service: 'payment-service',
      status_code: '201',
    });
    expect(charges).toBeGreaterThanOrEqual(1);
    // Both product replicas and the v2 canary are endpoints of product-service at the control plane.
    const endpoints = await call<{ clusters: Record<string, { instance: string; url: string }[]> }>(`${controlPlane}/api/v1/endpoints`);
    expect(endpoints.body.clusters['product-service']!.map((e) => e.instance).sort()).toEqual([
      'product-service-1',
      'product-service-2',
      'product-service-v2-1',
    ]);
    // Everyone is answered by v1; a call asking for the canary, by v2.
    const version = async (headers: Record<string, string>) => {
      const res = await request(`${gateway}/api/products/p-001`, { headers });
      await res.body.dump();
      return res.headers['x-product-version'];
    };
    for (let i = 0; i < 5; i++) expect(await version({})).toBe('v1');
    expect(await version({ 'x-canary': 'true' })).toBe('v2');
    expect(endpoints.body.clusters['payment-service']![0]!.url).toBe('http://payment-service:15006');
  });

  it("serves the dashboard at the control plane's root from the image, and its live stream", async () => {
    const page = await request(`${controlPlane}/`);
    expect(page.statusCode).toBe(200);
    expect(await page.body.text()).toContain('<title>MeshCart dashboard</title>');
    const stream = await request(`${controlPlane}/api/v1/dashboard/stream`);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    let first = '';
    for await (const chunk of stream.body) if ((first += String(chunk)).includes('event: snapshot')) break;
    stream.body.destroy();
    expect(first).toMatch(/"profile":"optimized"/);
  });

  it("scrapes every proxy's admin port with the observability profile's Prometheus, order→payment included", async () => {
    env['PROMETHEUS_IMAGE'] = await prometheusImageFromHost();
    env['PROMETHEUS_PORT'] = String(await freePort());
    // Prometheus only: Grafana's image comes from Docker Hub.
    await compose(['--profile', 'observability', 'up', '-d', '--no-build', '--no-deps', 'prometheus']);
    const prometheus = `http://127.0.0.1:${env['PROMETHEUS_PORT']}`;
    type Targets = { data: { activeTargets: { labels: { instance_name: string }; health: string; lastError: string }[] } };
    const targets = await vi.waitFor(async () => {
      const list = (await call<Targets>(`${prometheus}/api/v1/targets`)).body.data.activeTargets;
      expect(list).toSatisfy((l: typeof list) => l.length === 7 && l.every((t) => t.health === 'up'), 'all seven proxies scraped and up');
      return list;
    }, polling(60_000));
    expect(targets.map((t) => t.labels.instance_name).sort()).toEqual([
      'gateway',
      'order-service',
      'payment-service',
      'product-service-1',
      'product-service-2',
      'product-service-v2-1',
      'user-service',
    ]);
    type Vector = { data: { result: { value: [number, string] }[] } };
    const query = encodeURIComponent('sum(mesh_requests_total{direction="outbound",src_service="order-service",dst_service="payment-service"})');
    const charged = await vi.waitFor(async () => {
      const n = Number((await call<Vector>(`${prometheus}/api/v1/query?query=${query}`)).body.data.result[0]?.value[1] ?? 0);
      expect(n, 'order→payment requests in Prometheus').toBeGreaterThanOrEqual(1);
      return n;
    }, polling(30_000));
    expect(charged).toBeGreaterThanOrEqual(1);
  });

  it('switches MESH_PROFILE to baseline live: the sidecars stay up, every proxy ACKs the new config, and orders still work', async () => {
    type Proxy = { instance: string; acks: { resources?: { acked: boolean } }; configVersion: string | null };
    const proxies = async () => (await call<Proxy[]>(`${controlPlane}/api/v1/proxies`)).body;
    const versionsBefore = Object.fromEntries((await proxies()).map((p) => [p.instance, p.configVersion]));
    // Every instance's sidecar and the gateway.
    expect(Object.keys(versionsBefore)).toHaveLength(7);
    const sidecarBefore = await containerOf('order-service-sidecar');

    await compose(['up', '-d', '--no-build'], { MESH_PROFILE: 'baseline' });
    expect(await containerOf('order-service-sidecar')).toBe(sidecarBefore);
    const config = await vi.waitFor(async () => {
      const r = await call<{ profile: string }>(`${controlPlane}/api/v1/config`);
      expect(r.status, `control plane back: ${JSON.stringify(r.body)}`).toBe(200);
      return r;
    }, polling(60_000));
    expect(config.body.profile).toBe('baseline');
    // The same proxies, reconnected to the new control plane, each on a new config version it ACKed.
    const ackedAnew = (list: Proxy[]) =>
      list.length === Object.keys(versionsBefore).length &&
      list.every((p) => p.acks.resources?.acked && p.configVersion !== null && p.configVersion !== versionsBefore[p.instance]);
    await expect.poll(proxies, polling(90_000)).toSatisfy(ackedAnew, 'every proxy ACKed the baseline config');

    const { token } = await shopper(gateway, `compose-baseline-${process.pid}@example.com`);
    const order = await vi.waitFor(async () => {
      const r = await placeOrder(gateway, token, `compose-${process.pid}-2`);
      expect(r.status, `an order on the baseline profile: ${JSON.stringify(r.body)}`).toBe(201);
      return r;
    }, polling(60_000));
    expect(order.body.status).toBe('confirmed');
  });

  it('stops a replica and its sidecar gracefully on SIGTERM: both exit 0 and the replica leaves the endpoint list', async () => {
    const ids = [await containerOf('product-service-2-sidecar'), await containerOf('product-service-2')];
    await compose(['stop', '-t', '15', 'product-service-2-sidecar', 'product-service-2']);
    // 0, not 137: each process handled SIGTERM (drain, deregister) and exited before the grace period.
    for (const id of ids) expect((await run('docker', ['inspect', '-f', '{{.State.ExitCode}}', id])).stdout.trim()).toBe('0');
    const endpoints = await vi.waitFor(async () => {
      const { body } = await call<{ clusters: Record<string, { instance: string }[]> }>(`${controlPlane}/api/v1/endpoints`);
      const list = body.clusters['product-service']!.map((e) => e.instance);
      expect(list, 'product-service-2 deregistered').not.toContain('product-service-2');
      return list;
    }, polling(30_000));
    expect(endpoints.sort()).toEqual(['product-service-1', 'product-service-v2-1']);
  });

  it('down -v removes the containers and the data volumes', async () => {
    await compose(['down', '-v', '--timeout', '10']);
    expect((await run('docker', ['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${project}`])).stdout.trim()).toBe('');
    expect((await run('docker', ['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`])).stdout.trim()).toBe('');
  });
});
