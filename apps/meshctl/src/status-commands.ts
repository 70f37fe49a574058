// meshctl status / routes / stat: what runs, with which config, and how healthy it is.
import { ContractCheck, ProxyList, type ProxyView } from '@meshcart/control-plane-api';
import { ResourcesSnapshot } from '@meshcart/mesh-config';
import { histogramQuantile, parsePrometheusText, sumHistograms, type Labels, type Sample } from '@meshcart/prometheus-text';
import { request } from 'undici';
import { parseArgs } from 'node:util';
import type { ControlPlaneApi } from './control-plane-api';
import { serviceName, UsageError } from './fault-command';
import { show, table, type Output } from './output';

const proxyList = new ContractCheck(ProxyList);
const resourcesSnapshot = new ContractCheck(ResourcesSnapshot);

export async function statusCommand(api: ControlPlaneApi, out: Output): Promise<void> {
  const proxies = await api.call('GET', '/api/v1/proxies', proxyList);
  const ack = (p: ProxyView) => (!p.acks.resources ? 'pending' : p.acks.resources.acked ? 'ACK' : `NACK: ${p.acks.resources.error}`);
  const expiry = (p: ProxyView) => (p.certNotAfter ? `${Math.round((new Date(p.certNotAfter).getTime() - Date.now()) / 60_000)} min` : '—');
  table(
    out,
    ['service', 'instance', 'mode', 'config', 'state', 'control plane', 'cert expires in'],
    proxies.map((p) => [
      p.service,
      p.instance + (p.drained ? ' (drained)' : ''),
      p.mode,
      p.configVersion ?? '—',
      ack(p),
      p.controlPlane ?? 'disconnected',
      expiry(p),
    ]),
    proxies,
  );
}

export async function routesCommand(api: ControlPlaneApi, args: string[], out: Output): Promise<void> {
  const [name] = args;
  if (!name) throw new UsageError('usage: meshctl routes SERVICE');
  const service = serviceName(name);
  const { resources } = await api.call('GET', `/api/v1/services/${service}/resources`, resourcesSnapshot);
  const vhost = resources.virtualHosts.find((v) => v.name === service);
  if (!vhost) throw new UsageError(`no service "${service}"`);
  const match = (m: (typeof vhost.routes)[number]['match']) =>
    [m.methods?.join('|') ?? '*', m.pathExact ?? `${m.pathPrefix}*`, m.headers ? JSON.stringify(m.headers) : ''].filter(Boolean).join(' ');
  table(
    out,
    ['route', 'match', 'timeout ms', 'retries', 'fault', 'split'],
    vhost.routes.map((r) => [
      r.name,
      match(r.match),
      r.timeoutMs,
      r.retries ? `${r.retries.attempts} on ${r.retries.retryOn.join(',')}` : '—',
      show(r.fault),
      r.split ? r.split.map((s) => `${s.subset} ${s.weight}%`).join(', ') : '—',
    ]),
    vhost,
  );
}

interface Window {
  total: number;
  ok: number;
  buckets: Map<number, number>;
}

/** Requests and latency buckets by service, as its inbound proxies counted them, summed over every proxy scraped. */
function collect(scrapes: Sample[][]): Map<string, Window> {
  const samples = scrapes.flat();
  const inbound = (labels: Labels) => (labels['direction'] === 'inbound' ? (labels['dst_service'] ?? '') : undefined);
  const by = new Map<string, Window>();
  const get = (svc: string) => by.get(svc) ?? (by.set(svc, { total: 0, ok: 0, buckets: new Map() }), by.get(svc)!);
  for (const s of samples) {
    const svc = s.name === 'mesh_requests_total' ? inbound(s.labels) : undefined;
    if (svc === undefined) continue;
    const w = get(svc);
    w.total += s.value;
    if (Number(s.labels['status_code']) < 500) w.ok += s.value;
  }
  for (const [svc, h] of sumHistograms(samples, 'mesh_request_duration_seconds', inbound)) get(svc).buckets = h.buckets;
  return by;
}

export async function statCommand(api: ControlPlaneApi, args: string[], out: Output): Promise<void> {
  const { values } = parseArgs({ args, options: { window: { type: 'string' } } });
  const windowS = Number(values.window ?? 2);
  if (!Number.isFinite(windowS) || windowS <= 0) throw new UsageError('--window must be a number of seconds above 0');
  const proxies = (await api.call('GET', '/api/v1/proxies', proxyList)).filter((p) => p.adminUrl);
  const metricsOf = async (url: string) => parsePrometheusText(await (await request(`${url}/metrics`, { headersTimeout: 3_000 })).body.text());
  // A proxy that cannot be scraped counts as silent rather than failing the whole table.
  const scrape = () => Promise.all(proxies.map((p) => metricsOf(p.adminUrl!).catch(() => [])));
  const before = collect(await scrape());
  await new Promise((r) => setTimeout(r, windowS * 1000));
  const after = collect(await scrape());
  const rows = [...after.entries()]
    .filter(([svc]) => svc)
    .map(([svc, a]) => {
      const b = before.get(svc) ?? { total: 0, ok: 0, buckets: new Map<number, number>() };
      const total = a.total - b.total;
      const delta = new Map([...a.buckets].map(([le, c]) => [le, c - (b.buckets.get(le) ?? 0)]));
      const ms = (q: number) => {
        const v = histogramQuantile(q, delta);
        return Number.isNaN(v) ? null : Math.round(v * 1e6) / 1e3;
      };
      return {
        service: svc,
        successRate: total ? (a.ok - b.ok) / total : null,
        rps: total / windowS,
        p50Ms: ms(0.5),
        p95Ms: ms(0.95),
        p99Ms: ms(0.99),
      };
    })
    .sort((x, y) => x.service.localeCompare(y.service));
  const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(2)}%`);
  table(
    out,
    ['service', 'success', 'rps', 'p50 ms', 'p95 ms', 'p99 ms'],
    rows.map((r) => [
      r.service,
      pct(r.successRate),
      r.rps.toFixed(1),
      show(r.p50Ms ?? undefined),
      show(r.p95Ms ?? undefined),
      show(r.p99Ms ?? undefined),
    ]),
    rows,
  );
}
