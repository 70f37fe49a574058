// The dashboard's graph from two scrapes of each proxy: requests per second, success rate and p50/p99 per node and per edge.
import type { GoldenStats, Health, TopologyEdge, TopologyNode } from '@meshcart/control-plane-api';
import { histogramQuantile, parsePrometheusFloat, type Labels, type Sample } from '@meshcart/prometheus-text';

/** One proxy's metrics as read at `at` (ms since the epoch). */
export interface Scrape {
  at: number;
  samples: Sample[];
}

/** A proxy and its last two scrapes: rates need both. */
export interface ProxyScrapes {
  service: string;
  instance: string;
  mode: string;
  labels: Record<string, string>;
  before: Scrape | undefined;
  after: Scrape | undefined;
}

interface Tally {
  /** Requests per second, summed over proxies (each over its own window). */
  rps: number;
  requests: number;
  ok: number;
  /** Cumulative bucket counts of the window, by upper bound. */
  buckets: Map<number, number>;
}

const REQUESTS = 'mesh_requests_total';
const BUCKETS = 'mesh_request_duration_seconds_bucket';

/** A series' identity within one scrape: its name and labels. */
const seriesKey = (s: Sample) => `${s.name}${JSON.stringify(s.labels)}`;

/** What each series grew by between two scrapes; a counter that went down was reset (a restart), so all of it is new. */
function deltas(before: Scrape, after: Scrape): { sample: Sample; delta: number }[] {
  const old = new Map<string, number>();
  for (const s of before.samples) if (s.name === REQUESTS || s.name === BUCKETS) old.set(seriesKey(s), s.value);
  const out: { sample: Sample; delta: number }[] = [];
  for (const s of after.samples) {
    if (s.name !== REQUESTS && s.name !== BUCKETS) continue;
    const prev = old.get(seriesKey(s)) ?? 0;
    // Zeros kept: a quantile needs every bucket bound, and an edge that went quiet stays on the graph (idle).
    out.push({ sample: s, delta: s.value >= prev ? s.value - prev : s.value });
  }
  return out;
}

/** The graph's ids a series counts toward: its destination service and instance (inbound), the gateway and an edge (caller side). */
function keysOf(labels: Labels, proxy: ProxyScrapes): string[] {
  const src = labels['src_service'] ?? '';
  const dst = labels['dst_service'] ?? '';
  switch (labels['direction']) {
    case 'inbound':
      return [`service:${dst}`, `instance:${proxy.instance}`];
    case 'edge':
      return dst ? ['gateway', `edge:gateway>${dst}`] : ['gateway'];
    case 'outbound':
      return dst && src ? [`edge:${src}>${dst}`] : [];
    default:
      return [];
  }
}

function tallies(proxies: ProxyScrapes[]): Map<string, Tally> {
  const by = new Map<string, Tally>();
  const get = (key: string) => by.get(key) ?? (by.set(key, { rps: 0, requests: 0, ok: 0, buckets: new Map() }), by.get(key)!);
  for (const p of proxies) {
    if (!p.before || !p.after || p.after.at <= p.before.at) continue;
    const seconds = (p.after.at - p.before.at) / 1000;
    for (const { sample, delta } of deltas(p.before, p.after)) {
      for (const key of keysOf(sample.labels, p)) {
        const t = get(key);
        if (sample.name === REQUESTS) {
          t.requests += delta;
          t.rps += delta / seconds;
          if (Number(sample.labels['status_code']) < 500) t.ok += delta;
        } else {
          const le = parsePrometheusFloat(sample.labels['le'] ?? '');
          if (le !== undefined && !Number.isNaN(le)) t.buckets.set(le, (t.buckets.get(le) ?? 0) + delta);
        }
      }
    }
  }
  return by;
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

export function statsOf(t: Tally | undefined): GoldenStats {
  if (!t || t.requests === 0) return { rps: 0, successRate: null, p50Ms: null, p99Ms: null };
  const ms = (q: number) => {
    const v = histogramQuantile(q, t.buckets);
    return Number.isNaN(v) ? null : round(v * 1000, 3);
  };
  return { rps: round(t.rps, 2), successRate: round(t.ok / t.requests, 4), p50Ms: ms(0.5), p99Ms: ms(0.99) };
}

export function healthOf(stats: GoldenStats): Health {
  if (stats.successRate === null) return 'idle';
  if (stats.successRate >= 0.99) return 'healthy';
  return stats.successRate >= 0.9 ? 'degraded' : 'failing';
}

/**
 * The graph: the gateway, every service and instance that registered (idle ones too), and an edge
 * for each caller → destination pair its proxies have counted (idle if it carried nothing in the window).
 */
export function topology(proxies: ProxyScrapes[]): { nodes: TopologyNode[]; edges: TopologyEdge[] } {
  const t = tallies(proxies);
  const node = (n: Omit<TopologyNode, 'stats' | 'health'>): TopologyNode => {
    const stats = statsOf(t.get(n.id));
    return { ...n, stats, health: healthOf(stats) };
  };
  const nodes: TopologyNode[] = [];
  if (proxies.some((p) => p.mode === 'edge')) nodes.push(node({ id: 'gateway', kind: 'gateway', service: 'gateway' }));
  const meshProxies = proxies.filter((p) => p.mode !== 'edge').sort((a, b) => a.instance.localeCompare(b.instance));
  for (const service of [...new Set(meshProxies.map((p) => p.service))].sort()) {
    nodes.push(node({ id: `service:${service}`, kind: 'service', service }));
    for (const p of meshProxies.filter((x) => x.service === service))
      nodes.push(
        node({
          id: `instance:${p.instance}`,
          kind: 'instance',
          service,
          instance: p.instance,
          ...(p.labels['version'] ? { version: p.labels['version'] } : {}),
        }),
      );
  }
  const ids = new Set(nodes.map((n) => n.id));
  const endpoint = (name: string) => (name === 'gateway' ? 'gateway' : `service:${name}`);
  const edges: TopologyEdge[] = [];
  for (const key of [...t.keys()].filter((k) => k.startsWith('edge:')).sort()) {
    const [src, dst] = key.slice('edge:'.length).split('>') as [string, string];
    // A caller or destination no proxy registered for (an unknown Host) still shows up, as a service node.
    for (const name of [src, dst]) {
      if (ids.has(endpoint(name))) continue;
      nodes.push(node({ id: endpoint(name), kind: 'service', service: name }));
      ids.add(endpoint(name));
    }
    const stats = statsOf(t.get(key));
    edges.push({ id: key, source: endpoint(src), target: endpoint(dst), stats, health: healthOf(stats) });
  }
  return { nodes, edges };
}
