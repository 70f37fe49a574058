// The dashboard's figures from real /metrics text (prom-client, the sidecar's metric names, labels and buckets), scraped twice.
import { DURATION_BUCKETS } from '@meshcart/sidecar';
import { parsePrometheusText } from '@meshcart/prometheus-text';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { topology, type ProxyScrapes } from './golden-stats';

const LABELS = ['direction', 'src_service', 'dst_service', 'status_code', 'route'] as const;

/** One proxy's metrics registry, as MeshMetrics lays it out. */
function proxyMetrics(service: string, instance: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ proxy_service: service, proxy_instance: instance });
  const requests = new Counter({ name: 'mesh_requests_total', help: 'r', labelNames: LABELS, registers: [registry] });
  const duration = new Histogram({
    name: 'mesh_request_duration_seconds',
    help: 'd',
    labelNames: LABELS,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  return {
    record(direction: string, src: string, dst: string, status: number, seconds: number, n = 1) {
      const labels = { direction, src_service: src, dst_service: dst, status_code: String(status), route: 'default' };
      for (let i = 0; i < n; i++) {
        requests.inc(labels);
        duration.observe(labels, seconds);
      }
    },
    scrape: async (at: number) => ({ at, samples: parsePrometheusText(await registry.metrics()) }),
  };
}

const proxy = (service: string, instance: string, mode = 'sidecar', labels: Record<string, string> = {}) => ({
  service,
  instance,
  mode,
  labels,
  metrics: proxyMetrics(service, instance),
});

async function twoScrapes(proxies: ReturnType<typeof proxy>[], between: () => void, windowMs = 2_000): Promise<ProxyScrapes[]> {
  const before = await Promise.all(proxies.map((p) => p.metrics.scrape(1_000)));
  between();
  const after = await Promise.all(proxies.map((p) => p.metrics.scrape(1_000 + windowMs)));
  return proxies.map((p, i) => ({ service: p.service, instance: p.instance, mode: p.mode, labels: p.labels, before: before[i], after: after[i] }));
}

describe('golden metrics from two scrapes', () => {
  it('gives each edge and node its rate, success rate and p50/p99 over the window, from the counters and buckets that grew', async () => {
    const gateway = proxy('gateway', 'gateway-1', 'edge');
    const order = proxy('order-service', 'order-service-1');
    const payment = proxy('payment-service', 'payment-service-1', 'sidecar', { version: 'v1' });
    // Traffic before the first scrape does not count.
    order.metrics.record('outbound', 'order-service', 'payment-service', 200, 0.002, 50);
    const scrapes = await twoScrapes([gateway, order, payment], () => {
      gateway.metrics.record('edge', 'gateway', 'order-service', 200, 0.004, 20);
      order.metrics.record('inbound', 'gateway', 'order-service', 200, 0.003, 20);
      order.metrics.record('outbound', 'order-service', 'payment-service', 200, 0.0018, 18);
      order.metrics.record('outbound', 'order-service', 'payment-service', 503, 0.0035, 2);
      payment.metrics.record('inbound', 'order-service', 'payment-service', 200, 0.001, 18);
      payment.metrics.record('inbound', 'order-service', 'payment-service', 503, 0.001, 2);
    });
    const { nodes, edges } = topology(scrapes);

    const edge = edges.find((e) => e.id === 'edge:order-service>payment-service')!;
    expect(edge).toMatchObject({ source: 'service:order-service', target: 'service:payment-service', health: 'degraded' });
    expect(edge.stats.rps).toBe(10); // 20 requests in 2 s
    expect(edge.stats.successRate).toBe(0.9);
    // 18 of 20 in (1.5, 2] ms, 2 in (3, 4] ms: the median inside the first bucket, p99 inside the second.
    expect(edge.stats.p50Ms).toBeGreaterThan(1.5);
    expect(edge.stats.p50Ms).toBeLessThanOrEqual(2);
    expect(edge.stats.p99Ms).toBeGreaterThan(3);
    expect(edge.stats.p99Ms).toBeLessThanOrEqual(4);

    expect(edges.find((e) => e.id === 'edge:gateway>order-service')).toMatchObject({
      source: 'gateway',
      health: 'healthy',
      stats: { rps: 10, successRate: 1 },
    });
    expect(nodes.find((n) => n.id === 'gateway')).toMatchObject({ kind: 'gateway', stats: { rps: 10 } });
    expect(nodes.find((n) => n.id === 'service:payment-service')).toMatchObject({ kind: 'service', stats: { rps: 10, successRate: 0.9 } });
    expect(nodes.find((n) => n.id === 'instance:payment-service-1')).toMatchObject({ kind: 'instance', version: 'v1', stats: { rps: 10 } });
    expect(nodes.map((n) => n.id)).toEqual([
      'gateway',
      'service:order-service',
      'instance:order-service-1',
      'service:payment-service',
      'instance:payment-service-1',
    ]);
  });

  it('sums a service over its instances, each over its own window', async () => {
    const a = proxy('product-service', 'product-service-1');
    const b = proxy('product-service', 'product-service-2');
    const scrapes = await twoScrapes([a, b], () => {
      a.metrics.record('inbound', 'gateway', 'product-service', 200, 0.001, 10);
      b.metrics.record('inbound', 'gateway', 'product-service', 500, 0.001, 30);
    });
    scrapes[1]!.after!.at = scrapes[1]!.before!.at + 3_000;
    const { nodes } = topology(scrapes);
    expect(nodes.find((n) => n.id === 'service:product-service')!.stats).toMatchObject({ rps: 15, successRate: 0.25 });
    expect(nodes.find((n) => n.id === 'service:product-service')!.health).toBe('failing');
    expect(nodes.find((n) => n.id === 'instance:product-service-2')!.stats.rps).toBe(10);
  });

  it('counts a proxy that restarted (counters went down) from zero, and shows a proxy scraped once as idle', async () => {
    const restarted = proxy('user-service', 'user-service-1');
    restarted.metrics.record('inbound', 'gateway', 'user-service', 200, 0.001, 100);
    const before = await restarted.metrics.scrape(0);
    const fresh = proxy('user-service', 'user-service-1');
    fresh.metrics.record('inbound', 'gateway', 'user-service', 200, 0.001, 4);
    const after = await fresh.metrics.scrape(2_000);
    const once = { service: 'order-service', instance: 'order-service-1', mode: 'sidecar', labels: {}, before: undefined, after };
    const { nodes, edges } = topology([{ service: 'user-service', instance: 'user-service-1', mode: 'sidecar', labels: {}, before, after }, once]);
    expect(nodes.find((n) => n.id === 'service:user-service')!.stats.rps).toBe(2);
    expect(nodes.find((n) => n.id === 'service:order-service')).toMatchObject({
      health: 'idle',
      stats: { rps: 0, successRate: null, p50Ms: null, p99Ms: null },
    });
    expect(edges).toEqual([]);
  });
});
