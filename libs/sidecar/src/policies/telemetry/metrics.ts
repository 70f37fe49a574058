// Golden metrics of the data plane in Prometheus form; the only module that knows prom-client.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MeshEvents } from '../../core/mesh-events';
import type { RequestObserver, RequestRecord } from './telemetry-layer';

const LABELS = ['direction', 'src_service', 'dst_service', 'status_code', 'route'] as const;

/**
 * Fine buckets from 50 µs to 10 ms, where mesh hops on one machine live (the case's 5 ms → 2 ms is read
 * from these), then coarse ones up to 10 s. Quantiles interpolate inside a bucket, so the fine range
 * keeps p50/p90/p99 within a few percent; the mean (sum/count) is exact whatever the buckets.
 */
export const DURATION_BUCKETS = [
  0.00005, 0.0001, 0.00015, 0.0002, 0.0003, 0.0004, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005, 0.006, 0.0075, 0.01, 0.025,
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const SERIES_CACHE_LIMIT = 10_000;

interface Series {
  requests: Counter.Internal;
  duration: Histogram.Internal<(typeof LABELS)[number]>;
  /** Requests since the last scrape, not yet added to `requests` (see the counter's collect). */
  unscraped: number;
}

export class MeshMetrics implements RequestObserver {
  readonly registry = new Registry();
  private readonly requests: Counter<(typeof LABELS)[number]>;
  private readonly duration: Histogram<(typeof LABELS)[number]>;
  /**
   * The labelled children of one label set, kept: building and validating a labels object per
   * request is work prom-client then repeats (hashing it) for each of the two metrics.
   */
  private readonly series = new Map<string, Series>();

  constructor(labels: { service: string; instance: string }) {
    this.registry.setDefaultLabels({ proxy_service: labels.service, proxy_instance: labels.instance });
    this.requests = new Counter({
      name: 'mesh_requests_total',
      help: 'Requests handled by the proxy, by direction, source, destination and status code.',
      labelNames: LABELS,
      registers: [this.registry],
      // Counted per request in a plain number and added here when scraped: prom-client's inc() checks
      // and hashes the labels on every call, which per request was a visible share of a sidecar's CPU.
      collect: () => {
        for (const series of this.series.values()) this.scrape(series);
      },
    });
    this.duration = new Histogram({
      name: 'mesh_request_duration_seconds',
      help: 'Time from the request reaching the proxy to the last byte of its response.',
      labelNames: LABELS,
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * The last request's label values and series: consecutive requests mostly share all five, and
   * comparing them is cheaper than building and hashing the map key (which was, per request, the
   * largest cost of ours in this module).
   */
  private last: { record: RequestRecord; series: Series } | undefined;

  onRequestEnd(r: RequestRecord): void {
    const last = this.last;
    if (
      last &&
      last.record.statusCode === r.statusCode &&
      last.record.route === r.route &&
      last.record.dstService === r.dstService &&
      last.record.srcService === r.srcService &&
      last.record.direction === r.direction
    ) {
      last.series.unscraped++;
      last.series.duration.observe(r.durationSeconds);
      return;
    }
    const key = `${r.direction}\n${r.srcService}\n${r.dstService}\n${r.statusCode}\n${r.route}`;
    let series = this.series.get(key);
    if (!series) {
      const labels = {
        direction: r.direction,
        src_service: r.srcService,
        dst_service: r.dstService,
        status_code: String(r.statusCode),
        route: r.route,
      };
      series = { requests: this.requests.labels(labels), duration: this.duration.labels(labels), unscraped: 0 };
      // Label values come from config (services, routes) and status codes, so the set is small; the
      // limit only guards against a surprise, like the route table's cache.
      if (this.series.size >= SERIES_CACHE_LIMIT) {
        for (const old of this.series.values()) this.scrape(old);
        this.series.clear();
      }
      this.series.set(key, series);
    }
    this.last = { record: r, series };
    series.unscraped++;
    series.duration.observe(r.durationSeconds);
  }

  private scrape(series: Series): void {
    if (series.unscraped === 0) return;
    series.requests.inc(series.unscraped);
    series.unscraped = 0;
  }

  /** Policy metrics, counted from the data plane's events. */
  observe(events: MeshEvents): void {
    const registers = [this.registry];
    const connections = new Counter({
      name: 'mesh_tcp_connections_opened_total',
      help: 'Upstream TCP connections opened.',
      labelNames: ['dst_service'],
      registers,
    });
    const handshakes = new Counter({
      name: 'mesh_tls_handshakes_total',
      help: 'Upstream mTLS handshakes completed.',
      labelNames: ['dst_service'],
      registers,
    });
    const retries = new Counter({ name: 'mesh_retries_total', help: 'Retries sent.', labelNames: ['dst_service', 'route'], registers });
    const exhausted = new Counter({
      name: 'mesh_retry_budget_exhausted_total',
      help: 'Retries not sent because the retry budget was spent.',
      labelNames: ['dst_service', 'route'],
      registers,
    });
    const breaker = new Gauge({
      name: 'mesh_circuit_breaker_state',
      help: 'Error-rate breaker: 0 closed, 1 open, 2 half-open.',
      labelNames: ['dst_service'],
      registers,
    });
    const ejections = new Counter({
      name: 'mesh_outlier_ejections_total',
      help: 'Endpoints ejected by outlier detection.',
      labelNames: ['dst_service'],
      registers,
    });
    const overflows = new Counter({
      name: 'mesh_overflow_total',
      help: 'Requests refused by a circuit-breaker threshold.',
      labelNames: ['dst_service', 'limit'],
      registers,
    });
    // Sent twice per request: kept in a plain map and set on the gauge when scraped (as for the requests counter).
    const inflight = new Map<string, number>();
    new Gauge({
      name: 'mesh_pending_requests',
      help: 'Requests in flight to each destination.',
      labelNames: ['dst_service'],
      registers,
      collect() {
        for (const [cluster, n] of inflight) this.set({ dst_service: cluster }, n);
      },
    });
    events.on('connection-opened', (e) => connections.inc({ dst_service: e.cluster }));
    events.on('tls-handshake', (e) => handshakes.inc({ dst_service: e.cluster }));
    events.on('retry', (e) => retries.inc({ dst_service: e.cluster, route: e.route }));
    events.on('retry-budget-exhausted', (e) => exhausted.inc({ dst_service: e.cluster, route: e.route }));
    events.on('breaker-state', (e) => breaker.set({ dst_service: e.cluster }, e.state === 'closed' ? 0 : e.state === 'open' ? 1 : 2));
    events.on('ejection', (e) => ejections.inc({ dst_service: e.cluster }));
    events.on('overflow', (e) => overflows.inc({ dst_service: e.cluster, limit: e.limit }));
    events.on('pending', (e) => inflight.set(e.cluster, (inflight.get(e.cluster) ?? 0) + e.delta));
    const denied = new Counter({
      name: 'mesh_authz_denied_total',
      help: 'Inbound requests refused by authorization policy.',
      labelNames: ['src_service', 'dst_service'],
      registers,
    });
    events.on('authz-denied', (e) => denied.inc({ src_service: e.src, dst_service: e.dst }));
    const plaintextRefused = new Counter({
      name: 'mesh_plaintext_refused_total',
      help: 'Outbound requests not sent because mTLS is STRICT and the destination offered only endpoints without mTLS.',
      labelNames: ['dst_service'],
      registers,
    });
    events.on('plaintext-refused', (e) => plaintextRefused.inc({ dst_service: e.cluster }));
    const plaintextEndpoints = new Gauge({
      name: 'mesh_plaintext_endpoints',
      help: 'Endpoints left out of load balancing because mTLS is STRICT and they do not offer mTLS.',
      labelNames: ['dst_service'],
      registers,
    });
    events.on('plaintext-endpoints', (e) => plaintextEndpoints.set({ dst_service: e.cluster }, e.instances.length));
    const refused = new Counter({
      name: 'mesh_tls_handshake_failures_total',
      help: 'Inbound mTLS handshakes refused (bad, expired or foreign certificates).',
      labelNames: ['reason'],
      registers,
    });
    events.on('tls-handshake-failed', (e) => refused.inc({ reason: e.reason }));
    const rejected = new Counter({
      name: 'mesh_config_rejected_total',
      help: 'Pushed snapshots this proxy refused (NACK), by kind (resources or endpoints).',
      labelNames: ['kind'],
      registers,
    });
    events.on('config-rejected', (e) => rejected.inc({ kind: e.kind }));
    const expiry = new Gauge({
      name: 'mesh_workload_certificate_expiry_timestamp_seconds',
      help: "When this proxy's workload certificate expires (Unix time).",
      registers,
    });
    const issued = new Gauge({
      name: 'mesh_workload_certificate_issued_timestamp_seconds',
      help: "When this proxy's workload certificate came into use (Unix time); renewal is due at two thirds of its life.",
      registers,
    });
    events.on('certificate', (e) => {
      expiry.set(e.notAfter.getTime() / 1000);
      issued.set(e.issuedAt.getTime() / 1000);
    });
    // Both kinds exist from the start at 0, so increase() sees even the first NACK after a restart.
    for (const kind of ['resources', 'endpoints']) rejected.inc({ kind }, 0);
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
