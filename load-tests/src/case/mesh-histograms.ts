// Inter-service latency as the mesh itself saw it: the client-side proxies' request-duration histograms, read before and after a run.
import { histogramQuantile, parsePrometheusText, sumHistograms, type Histogram, type Labels } from '@meshcart/prometheus-text';
import { request } from 'undici';

const METRIC = 'mesh_request_duration_seconds';

/** One edge's histogram: cumulative bucket counts by upper bound (seconds), plus sum and count. */
export type EdgeHistogram = Histogram;

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

/** The edge a caller-side series belongs to; undefined for the callee's side (`inbound`). */
function callerEdge(labels: Labels): string | undefined {
  if (labels['direction'] !== 'outbound' && labels['direction'] !== 'edge') return undefined;
  return `${labels['src_service']}→${labels['dst_service']}`;
}

/** Reads the caller-side request-duration histograms from Prometheus text, summed by edge. */
export function parseMeshHistograms(text: string, into: MeshSnapshot = new Map()): MeshSnapshot {
  return sumHistograms(parsePrometheusText(text), METRIC, callerEdge, into);
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

/** The q-quantile of an edge's histogram, by the rule Prometheus's histogram_quantile uses, so these figures match a dashboard's. */
export function quantile(h: EdgeHistogram, q: number): number {
  return histogramQuantile(q, h.buckets);
}

export function figures(h: EdgeHistogram): LatencyFigures {
  const ms = (s: number) => Math.round(s * 1e6) / 1e3;
  return { meanMs: ms(h.sum / h.count), p50Ms: ms(quantile(h, 0.5)), p90Ms: ms(quantile(h, 0.9)), p99Ms: ms(quantile(h, 0.99)), count: h.count };
}
