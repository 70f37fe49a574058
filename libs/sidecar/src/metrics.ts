// Golden metrics of the data plane in Prometheus form; the only module that knows prom-client.
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { RequestObserver, RequestRecord } from './layers/telemetry-layer';

const LABELS = ['direction', 'src_service', 'dst_service', 'status_code'] as const;

/** Sub-millisecond buckets at the low end: mesh hops on one machine cost tens to hundreds of microseconds. */
export const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class MeshMetrics implements RequestObserver {
  readonly registry = new Registry();
  private readonly requests: Counter<(typeof LABELS)[number]>;
  private readonly duration: Histogram<(typeof LABELS)[number]>;

  constructor(labels: { service: string; instance: string }) {
    this.registry.setDefaultLabels({ proxy_service: labels.service, proxy_instance: labels.instance });
    this.requests = new Counter({
      name: 'mesh_requests_total',
      help: 'Requests handled by the proxy, by direction, source, destination and status code.',
      labelNames: LABELS,
      registers: [this.registry],
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

  onRequestEnd(r: RequestRecord): void {
    const labels = { direction: r.direction, src_service: r.srcService, dst_service: r.dstService, status_code: String(r.statusCode) };
    this.requests.inc(labels);
    this.duration.observe(labels, r.durationSeconds);
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
