// PromQL's histogram_quantile over cumulative bucket counts, so figures read from /metrics match a dashboard's.

/**
 * The q-quantile of a histogram given as `[upper bound, cumulative count]` pairs (a `Map` of them
 * will do; bounds given twice are summed), interpolated linearly inside the bucket the rank falls in.
 * Follows Prometheus's rules: NaN without a `+Inf` bucket, with fewer than two buckets or with no
 * observations; the highest finite bound when the rank falls in the `+Inf` bucket, since nothing
 * more is known there; -Inf for q < 0 and +Inf for q > 1.
 */
export function histogramQuantile(q: number, buckets: Iterable<readonly [number, number]>): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const byBound = new Map<number, number>();
  for (const [le, count] of buckets) byBound.set(le, (byBound.get(le) ?? 0) + count);
  const sorted = [...byBound].sort((a, b) => a[0] - b[0]);
  if (sorted.length < 2 || sorted[sorted.length - 1]![0] !== Infinity) return NaN;
  // Counts of two scrapes' difference, or of series scraped at slightly different moments, can dip;
  // a cumulative count never falls, so a dip is raised to the count before it, as Prometheus does.
  for (let i = 1; i < sorted.length; i++) if (sorted[i]![1] < sorted[i - 1]![1]) sorted[i]![1] = sorted[i - 1]![1];
  const observations = sorted[sorted.length - 1]![1];
  if (observations === 0) return NaN;
  let rank = q * observations;
  let b = sorted.findIndex(([, count], i) => i < sorted.length - 1 && count >= rank);
  if (b === -1) b = sorted.length - 1;
  if (b === sorted.length - 1) return sorted[sorted.length - 2]![0];
  const [end, endCount] = sorted[b]!;
  if (b === 0 && end <= 0) return end;
  const [start, below] = b === 0 ? [0, 0] : sorted[b - 1]!;
  rank -= below;
  return start + (end - start) * (rank / (endCount - below));
}
