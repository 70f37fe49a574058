// Histograms out of parsed samples: the `_bucket`, `_sum` and `_count` series of one metric, summed by a key of their labels.
import { parsePrometheusFloat, type Labels, type Sample } from './parse-prometheus-text';

/** Cumulative bucket counts by upper bound (`+Inf` as Infinity), plus the sum and count of observations. */
export interface Histogram {
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

/**
 * The histogram `name` summed over every series `keyOf` maps to the same key (series it maps to
 * undefined are left out), added to `into` so that several proxies' scrapes can be merged.
 */
export function sumHistograms(
  samples: Iterable<Sample>,
  name: string,
  keyOf: (labels: Labels) => string | undefined,
  into: Map<string, Histogram> = new Map(),
): Map<string, Histogram> {
  for (const s of samples) {
    const part = s.name === `${name}_bucket` ? 'bucket' : s.name === `${name}_sum` ? 'sum' : s.name === `${name}_count` ? 'count' : undefined;
    if (!part) continue;
    const key = keyOf(s.labels);
    if (key === undefined) continue;
    let h = into.get(key);
    if (!h) into.set(key, (h = { buckets: new Map(), sum: 0, count: 0 }));
    if (part !== 'bucket') {
      h[part] += s.value;
      continue;
    }
    const le = parsePrometheusFloat(s.labels['le'] ?? '');
    if (le === undefined || Number.isNaN(le)) throw new Error(`${s.name}: a bucket without a numeric le label (${JSON.stringify(s.labels)})`);
    h.buckets.set(le, (h.buckets.get(le) ?? 0) + s.value);
  }
  return into;
}
