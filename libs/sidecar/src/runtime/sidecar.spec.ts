import { compileProxyResources, endpointsSnapshot, parseMeshConfig } from '@meshcart/mesh-config';
import { startRecordingServer, type RecordingServer } from '@meshcart/testing';
import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { Http2Server } from 'node:http2';
import pino from 'pino';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { InboundServer } from '../fronts/inbound-server';
import { Sidecar, type SidecarPorts } from './sidecar';

const silent = pino({ level: 'silent' });

function meshConfig(knobs: { maxRequestsPerConnection?: number; timeoutMs?: number; lb?: string; paymentSpec?: string; h2?: boolean } = {}) {
  return parseMeshConfig(`
apiVersion: meshcart.io/v1alpha1
kind: MeshConfig
metadata: { name: test }
spec:
  defaults:
    accessLog: { mode: 'off' }
    policy:
      connectionPool: { maxRequestsPerConnection: ${knobs.maxRequestsPerConnection ?? 0}, h2UpgradePolicy: ${knobs.h2 ? 'UPGRADE' : 'DEFAULT'} }
      loadBalancer: { policy: ${knobs.lb ?? 'ROUND_ROBIN'} }
      timeoutMs: ${knobs.timeoutMs ?? 5000}
  services:
    order-service: {}
    payment-service: ${knobs.paymentSpec ?? '{}'}
`);
}

