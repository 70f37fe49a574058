// What feeds the dashboard's stream: scrapes every proxy's admin port, at most once per interval and only while someone watches.
import type { DashboardProxy, DashboardSnapshot, FaultList } from '@meshcart/control-plane-api';
import { parsePrometheusText } from '@meshcart/prometheus-text';
import { request } from 'undici';
import type { ConfigStore } from '../config-store';
import { proxyView } from '../plugins/proxies-plugin';
import type { Registry } from '../registry';
import { topology, type ProxyScrapes, type Scrape } from './golden-stats';

export interface DashboardFeedOptions {
  registry: Registry;
  store: ConfigStore;
  /** How often each proxy is scraped while a dashboard is open (the graph's refresh). */
  intervalMs?: number;
  /** A scrape slower than this counts as failed for this round. */
  timeoutMs?: number;
  /** /config_dump (ejected endpoints) is larger than /metrics: read it every this many rounds. */
  dumpEvery?: number;
}

type Listener = (snapshot: DashboardSnapshot) => void;

const BREAKER = ['closed', 'open', 'half-open'] as const;

interface ProxyState {
  before?: Scrape;
  after?: Scrape;
  error: string | null;
  breakers: DashboardProxy['breakers'];
  ejected: DashboardProxy['ejected'];
}

async function fetchText(url: string, timeoutMs: number): Promise<string> {
  const res = await request(url, { signal: AbortSignal.timeout(timeoutMs), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`${url} answered ${res.statusCode}`);
  }
  return res.body.text();
}

export class DashboardFeed {
  readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly dumpEvery: number;
  private readonly listeners = new Set<Listener>();
  private readonly state = new Map<string, ProxyState>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private round = 0;
  private seq = 0;
  private last: DashboardSnapshot | undefined;
  /** Scrapes made since start, for tests and the cost measurement. */
  scrapes = 0;

  constructor(private readonly opts: DashboardFeedOptions) {
    this.intervalMs = opts.intervalMs ?? 2_000;
    this.timeoutMs = opts.timeoutMs ?? Math.min(1_500, this.intervalMs);
    this.dumpEvery = opts.dumpEvery ?? 5;
  }

  get watchers(): number {
    return this.listeners.size;
  }

  /** A new watcher gets the last snapshot at once; the first one starts the scraping, the last to leave stops it. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (this.last) listener(this.last);
    if (!this.timer && !this.running) this.schedule(0);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.state.clear();
    this.last = undefined;
  }

  // The next round starts an interval after this one started, and never while it runs: one scrape per proxy per interval, whatever the number of watchers.
  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      const started = Date.now();
      this.timer = undefined;
      this.running = true;
      void this.tick().finally(() => {
        this.running = false;
        if (this.listeners.size > 0) this.schedule(Math.max(0, this.intervalMs - (Date.now() - started)));
      });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    const records = this.opts.registry.list();
    const withDump = this.round++ % this.dumpEvery === 0;
    for (const instance of this.state.keys()) if (!records.some((r) => r.instance === instance)) this.state.delete(instance);
    await Promise.all(records.map((r) => (r.adminUrl ? this.scrape(r.instance, r.adminUrl, withDump) : undefined)));
    if (this.listeners.size === 0) return;
    const snapshot = this.snapshot(records);
    this.last = snapshot;
    for (const l of this.listeners) l(snapshot);
  }

  private async scrape(instance: string, adminUrl: string, withDump: boolean): Promise<void> {
    const s = this.state.get(instance) ?? (this.state.set(instance, { error: null, breakers: [], ejected: [] }), this.state.get(instance)!);
    try {
      this.scrapes++;
      const samples = parsePrometheusText(await fetchText(`${adminUrl}/metrics`, this.timeoutMs));
      s.before = s.after;
      s.after = { at: Date.now(), samples };
      s.breakers = samples
        .filter((x) => x.name === 'mesh_circuit_breaker_state')
        .map((x) => ({ cluster: x.labels['dst_service'] ?? '', state: BREAKER[x.value] ?? 'closed' }));
      s.error = null;
      if (withDump) s.ejected = ejectedIn(JSON.parse(await fetchText(`${adminUrl}/config_dump`, this.timeoutMs)));
    } catch (err) {
      // A silent proxy shows as such; its rates start again from its next two scrapes.
      s.error = (err as Error).message;
      s.before = s.after = undefined;
    }
  }

  private snapshot(records: ReturnType<Registry['list']>): DashboardSnapshot {
    const { profile, version, config } = this.opts.store.current();
    const scrapes: ProxyScrapes[] = records.map((r) => ({
      service: r.service,
      instance: r.instance,
      mode: r.mode,
      labels: r.labels,
      before: this.state.get(r.instance)?.before,
      after: this.state.get(r.instance)?.after,
    }));
    const faults: FaultList = Object.fromEntries(
      Object.entries(config.spec.services).flatMap(([name, svc]) => (svc.fault ? [[name, svc.fault]] : [])),
    );
    const proxies = records
      .map((r): DashboardProxy => {
        const s = this.state.get(r.instance);
        const expectedVersion = this.opts.store.resourcesFor(r.service).version;
        return {
          ...proxyView(r, undefined, this.opts.registry.isDrained(r.instance)),
          labels: r.labels,
          expectedVersion,
          breakers: s?.breakers ?? [],
          ejected: s?.ejected ?? [],
          scrapeError: s?.error ?? null,
        };
      })
      .sort((a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance));
    return {
      seq: ++this.seq,
      at: new Date().toISOString(),
      intervalMs: this.intervalMs,
      profile,
      configVersion: version,
      faults,
      ...topology(scrapes),
      proxies,
    };
  }
}

/** Ejected endpoints per cluster, from a proxy's /config_dump. */
function ejectedIn(dump: unknown): DashboardProxy['ejected'] {
  const clusters = (dump as { clusters?: { name: string; endpoints?: { instance: string; ejected?: boolean }[] }[] }).clusters ?? [];
  return clusters.flatMap((c) => (c.endpoints ?? []).filter((e) => e.ejected).map((e) => ({ cluster: c.name, instance: e.instance })));
}
