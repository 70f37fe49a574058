import { Histogram as PromHistogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { histogramQuantile } from './histogram-quantile';
import { parsePrometheusText } from './parse-prometheus-text';
import { sumHistograms } from './sum-histograms';

// 100 observations: 50 in (0, 1 ms], 50 in (1 ms, 2 ms].
const EVEN = new Map([
  [0.001, 50],
  [0.002, 100],
  [Infinity, 100],
]);

describe('histogramQuantile', () => {
  it('interpolates linearly inside the bucket the rank falls in', () => {
    expect(histogramQuantile(0.5, EVEN)).toBeCloseTo(0.001, 12);
    expect(histogramQuantile(0.25, EVEN)).toBeCloseTo(0.0005, 12);
    expect(histogramQuantile(0.9, EVEN)).toBeCloseTo(0.0018, 12);
    expect(histogramQuantile(1, EVEN)).toBeCloseTo(0.002, 12);
  });

  it('answers the highest finite bound when the rank falls in the +Inf bucket', () => {
    expect(
      histogramQuantile(
        0.99,
        new Map([
          [0.001, 0],
          [Infinity, 10],
        ]),
      ),
    ).toBe(0.001);
    expect(
      histogramQuantile(
        0.99,
        new Map([
          [0.001, 5],
          [0.01, 9],
          [Infinity, 10],
        ]),
      ),
    ).toBe(0.01);
  });

  it('is NaN for an empty histogram, one without a +Inf bucket or with a single bucket', () => {
    expect(
      histogramQuantile(
        0.5,
        new Map([
          [0.001, 0],
          [Infinity, 0],
        ]),
      ),
    ).toBeNaN();
    expect(histogramQuantile(0.5, new Map())).toBeNaN();
    expect(
      histogramQuantile(
        0.5,
        new Map([
          [0.001, 5],
          [0.002, 10],
        ]),
      ),
    ).toBeNaN();
    expect(histogramQuantile(0.5, new Map([[Infinity, 10]]))).toBeNaN();
    expect(histogramQuantile(NaN, EVEN)).toBeNaN();
  });

  it('answers -Inf and +Inf for quantiles outside [0, 1]', () => {
    expect(histogramQuantile(-0.1, EVEN)).toBe(-Infinity);
    expect(histogramQuantile(1.1, EVEN)).toBe(Infinity);
  });

  it('sorts the bounds, sums a bound given twice and raises a count that dips below the one before', () => {
    const pairs: [number, number][] = [
      [Infinity, 100],
      [0.002, 60],
      [0.001, 25],
      [0.002, 40],
      [0.001, 25],
    ];
    expect(histogramQuantile(0.5, pairs)).toBeCloseTo(0.001, 12);
    // The 0.002 bucket dips to 40 (a scrape taken mid-update): read as 50, the p75 is halfway into (2 ms, 3 ms].
    expect(
      histogramQuantile(
        0.75,
        new Map([
          [0.001, 50],
          [0.002, 40],
          [0.003, 100],
          [Infinity, 100],
        ]),
      ),
    ).toBeCloseTo(0.0025, 12);
  });

  it('answers a bound at or below zero as it is when the rank falls in the first bucket', () => {
    expect(
      histogramQuantile(
        0.1,
        new Map([
          [-1, 10],
          [0, 20],
          [Infinity, 20],
        ]),
      ),
    ).toBe(-1);
  });

  it("keeps quantiles of prom-client's histogram of an even spread within a few percent", async () => {
    const registry = new Registry();
    const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01];
    const h = new PromHistogram({ name: 'hop_seconds', help: 'h', labelNames: ['edge'], buckets, registers: [registry] });
    for (let i = 0; i < 1000; i++) h.observe({ edge: 'a→b' }, 0.0001 + (0.0049 * i) / 999);
    const hist = sumHistograms(parsePrometheusText(await registry.metrics()), 'hop_seconds', (l) => l['edge']).get('a→b')!;
    expect(hist.count).toBe(1000);
    expect(histogramQuantile(0.5, hist.buckets)).toBeGreaterThan(0.00245 * 0.95);
    expect(histogramQuantile(0.5, hist.buckets)).toBeLessThan(0.00255 * 1.05);
    expect(histogramQuantile(0.99, hist.buckets)).toBeGreaterThan(0.00485 * 0.95);
    expect(histogramQuantile(0.99, hist.buckets)).toBeLessThan(0.00495 * 1.05);
  });
});
