import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DURATION_BUCKETS } from '@meshcart/sidecar';
import { delta, figures, merge, parseMeshHistograms, quantile } from '../src/case/mesh-histograms';

function proxyMetrics() {
  const registry = new Registry();
  const h = new Histogram({
    name: 'mesh_request_duration_seconds',
    help: 'h',
    labelNames: ['direction', 'src_service', 'dst_service', 'status_code', 'route'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  return { registry, h };
}

describe('reading inter-service latency from the proxies', () => {
  it('sums outbound histograms by edge across proxies and ignores inbound ones', async () => {
    const a = proxyMetrics();
    const b = proxyMetrics();
    for (let i = 0; i < 100; i++)
      a.h.observe(
        { direction: 'outbound', src_service: 'order-service', dst_service: 'payment-service', status_code: '201', route: 'default' },
        0.001,
      );
    for (let i = 0; i < 100; i++)
      b.h.observe(
        { direction: 'outbound', src_service: 'order-service', dst_service: 'payment-service', status_code: '500', route: 'default' },
        0.003,
      );
    b.h.observe({ direction: 'inbound', src_service: 'order-service', dst_service: 'payment-service', status_code: '201', route: 'default' }, 5);
    const snap = parseMeshHistograms(await b.registry.metrics(), parseMeshHistograms(await a.registry.metrics()));
    expect([...snap.keys()]).toEqual(['order-service→payment-service']);
    const f = figures(snap.get('order-service→payment-service')!);
    expect(f.count).toBe(200);
    expect(f.meanMs).toBeCloseTo(2, 6);
  });

  it('interpolates quantiles inside a bucket as Prometheus does', () => {
    // 100 samples: 50 in (0, 1 ms], 50 in (1 ms, 2 ms].
    const h = {
      buckets: new Map([
        [0.001, 50],
        [0.002, 100],
        [Infinity, 100],
      ]),
      sum: 0.15,
      count: 100,
    };
    expect(quantile(h, 0.5)).toBeCloseTo(0.001, 9);
    expect(quantile(h, 0.25)).toBeCloseTo(0.0005, 9);
    expect(quantile(h, 0.9)).toBeCloseTo(0.0018, 9);
    // Past the last finite bound only the bound is known.
    expect(
      quantile(
        {
          buckets: new Map([
            [0.001, 0],
            [Infinity, 10],
          ]),
          sum: 1,
          count: 10,
        },
        0.99,
      ),
    ).toBe(0.001);
  });

  it('keeps p50/p99 of a known spread within the buckets of a mesh hop', async () => {
    const m = proxyMetrics();
    // 1000 calls spread evenly from 100 µs to 5 ms.
    for (let i = 0; i < 1000; i++)
      m.h.observe(
        { direction: 'outbound', src_service: 'gateway', dst_service: 'product-service', status_code: '200', route: 'x' },
        0.0001 + (0.0049 * i) / 999,
      );
    const f = figures(parseMeshHistograms(await m.registry.metrics()).get('gateway→product-service')!);
    expect(f.p50Ms).toBeGreaterThan(2.45 * 0.95);
    expect(f.p50Ms).toBeLessThan(2.55 * 1.05);
    expect(f.p99Ms).toBeGreaterThan(4.85 * 0.95);
    expect(f.p99Ms).toBeLessThan(4.95 * 1.05);
  });

  it('takes the difference of two scrapes as the run between them', async () => {
    const m = proxyMetrics();
    const labels = { direction: 'outbound', src_service: 'gateway', dst_service: 'order-service', status_code: '200', route: 'x' };
    for (let i = 0; i < 10; i++) m.h.observe(labels, 0.01);
    const before = parseMeshHistograms(await m.registry.metrics());
    for (let i = 0; i < 30; i++) m.h.observe(labels, 0.0002);
    const run = delta(before, parseMeshHistograms(await m.registry.metrics())).get('gateway→order-service')!;
    expect(run.count).toBe(30);
    expect(figures(run).meanMs).toBeCloseTo(0.2, 6);
    expect(figures(merge([run, run])).count).toBe(60);
  });
});
