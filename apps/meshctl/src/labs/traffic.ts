// Shop traffic for a lab's check: closed loop (N callers back to back) or open loop (a fixed rate), with
// progress once a second and the figures a learner compares: rate, statuses, mean and tail latency.
import { Agent, request, type Dispatcher } from 'undici';

export interface LabRequest {
  method?: Dispatcher.HttpMethod;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface TrafficOptions {
  baseUrl: string;
  /** The i-th request to send. */
  next: (i: number) => LabRequest;
  seconds: number;
  /** Callers back to back (closed loop); default 4. Ignored when `rate` is set. */
  concurrency?: number;
  /** Requests per second, sent on schedule whatever the answers take (open loop). */
  rate?: number;
  progress: (message: string) => void;
  /** A label for the progress lines. */
  label?: string;
}

export interface TrafficReport {
  count: number;
  seconds: number;
  rps: number;
  /** Answers by status code; `0` counts calls that got no answer. */
  byStatus: Record<string, number>;
  /** Error codes of error answers (`MESH_ERR_…`, `UNKNOWN_PRODUCT`, …). */
  byCode: Record<string, number>;
  /** Share of requests answered 5xx or not at all. */
  errorRate: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Headers of interest seen on answers, counted by value (x-product-version, …). */
  seen: Record<string, Record<string, number>>;
}

const WATCHED_HEADERS = ['x-product-version'];

export async function drive(opts: TrafficOptions): Promise<TrafficReport> {
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 256 });
  const latencies: number[] = [];
  const byStatus: Record<string, number> = {};
  const byCode: Record<string, number> = {};
  const seen: Record<string, Record<string, number>> = {};
  let sent = 0;
  const started = performance.now();
  const until = started + opts.seconds * 1000;
  const label = opts.label ?? 'traffic';

  const one = async (i: number) => {
    const r = opts.next(i);
    const t0 = performance.now();
    let status = 0;
    try {
      const res = await request(`${opts.baseUrl}${r.path}`, {
        dispatcher: agent,
        method: r.method ?? 'GET',
        headers: { ...(r.body !== undefined ? { 'content-type': 'application/json' } : {}), ...r.headers },
        body: r.body !== undefined ? JSON.stringify(r.body) : undefined,
        headersTimeout: 15_000,
        bodyTimeout: 15_000,
      });
      status = res.statusCode;
      for (const h of WATCHED_HEADERS) {
        const v = res.headers[h];
        if (typeof v === 'string') (seen[h] ??= {})[v] = (seen[h]![v] ?? 0) + 1;
      }
      const text = await res.body.text();
      if (status >= 400) {
        try {
          const code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
          if (code) byCode[code] = (byCode[code] ?? 0) + 1;
        } catch {
          // not JSON: the status says enough
        }
      }
    } catch {
      status = 0;
    }
    latencies.push(performance.now() - t0);
    byStatus[status] = (byStatus[status] ?? 0) + 1;
  };

  const ticker = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    const failed = Object.entries(byStatus).reduce((n, [s, c]) => n + (Number(s) >= 500 || s === '0' ? c : 0), 0);
    opts.progress(
      `${label}: ${Math.min(elapsed, opts.seconds).toFixed(0)}/${opts.seconds} s, ${latencies.length} requests, ${latencies.length ? ((100 * failed) / latencies.length).toFixed(1) : '0.0'}% failed`,
    );
  }, 1000);
  try {
    if (opts.rate) {
      const interval = 1000 / opts.rate;
      const inFlight = new Set<Promise<void>>();
      for (let i = 0; ; i++) {
        const due = started + i * interval;
        if (due >= until) break;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const p = one(sent++).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await Promise.all(inFlight);
    } else {
      const worker = async () => {
        while (performance.now() < until) await one(sent++);
      };
      await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
    }
  } finally {
    clearInterval(ticker);
    await agent.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN);
  const failed = Object.entries(byStatus).reduce((n, [s, c]) => n + (Number(s) >= 500 || s === '0' ? c : 0), 0);
  return {
    count: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    byStatus,
    byCode,
    errorRate: latencies.length ? failed / latencies.length : 0,
    meanMs: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : NaN,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    seen,
  };
}
