import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileProxyResources, endpointsSnapshot, loadMeshConfigFile, parseMeshConfig } from './index';

const deployDir = join(__dirname, '../../../deploy/mesh');

const config = parseMeshConfig(`
apiVersion: meshcart.io/v1alpha1
kind: MeshConfig
metadata: { name: test }
spec:
  defaults:
    policy:
      connectionPool: { maxRequestsPerConnection: 1 }
      timeoutMs: 2000
  services:
    payment-service:
      policy:
        loadBalancer: { policy: LEAST_REQUEST }
        connectionPool: { maxConnections: 8 }
    order-service:
      routes:
        - name: place-order
          match: { pathExact: /orders, methods: [POST] }
          timeoutMs: 9000
  edge:
    routes:
      - name: orders
        match: { pathPrefix: /api/orders }
        service: order-service
        rewritePrefix: /orders
`);

describe('compileProxyResources', () => {
  it('merges built-in, mesh-wide and per-service policy, most specific last', () => {
    const { resources } = compileProxyResources(config, 'order-service');
    const payment = resources.clusters.find((c) => c.name === 'payment-service')!;
    expect(payment.lbPolicy).toBe('LEAST_REQUEST');
    expect(payment.connectionPool).toMatchObject({ maxConnections: 8, maxRequestsPerConnection: 1, connectTimeoutMs: 1000 });
    expect(resources.clusters.find((c) => c.name === 'order-service')!.lbPolicy).toBe('ROUND_ROBIN');
  });

  it('ends every virtual host with a default route carrying the service timeout', () => {
    const { resources } = compileProxyResources(config, 'order-service');
    const order = resources.virtualHosts.find((v) => v.name === 'order-service')!;
    expect(order.routes.map((r) => [r.name, r.timeoutMs])).toEqual([
      ['place-order', 9000],
      ['default', 2000],
    ]);
    expect(resources.edgeRoutes[0]).toMatchObject({ cluster: 'order-service', rewritePrefix: '/orders' });
  });

  it('gives the same content the same version, and different content another', () => {
    const a = compileProxyResources(config, 'order-service');
    const b = compileProxyResources(structuredClone(config), 'order-service');
    const other = compileProxyResources(config, 'payment-service');
    expect(a.version).toBe(b.version);
    expect(a.version).not.toBe(other.version);
  });

  it('versions endpoints by content regardless of order', () => {
    const e1 = { instance: 'a', url: 'http://127.0.0.1:1', weight: 1, labels: {} };
    const e2 = { instance: 'b', url: 'http://127.0.0.1:2', weight: 1, labels: {} };
    expect(endpointsSnapshot({ s: [e1, e2] }).version).toBe(endpointsSnapshot({ s: [e2, e1] }).version);
    expect(endpointsSnapshot({ s: [e1] }).version).not.toBe(endpointsSnapshot({ s: [e1, e2] }).version);
  });

  it("resolves the seed's breaker keys, retries and faults into proxy resources", () => {
    const withPolicies = structuredClone(config);
    withPolicies.spec.services['payment-service']!.policy!.circuitBreaker = {
      maxConnections: 100,
      httpMaxPendingRequests: 10,
      httpMaxRequests: 50,
      sleepWindow: '30s',
      requestVolumeThreshold: 10,
      errorThresholdPercentage: 50,
    };
    withPolicies.spec.services['payment-service']!.policy!.retries = { attempts: 2, retryOn: ['5xx', 409] };
    withPolicies.spec.services['payment-service']!.fault = { abort: { httpStatus: 503, percent: 10 } };
    const { resources } = compileProxyResources(withPolicies, 'order-service');
    const cluster = resources.clusters.find((c) => c.name === 'payment-service')!;
    expect(cluster.connectionPool.maxConnections).toBe(100);
    expect(cluster.circuitBreaker).toMatchObject({
      maxPendingRequests: 10,
      maxRequests: 50,
      sleepWindowMs: 30_000,
      requestVolumeThreshold: 10,
      errorThresholdPercentage: 50,
    });
    const route = resources.virtualHosts.find((v) => v.name === 'payment-service')!.routes[0]!;
    expect(route.retries).toEqual({ attempts: 2, retryOn: ['5xx', 409], backoff: { baseMs: 25, maxMs: 250 } });
    expect(route.fault).toEqual({ abort: { httpStatus: 503, percent: 10 } });
  });

  it('loads every shipped profile in deploy/mesh', () => {
    const files = readdirSync(deployDir).filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['baseline.yaml', 'optimized.yaml']));
    for (const f of files) expect(() => loadMeshConfigFile(join(deployDir, f))).not.toThrow();
  });

  it('keeps baseline and optimized on the same services and edge routes, differing in knobs', () => {
    const baseline = loadMeshConfigFile(join(deployDir, 'baseline.yaml'));
    const optimized = loadMeshConfigFile(join(deployDir, 'optimized.yaml'));
    expect(baseline.spec.services).toEqual(optimized.spec.services);
    expect(baseline.spec.edge).toEqual(optimized.spec.edge);
    expect(baseline.spec.defaults?.policy?.connectionPool?.maxRequestsPerConnection).toBe(1);
    expect(optimized.spec.defaults?.policy?.connectionPool?.maxRequestsPerConnection).toBe(0);
  });
});
