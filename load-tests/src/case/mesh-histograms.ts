// Inter-service latency as the mesh itself saw it: the client-side proxies' request-duration histograms, read before and after a run.
import { request } from 'undici';

const METRIC = 'mesh_request_duration_seconds';

/** One edge's histogram: cumulative bucket counts by upper bound (seconds), plus sum and count. */
export interface EdgeHistogram {
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

/**
 * Histograms by edge "src→dst", from the caller's side only (`outbound` at sidecars and in-process
 * meshes, `edge` at the gateway): each call is timed once, by the proxy that makes it.
 */
export type MeshSnapshot = Map<string, EdgeHistogram>;

export interface LatencyFigures {
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  count: number;
}

function labelsOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/** Reads the caller-side request-duration histograms from Prometheus text, summed by edge. */
export function parseMeshHistograms(text: string, into: MeshSnapshot = new Map()): MeshSnapshot {
  for (const line of text.split('\n')) {
    if (!line.startsWith(METRIC)) continue;
    const open = line.indexOf('{');
    const close = line.lastIndexOf('}');
    if (open < 0 || close < 0) continue;
    const suffix = line.slice(METRIC.length, open);
    const labels = labelsOf(line.slice(open + 1, close));
    if (labels['direction'] !== 'outbound' && labels['direction'] !== 'edge') continue;
    const value = Number(line.slice(close + 1).trim().split(' ')[0]);
    const edge = `${labels['src_service']}→${labels['dst_service']}`;
    const h = into.get(edge) ?? { buckets: new Map<number, number>(), sum: 0, count: 0 };
    into.set(edge, h);
    if (suffix === '_bucket') {
      const le = labels['le'] === '+Inf' ? Infinity : Number(labels['le']);
      h.buckets.set(le, (h.buckets.get(le) ?? 0) + value);
    } else if (suffix === '_sum') h.sum += value;
    else if (suffix === '_count') h.count += value;
  }
  return into;
}

/** Scrapes every proxy's /metrics and merges their outbound histograms by edge. */
export async function scrapeMesh(adminUrls: string[]): Promise<MeshSnapshot> {
  const snapshot: MeshSnapshot = new Map();
  for (const url of adminUrls) {
    const res = await request(`${url}/metrics`);
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${url}/metrics answered ${res.statusCode}`);
    parseMeshHistograms(text, snapshot);
  }
  return snapshot;
}

/** What happened between two snapshots (counters only grow, so after − before is the run). */
export function delta(before: MeshSnapshot, after: MeshSnapshot): MeshSnapshot {
  const out: MeshSnapshot = new Map();
  for (const [edge, a] of after) {
    const b = before.get(edge);
    const buckets = new Map<number, number>();
    for (const [le, n] of a.buckets) buckets.set(le, n - (b?.buckets.get(le) ?? 0));
    const count = a.count - (b?.count ?? 0);
    if (count > 0) out.set(edge, { buckets, sum: a.sum - (b?.sum ?? 0), count });
  }
  return out;
}

export function merge(histograms: EdgeHistogram[]): EdgeHistogram {
  const out: EdgeHistogram = { buckets: new Map(), sum: 0, count: 0 };
  for (const h of histograms) {
    for (const [le, n] of h.buckets) out.buckets.set(le, (out.buckets.get(le) ?? 0) + n);
    out.sum += h.sum;
    out.count += h.count;
  }
  return out;
}

/**
 * The q-quantile of a cumulative histogram, interpolated linearly inside its bucket — the rule
 * Prometheus's histogram_quantile uses, so these figures match what a dashboard would show.
 */
export function quantile(h: EdgeHistogram, q: number): number {
  const bounds = [...h.buckets.keys()].sort((x, y) => x - y);
  const total = h.buckets.get(Infinity) ?? h.count;
  if (total === 0) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const le of bounds) {
    const cum = h.buckets.get(le)!;
    if (cum >= rank) {
      // Past the last finite bound nothing is known but "more than lower": report lower, as Prometheus does.
      if (le === Infinity) return lower;
      const inBucket = cum - below;
      return inBucket === 0 ? le : lower + ((le - lower) * (rank - below)) / inBucket;
    }
    lower = le;
    below = cum;
  }
  return lower;
}

export function figures(h: EdgeHistogram): LatencyFigures {
  const ms = (s: number) => Math.round(s * 1e6) / 1e3;
  return { meanMs: ms(h.sum / h.count), p50Ms: ms(quantile(h, 0.5)), p90Ms: ms(quantile(h, 0.9)), p99Ms: ms(quantile(h, 0.99)), count: h.count };
}