interface Running {
  sidecar: Sidecar;
  ports: SidecarPorts;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function startSidecar(service: string, instance: string, appUrl: string): Promise<Running> {
  // No control plane in these tests: config is applied directly, as a push would.
  const sidecar = new Sidecar({ service, instance, appUrl, controlPlaneUrls: ['http://127.0.0.1:9'], logger: silent });
  const ports = await sidecar.start();
  cleanups.push(() => sidecar.stop());
  return { sidecar, ports };
}

async function upstream(reply?: Parameters<typeof startRecordingServer>[0]): Promise<RecordingServer> {
  const server = await startRecordingServer(reply);
  cleanups.push(() => server.close());
  return server;
}

/** order-service's sidecar in front of N payment-service instances, each behind its own sidecar. */
async function meshOf(apps: RecordingServer[], config = meshConfig()) {
  const order = await startSidecar('order-service', 'order-1', 'http://127.0.0.1:9');
  const payments = await Promise.all(apps.map((app, i) => startSidecar('payment-service', `payment-${i + 1}`, app.url)));
  const endpoints = endpointsSnapshot({
    'payment-service': payments.map((p, i) => ({
      instance: `payment-${i + 1}`,
      url: `http://127.0.0.1:${p.ports.inbound}`,
      h2cUrl: `http://127.0.0.1:${p.ports.inboundH2c}`,
      weight: 1,
      labels: {},
    })),
  });
  for (const [svc, s] of [['order-service', order] as const, ...payments.map((p) => ['payment-service', p] as const)]) {
    s.sidecar.runtime.dataPlane.applyResources(compileProxyResources(config, svc));
    s.sidecar.runtime.dataPlane.applyEndpoints(endpoints);
  }
  const outbound = `http://127.0.0.1:${order.ports.outbound}`;
  return { order, payments, outbound };
}

async function metricsOf(s: Running): Promise<string> {
  const res = await request(`http://127.0.0.1:${s.ports.admin}/metrics`);
  return res.body.text();
}

describe('sidecar data path', () => {
  it('routes by Host header from the app, through the peer sidecar, to the peer app', async () => {
    const app = await upstream();
    const { outbound, order, payments } = await meshOf([app]);
    const res = await request(`${outbound}/charges?x=1`, {
      method: 'POST',
      headers: { host: 'payment-service', 'content-type': 'application/json' },
      body: JSON.stringify({ amountCents: 5 }),
    });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ method: 'POST', url: '/charges?x=1', body: '{"amountCents":5}' });
    expect(app.requests[0]!.headers['x-meshcart-src']).toBeUndefined();

    const outMetrics = await metricsOf(order);
    expect(outMetrics).toMatch(
      /mesh_requests_total\{direction="outbound",src_service="order-service",dst_service="payment-service",status_code="200"[^}]*\} 1/,
    );
    const inMetrics = await metricsOf(payments[0]!);
    expect(inMetrics).toMatch(
      /mesh_requests_total\{direction="inbound",src_service="order-service",dst_service="payment-service",status_code="200"[^}]*\} 1/,
    );
    expect(inMetrics).toMatch(/mesh_request_duration_seconds_count\{[^}]*direction="inbound"[^}]*\} 1/);
  });

  it('accepts absolute-form request URIs, as HTTP_PROXY clients send them', async () => {
    const app = await upstream();
    const { order } = await meshOf([app]);
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: order.ports.outbound, path: 'http://payment-service/charges/7', method: 'GET' }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    expect(JSON.parse(body)).toMatchObject({ method: 'GET', url: '/charges/7' });
  });

  it('reuses one upstream connection when maxRequestsPerConnection is 0', async () => {
    const app = await upstream();
    const { outbound, payments } = await meshOf([app], meshConfig({ maxRequestsPerConnection: 0 }));
    const accepted = countConnections(payments[0]!);
    for (let i = 0; i < 5; i++) await (await request(`${outbound}/x`, { headers: { host: 'payment-service' } })).body.dump();
    // The payment app sees the inbound side's pooled connection; the sidecar inbound sees the peer's.
    expect(app.requests).toHaveLength(5);
    expect(accepted()).toBe(1);
  });

  it('keeps idle inbound connections longer than callers pool them, and says so in Keep-Alive', async () => {
    const app = await upstream();
    const { payments } = await meshOf([app]);
    const res = await request(`http://127.0.0.1:${payments[0]!.ports.inbound}/x`, { headers: { host: 'payment-service' } });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    // Past the optimized profile's 60 s pool idle timeout: a pause in traffic must not force new mTLS handshakes.
    expect(res.headers['keep-alive']).toBe('timeout=75');
  });

  it('opens a new upstream connection per request when maxRequestsPerConnection is 1', async () => {
    const app = await upstream();
    const { outbound, payments } = await meshOf([app], meshConfig({ maxRequestsPerConnection: 1 }));
    const accepted = countConnections(payments[0]!);
    for (let i = 0; i < 5; i++) await (await request(`${outbound}/x`, { headers: { host: 'payment-service' } })).body.dump();
    expect(accepted()).toBe(5);
  });

  it('answers 504 MESH_ERR_UPSTREAM_TIMEOUT when the route timeout passes', async () => {
    const slow = await upstream((_req, res) => void setTimeout(() => res.end('late'), 1_000));
    const { outbound } = await meshOf([slow], meshConfig({ timeoutMs: 100 }));
    const started = Date.now();
    const res = await request(`${outbound}/slow`, { headers: { host: 'payment-service' } });
    expect(res.statusCode).toBe(504);
    expect(res.headers['x-meshcart-error']).toBe('MESH_ERR_UPSTREAM_TIMEOUT');
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('MESH_ERR_UPSTREAM_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('answers 503 MESH_ERR_NO_ENDPOINTS when a service has no instances, and 404 for an unknown service', async () => {
    const { outbound, order } = await meshOf([]);
    const none = await request(`${outbound}/x`, { headers: { host: 'payment-service' } });
    expect(none.statusCode).toBe(503);
    expect(((await none.body.json()) as { error: { code: string } }).error.code).toBe('MESH_ERR_NO_ENDPOINTS');
    const unknown = await request(`${outbound}/x`, { headers: { host: 'nobody' } });
    expect(unknown.statusCode).toBe(404);
    expect(((await unknown.body.json()) as { error: { code: string } }).error.code).toBe('MESH_ERR_NO_ROUTE');
    expect(await metricsOf(order)).toMatch(/dst_service="payment-service",status_code="503"[^}]*\} 1/);
  });

  it('answers 503 MESH_ERR_NOT_READY before any config has arrived', async () => {
    const s = await startSidecar('order-service', 'order-x', 'http://127.0.0.1:9');
    const res = await request(`http://127.0.0.1:${s.ports.outbound}/x`, { headers: { host: 'payment-service' } });
    expect(res.statusCode).toBe(503);
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('MESH_ERR_NOT_READY');
    const ready = await request(`http://127.0.0.1:${s.ports.admin}/ready`);
    expect(ready.statusCode).toBe(503);
    await ready.body.dump();
  });

  it('spreads requests over instances and stops sending to a removed one', async () => {
    const a = await upstream();
    const b = await upstream();
    const { outbound, order } = await meshOf([a, b]);
    for (let i = 0; i < 10; i++) await (await request(`${outbound}/x`, { headers: { host: 'payment-service' } })).body.dump();
    expect([a.requests.length, b.requests.length]).toEqual([5, 5]);

    const dp = order.sidecar.runtime.dataPlane;
    const current = (dp.dump() as { endpoints: { clusters: Record<string, { instance: string }[]> } }).endpoints.clusters;
    dp.applyEndpoints(endpointsSnapshot({ 'payment-service': current['payment-service']!.filter((e) => e.instance === 'payment-2') as never }));
    for (let i = 0; i < 4; i++) await (await request(`${outbound}/x`, { headers: { host: 'payment-service' } })).body.dump();
    expect([a.requests.length, b.requests.length]).toEqual([5, 9]);
  });

  it('keeps the last good config when a pushed one is refused', async () => {
    const app = await upstream();
    const { outbound, order } = await meshOf([app]);
    const dp = order.sidecar.runtime.dataPlane;
    const before = dp.versions().resources;
    const bad = structuredClone(compileProxyResources(meshConfig(), 'order-service'));
    bad.version = 'bad';
    bad.resources.virtualHosts[0]!.routes[0]!.cluster = 'ghost-service';
    expect(() => dp.applyResources(bad)).toThrow(/unknown clusters: default → ghost-service/);
    expect(dp.versions().resources).toBe(before);
    const res = await request(`${outbound}/x`, { headers: { host: 'payment-service' } });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });

  it('applies a pushed policy change without failing requests in flight', async () => {
    const slow = await upstream((_req, res) => void setTimeout(() => res.end('done'), 300));
    const { outbound, order } = await meshOf([slow], meshConfig({ maxRequestsPerConnection: 0 }));
    const inFlight = request(`${outbound}/slow`, { headers: { host: 'payment-service' } });
    await new Promise((r) => setTimeout(r, 100));
    // New pool settings: the old pool closes gracefully once its request is done.
    order.sidecar.runtime.dataPlane.applyResources(
      compileProxyResources(meshConfig({ maxRequestsPerConnection: 1, lb: 'LEAST_REQUEST' }), 'order-service'),
    );
    const res = await inFlight;
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('done');
    const after = await request(`${outbound}/again`, { headers: { host: 'payment-service' } });
    expect(after.statusCode).toBe(200);
    await after.body.dump();
  });

  it('rate-limits at the destination: over the bucket, 429 with Retry-After, and the app is spared', async () => {
    const app = await upstream();
    const { outbound } = await meshOf([app], meshConfig({ paymentSpec: '{ rateLimit: { requestsPerSecond: 1, burst: 2 } }' }));
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof request>> | undefined;
    for (let i = 0; i < 3; i++) {
      const res = await request(`${outbound}/charges`, { headers: { host: 'payment-service' } });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) limited = res;
      else await res.body.dump();
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(limited!.headers['retry-after']).toBe('1');
    expect(((await limited!.body.json()) as { error: { code: string } }).error.code).toBe('MESH_ERR_RATE_LIMITED');
    expect(app.requests).toHaveLength(2);
  });

  it("continues the caller's W3C trace on every hop, or starts one", async () => {
    const app = await upstream();
    const { outbound } = await meshOf([app]);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await (await request(`${outbound}/x`, { headers: { host: 'payment-service', traceparent: `00-${traceId}-00f067aa0ba902b7-01` } })).body.dump();
    const seen = String(app.requests[0]!.headers['traceparent']);
    expect(seen).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(seen).not.toContain('00f067aa0ba902b7');
    await (await request(`${outbound}/y`, { headers: { host: 'payment-service' } })).body.dump();
    expect(String(app.requests[1]!.headers['traceparent'])).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(String(app.requests[1]!.headers['traceparent'])).not.toContain(traceId);
  });

  it('speaks HTTP/2 to the peer sidecar when h2UpgradePolicy is UPGRADE, and HTTP/1.1 otherwise', async () => {
    for (const h2 of [true, false]) {
      const app = await upstream();
      const { outbound, payments } = await meshOf([app], meshConfig({ h2 }));
      const h2Server = (payments[0]!.sidecar as unknown as { h2c: Http2Server }).h2c;
      let sessions = 0;
      h2Server.on('session', () => sessions++);
      for (let i = 0; i < 3; i++) {
        const res = await request(`${outbound}/charges`, {
          method: 'POST',
          headers: { host: 'payment-service', 'content-type': 'text/plain' },
          body: `b${i}`,
        });
        expect(res.statusCode).toBe(200);
        expect(((await res.body.json()) as { body: string }).body).toBe(`b${i}`);
      }
      expect(sessions).toBe(h2 ? 1 : 0);
      expect(app.requests.map((r) => r.headers['x-meshcart-src'])).toEqual([undefined, undefined, undefined]);
    }
  });

  it('exposes the config in force on /config_dump', async () => {
    const app = await upstream();
    const { order } = await meshOf([app]);
    const dump = (await (await request(`http://127.0.0.1:${order.ports.admin}/config_dump`)).body.json()) as {
      service: string;
      resources: { version: string };
      clusters: { name: string; endpoints: unknown[] }[];
    };
    expect(dump.service).toBe('order-service');
    expect(dump.resources.version).toBe(order.sidecar.runtime.dataPlane.versions().resources);
    expect(dump.clusters.find((c) => c.name === 'payment-service')?.endpoints).toHaveLength(1);
  });
});

