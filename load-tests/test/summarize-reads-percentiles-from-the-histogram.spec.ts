// summarize() reports the percentiles of a histogram within hdr-histogram's precision, and zeros when empty.
import { describe, expect, it } from 'vitest';
import { newLatencyHistogram, summarize } from '../src/lib/index';

describe('summarize', () => {
  it('reads p50/p90/p99/p99.9/max/mean of 1..1000 µs', () => {
    const h = newLatencyHistogram();
    for (let us = 1; us <= 1000; us++) h.recordValue(us);
    const s = summarize(h, 7);
    expect(s.count).toBe(1000);
    expect(s.errors).toBe(7);
    // Three significant digits: values below 2048 are held exactly.
    expect(s.p50Us).toBe(500);
    expect(s.p90Us).toBe(900);
    expect(s.p99Us).toBe(990);
    expect(s.p999Us).toBe(999);
    expect(s.maxUs).toBe(1000);
    expect(s.meanUs).toBeCloseTo(500.5, 0);
  });

  it('keeps three significant digits for large values', () => {
    const h = newLatencyHistogram();
    for (let k = 1; k <= 100; k++) h.recordValue(k * 10_000); // 10 ms .. 1 s
    const s = summarize(h, 0);
    expect(Math.abs(s.p50Us - 500_000) / 500_000).toBeLessThan(0.001);
    expect(Math.abs(s.p99Us - 990_000) / 990_000).toBeLessThan(0.001);
  });

  it('reports zeros for a run with no successful responses', () => {
    expect(summarize(newLatencyHistogram(), 3)).toEqual({ count: 0, errors: 3, meanUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, maxUs: 0 });
  });
});
