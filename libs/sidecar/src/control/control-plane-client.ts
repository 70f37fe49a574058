// The proxy's side of the push protocol: register, hold a stream of versioned snapshots, ACK or NACK each.
import type { EndpointsSnapshot, PushAck, PushMessage, ResourcesSnapshot } from '@meshcart/mesh-config';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

export type ProxyMode = 'sidecar' | 'edge' | 'proxyless' | 'off';

export interface ProxyRegistration {
  service: string;
  instance: string;
  mode: ProxyMode;
  adminUrl?: string;
  /** Where peers reach this instance; absent for proxies that take no mesh traffic (the gateway). */
  endpointUrl?: string;
  /** The same over HTTP/2 cleartext (sidecars only). */
  h2cEndpointUrl?: string;
  /** endpointUrl also accepts mTLS (sidecars only). */
  mtls?: boolean;
  labels: Record<string, string>;
}

export interface ControlPlaneClientOptions {
  urls: string[];
  registration: ProxyRegistration;
  /** Throws to refuse (NACK) the snapshot; the data plane keeps its last good one. */
  onResources: (snapshot: ResourcesSnapshot) => void;
  /** `complete`: false while a freshly started control plane may not know every instance yet. */
  onEndpoints: (snapshot: EndpointsSnapshot, complete: boolean) => void;
  /** Told of each snapshot refused (after the NACK is decided, before it is sent). */
  onRejected?: (kind: 'resources' | 'endpoints', version: string) => void;
  versions: () => { resources?: string; endpoints?: string; certNotAfter?: string };
  heartbeatIntervalMs?: number;
  log?: { info: (msg: string) => void; warn: (msg: string) => void };
}

/** The control plane sends a ping line this often; silence for three times as long means it is gone. */
export const STREAM_PING_MS = 5_000;

export class ControlPlaneClient {
  private stopped = false;
  private abort = new AbortController();
  private current?: string;
  private connected = false;
  private heartbeat?: NodeJS.Timeout;
  /** The heartbeat on its way, if any: a leave waits for it, or it could land after and register again. */
  private beating?: Promise<void>;
  private loop?: Promise<void>;
  private stopping?: Promise<void>;

  constructor(private readonly opts: ControlPlaneClientOptions) {
    if (opts.urls.length === 0) throw new Error('ControlPlaneClient needs at least one control-plane URL');
  }

  start(): void {
    this.loop = this.run();
    this.heartbeat = setInterval(() => this.heartbeatNow(), this.opts.heartbeatIntervalMs ?? 3_000);
    this.heartbeat.unref();
  }

  /** Sends the registration (with fresh versions and certificate expiry) now rather than at the next beat. */
  heartbeatNow(): void {
    if (this.current && !this.stopped) this.beating = this.register(this.current).catch(() => undefined);
  }

  status(): { controlPlane?: string; connected: boolean } {
    return { controlPlane: this.current, connected: this.connected };
  }

  /** Deregisters so peers stop routing here, then closes the stream. Once: later calls wait for the first. */
  stop(): Promise<void> {
    return (this.stopping ??= this.deregister());
  }

  private async deregister(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    await this.beating;
    if (this.current) {
      await request(`${this.current}/api/v1/proxies/${encodeURIComponent(this.opts.registration.instance)}`, {
        method: 'DELETE',
        headersTimeout: 1_000,
      })
        .then((r) => r.body.dump())
        .catch(() => undefined);
    }
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let index = 0;
    while (!this.stopped) {
      const url = this.opts.urls[index % this.opts.urls.length]!;
      try {
        await this.register(url);
        this.current = url;
        await this.stream(url, () => (attempt = 0));
      } catch (err) {
        if (!this.stopped) this.opts.log?.warn(`control plane ${url}: ${(err as Error).message}`);
      }
      this.connected = false;
      if (this.stopped) break;
      index++; // fail over to the next control-plane address
      const backoff = Math.min(5_000, 200 * 2 ** attempt++) * (0.5 + Math.random() / 2);
      await sleep(backoff, undefined, { signal: this.abort.signal }).catch(() => undefined);
    }
  }

  private async register(url: string): Promise<void> {
    const res = await request(`${url}/api/v1/proxies/${encodeURIComponent(this.opts.registration.instance)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...this.opts.registration, ...this.reportedVersions() }),
      headersTimeout: 2_000,
      bodyTimeout: 2_000,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`register answered ${res.statusCode}: ${text}`);
  }

  private reportedVersions() {
    const v = this.opts.versions();
    return { configVersion: v.resources ?? null, endpointsVersion: v.endpoints ?? null, ...(v.certNotAfter ? { certNotAfter: v.certNotAfter } : {}) };
  }

  private async stream(url: string, onOpen: () => void): Promise<void> {
    const instance = encodeURIComponent(this.opts.registration.instance);
    const res = await request(`${url}/api/v1/proxies/${instance}/stream`, {
      method: 'GET',
      signal: this.abort.signal,
      headersTimeout: 2_000,
      bodyTimeout: STREAM_PING_MS * 3,
    });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new Error(`stream answered ${res.statusCode}: ${text}`);
    }
    this.connected = true;
    onOpen();
    this.opts.log?.info(`connected to control plane ${url}`);
    let buffered = '';
    for await (const chunk of res.body) {
      buffered += (chunk as Buffer).toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim()) await this.handle(url, JSON.parse(line) as PushMessage | { type: 'ping' });
      }
    }
    throw new Error('stream closed by the control plane');
  }

  private async handle(url: string, msg: PushMessage | { type: 'ping' }): Promise<void> {
    if (msg.type === 'ping') return;
    const kind = msg.type;
    const before = this.opts.versions()[kind];
    let ack: PushAck;
    try {
      if (msg.type === 'resources') this.opts.onResources({ version: msg.version, resources: msg.resources });
      else this.opts.onEndpoints({ version: msg.version, clusters: msg.clusters }, msg.complete !== false);
      ack = { kind, version: msg.version };
    } catch (err) {
      const error = (err as Error).message;
      this.opts.log?.warn(`refused ${kind} ${msg.version}: ${error}`);
      this.opts.onRejected?.(kind, msg.version);
      ack = { kind, version: before ?? '', rejectedVersion: msg.version, error };
    }
    const instance = encodeURIComponent(this.opts.registration.instance);
    await request(`${url}/api/v1/proxies/${instance}/acks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ack),
      headersTimeout: 2_000,
    })
      .then((r) => r.body.dump())
      .catch(() => undefined);
  }
}
