// What a lab works with: the running mesh through its control plane (config, proxies, their metrics) and the shop through its gateway.
import { ApplyReply, ContractCheck, CurrentConfig, ProxyList, type ProxyView } from '@meshcart/control-plane-api';
import { MeshConfigSchema, ResourcesSnapshot, type MeshConfig } from '@meshcart/mesh-config';
import { parsePrometheusText, type Sample } from '@meshcart/prometheus-text';
import { request } from 'undici';
import { stringify } from 'yaml';
import type { ControlPlaneApi } from '../control-plane-api';
import { drive, type TrafficOptions, type TrafficReport } from './traffic';

const currentConfig = new ContractCheck(CurrentConfig);
const applied = new ContractCheck(ApplyReply);
const proxyList = new ContractCheck(ProxyList);
const resourcesSnapshot = new ContractCheck(ResourcesSnapshot);
const meshConfig = new ContractCheck(MeshConfigSchema);

export interface LabMeshOptions {
  api: ControlPlaneApi;
  gatewayUrl: string;
  /** Shorter measurements (about a third): less confidence, for tests and a quick look. */
  quick: boolean;
  /** Progress while measuring, on stderr so --json output stays clean. */
  progress: (message: string) => void;
  /** The lab's own notes between start and reset (what check compares with, processes it started). */
  notes: Record<string, unknown>;
  /** The folder lab files go to (.data/labs): starting configs, reports. */
  dir: string;
}

/** Every proxy's samples, by instance. */
export type Scrape = Map<string, Sample[]>;

export class LabMesh {
  readonly api: ControlPlaneApi;
  readonly gatewayUrl: string;
  readonly quick: boolean;
  readonly notes: Record<string, unknown>;
  readonly dir: string;
  private readonly say: (message: string) => void;

  constructor(opts: LabMeshOptions) {
    this.api = opts.api;
    this.gatewayUrl = opts.gatewayUrl.replace(/\/$/, '');
    this.quick = opts.quick;
    this.say = opts.progress;
    this.notes = opts.notes;
    this.dir = opts.dir;
  }

  progress(message: string): void {
    this.say(message);
  }

  /** How long to measure: `normal` seconds, or a third of it (at least 2) with --quick. */
  seconds(normal: number): number {
    return this.quick ? Math.max(2, Math.round(normal / 3)) : normal;
  }

  config() {
    return this.api.call('GET', '/api/v1/config', currentConfig);
  }

  /** A shipped profile (deploy/mesh/NAME.yaml as the control plane has it). */
  profile(name: string): Promise<MeshConfig> {
    return this.api.call('GET', `/api/v1/profiles/${encodeURIComponent(name)}`, meshConfig);
  }

  /** Applies `config` (validated whole by the control plane) and waits until every proxy has taken it. */
  async apply(config: MeshConfig, source: string): Promise<string> {
    const res = await this.api.call('POST', '/api/v1/config', applied, { yaml: stringify(config), source });
    if (!('version' in res)) throw new Error('the control plane answered a dry run');
    await this.settle();
    return res.version;
  }

  /** The config in force, changed by `change`, applied. */
  async patch(change: (draft: MeshConfig) => void, source: string): Promise<string> {
    const draft = structuredClone((await this.config()).config);
    change(draft);
    return this.apply(draft, source);
  }

  proxies(): Promise<ProxyView[]> {
    return this.api.call('GET', '/api/v1/proxies', proxyList);
  }

  /** Waits until every connected proxy has ACKed its service's resources as now compiled (a config push is asynchronous). */
  async settle(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const proxies = (await this.proxies()).filter((p) => p.connected);
      const versions = new Map<string, string>();
      for (const service of new Set(proxies.map((p) => p.service)))
        versions.set(service, (await this.api.call('GET', `/api/v1/services/${service}/resources`, resourcesSnapshot)).version);
      const behind = proxies.filter((p) => !(p.acks.resources?.acked && p.acks.resources.version === versions.get(p.service)));
      if (behind.length === 0) return;
      if (Date.now() > deadline)
        throw new Error(`the config did not reach ${behind.map((p) => p.instance).join(', ')} within ${timeoutMs / 1000} s (see meshctl status)`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Every proxy's /metrics (a proxy that cannot be scraped is left out, and said). */
  async scrape(): Promise<Scrape> {
    const proxies = (await this.proxies()).filter((p) => p.adminUrl);
    const scrape: Scrape = new Map();
    await Promise.all(
      proxies.map(async (p) => {
        try {
          const res = await request(`${p.adminUrl}/metrics`, { headersTimeout: 3_000 });
          scrape.set(p.instance, parsePrometheusText(await res.body.text()));
        } catch (err) {
          this.progress(`could not read ${p.instance}'s metrics at ${p.adminUrl} (${(err as Error).message})`);
        }
      }),
    );
    return scrape;
  }

  /** Shop traffic through the gateway, with progress; see drive(). */
  traffic(opts: Omit<TrafficOptions, 'baseUrl' | 'progress'>): Promise<TrafficReport> {
    return drive({ ...opts, baseUrl: this.gatewayUrl, progress: (m) => this.progress(m) });
  }
}

/** The sum of a counter's samples across proxies whose labels include `labels` (and whose proxy is `proxyService`, if given). */
export function total(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const samples of scrape.values())
    for (const s of samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  return sum;
}

/** How much a counter grew between two scrapes. */
export const grew = (before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}) =>
  total(after, name, labels) - total(before, name, labels);