describe("drain (a pod's preStop)", () => {
  it('takes a sidecar out of the mesh on POST /drain from the pod itself, and keeps serving calls on their way', async () => {
    const app = await upstream();
    const { outbound, payments } = await meshOf([app]);
    const admin = `http://127.0.0.1:${payments[0]!.ports.admin}`;
    const get = await request(`${admin}/drain`);
    expect(get.statusCode).toBe(405);
    await get.body.dump();
    const drained = await request(`${admin}/drain`, { method: 'POST' });
    expect(drained.statusCode).toBe(200);
    expect(await drained.body.json()).toEqual({ status: 'draining' });
    const ready = await request(`${admin}/ready`);
    expect(ready.statusCode).toBe(503);
    expect(await ready.body.json()).toEqual({ status: 'draining' });
    // A caller whose endpoint list still names it is served.
    const res = await request(`${outbound}/charges`, {
      method: 'POST',
      headers: { host: 'payment-service', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });

  it('refuses a drain from outside the pod: the admin port faces the network for Prometheus', async () => {
    const address = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    expect(address, 'a non-loopback IPv4 address on this machine').toBeDefined();
    const sidecar = new Sidecar({
      service: 'payment-service',
      instance: 'payment-x',
      appUrl: 'http://127.0.0.1:9',
      controlPlaneUrls: ['http://127.0.0.1:9'],
      adminHost: '0.0.0.0',
      logger: silent,
    });
    const ports = await sidecar.start();
    cleanups.push(() => sidecar.stop());
    const res = await request(`http://${address}:${ports.admin}/drain`, { method: 'POST' });
    expect(res.statusCode).toBe(403);
    expect(await res.body.json()).toEqual({ error: 'POST /drain is taken only from the pod itself (loopback)' });
    const ready = await request(`http://127.0.0.1:${ports.admin}/ready`);
    expect(await ready.body.json()).toEqual({ status: 'waiting for config' });
  });
});

/** Counts connections the payment sidecar's inbound listener accepts from now on. */
function countConnections(s: Running): () => number {
  const server = (s.sidecar as unknown as { inboundServer: InboundServer }).inboundServer;
  let n = 0;
  server.onConnection(() => n++);
  return () => n;
}

describe('bootstrap file', () => {
  it('starts serving from the last good config on disk when the control plane is unreachable', async () => {
    const { mkdtempSync, rmSync, existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'meshcart-bootstrap-'));
    const file = join(dir, 'order-1.json');
    const app = await upstream();
    const payment = await startSidecar('payment-service', 'payment-1', app.url);
    const first = new Sidecar({
      service: 'order-service',
      instance: 'order-1',
      appUrl: 'http://127.0.0.1:9',
      controlPlaneUrls: ['http://127.0.0.1:9'],
      logger: silent,
      bootstrapFile: file,
    });
    await first.start();
    payment.sidecar.runtime.dataPlane.applyResources(compileProxyResources(meshConfig(), 'payment-service'));
    // What a push would do: the runtime applies it and keeps it on disk.
    const push = first.runtime as unknown as { onEndpoints: (s: unknown, complete: boolean) => void };
    first.runtime.dataPlane.applyResources(compileProxyResources(meshConfig(), 'order-service'));
    push.onEndpoints(
      endpointsSnapshot({ 'payment-service': [{ instance: 'payment-1', url: `http://127.0.0.1:${payment.ports.inbound}`, weight: 1, labels: {} }] }),
      true,
    );
    expect(existsSync(file)).toBe(true);
    await first.stop();

    // A new process, the control plane still unreachable: it serves at once from the file.
    const second = new Sidecar({
      service: 'order-service',
      instance: 'order-1',
      appUrl: 'http://127.0.0.1:9',
      controlPlaneUrls: ['http://127.0.0.1:9'],
      logger: silent,
      bootstrapFile: file,
    });
    const ports = await second.start();
    cleanups.push(() => second.stop());
    const res = await request(`http://127.0.0.1:${ports.outbound}/charges`, { headers: { host: 'payment-service' } });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    rmSync(dir, { recursive: true, force: true });
  });
});
