import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from './parse-prometheus-text';
import { sumHistograms } from './sum-histograms';

const SCRAPE = `# HELP d_seconds request duration
# TYPE d_seconds histogram
d_seconds_bucket{dir="out",dst="pay",code="200",le="0.001"} 1
d_seconds_bucket{dir="out",dst="pay",code="200",le="+Inf"} 2
d_seconds_sum{dir="out",dst="pay",code="200"} 0.5
d_seconds_count{dir="out",dst="pay",code="200"} 2
d_seconds_bucket{dir="out",dst="pay",code="500",le="0.001"} 3
d_seconds_bucket{dir="out",dst="pay",code="500",le="+Inf"} 3
d_seconds_sum{dir="out",dst="pay",code="500"} 0.002
d_seconds_count{dir="out",dst="pay",code="500"} 3
d_seconds_bucket{dir="in",dst="pay",code="200",le="0.001"} 100
d_seconds_bucket{dir="in",dst="pay",code="200",le="+Inf"} 100
d_seconds_sum{dir="in",dst="pay",code="200"} 0.01
d_seconds_count{dir="in",dst="pay",code="200"} 100
d_seconds_other{dir="out",dst="pay"} 7
`;

describe('sumHistograms', () => {
  it('sums buckets, sum and count over the series that share a key, and leaves out those without one', () => {
    const byDst = sumHistograms(parsePrometheusText(SCRAPE), 'd_seconds', (l) => (l['dir'] === 'out' ? l['dst'] : undefined));
    expect([...byDst.keys()]).toEqual(['pay']);
    expect(byDst.get('pay')).toEqual({
      buckets: new Map([
        [0.001, 4],
        [Infinity, 5],
      ]),
      sum: 0.502,
      count: 5,
    });
  });

  it('adds into an existing map, so several proxies merge', () => {
    const key = (l: Record<string, string>) => `${l['dir']}→${l['dst']}`;
    const merged = sumHistograms(parsePrometheusText(SCRAPE), 'd_seconds', key, sumHistograms(parsePrometheusText(SCRAPE), 'd_seconds', key));
    expect(merged.get('in→pay')).toEqual({
      buckets: new Map([
        [0.001, 200],
        [Infinity, 200],
      ]),
      sum: 0.02,
      count: 200,
    });
  });

  it('refuses a bucket without a numeric le label', () => {
    expect(() => sumHistograms(parsePrometheusText('d_seconds_bucket{dst="pay"} 1'), 'd_seconds', () => 'k')).toThrow(/without a numeric le/);
    expect(() => sumHistograms(parsePrometheusText('d_seconds_bucket{le="NaN"} 1'), 'd_seconds', () => 'k')).toThrow(/without a numeric le/);
  });
});
