// Holds one stream per proxy and pushes versioned snapshots: resources on connect, endpoints on every change.
import { STREAM_PING_MS, type PushMessage } from '@meshcart/control-plane-api';
import { endpointsSnapshot } from '@meshcart/mesh-config';
import type { ServerResponse } from 'node:http';
import type { ConfigStore } from './config-store';
import type { Registry } from './registry';

interface Subscriber {
  instance: string;
  service: string;
  out: ServerResponse;
  sentEndpoints?: string;
  sentComplete?: boolean;
}

export class PushServer {
  private readonly subscribers = new Map<string, Subscriber>();
  private readonly pinger: NodeJS.Timeout;
  private readonly settle: NodeJS.Timeout;
  private endpoints = endpointsSnapshot({});
  private complete = false;

  /**
   * `replicaId` is recorded on each proxy whose stream this server holds; `onStream` hears of each
   * stream opened and closed (the replicas pass it on).
   */
  constructor(
    private readonly registry: Registry,
    private readonly store: ConfigStore,
    private readonly replicaId: string,
    private readonly onStream: (instance: string, open: boolean) => void = () => undefined,
  ) {
    this.endpoints = endpointsSnapshot(registry.endpoints());
    registry.on('change', () => this.onRegistryChange());
    // A config change reaches every connected proxy at once; each ACKs or NACKs it.
    store.on('change', () => {
      for (const sub of this.subscribers.values()) this.sendResources(sub);
    });
    // Proxies give up on a stream after three silent intervals.
    this.pinger = setInterval(() => this.broadcast(`${JSON.stringify({ type: 'ping' } satisfies PushMessage)}\n`), STREAM_PING_MS);
    this.pinger.unref();
    // After one lease every live proxy has re-registered: from then on, endpoint lists are complete.
    this.settle = setTimeout(() => this.markComplete(), registry.leaseTtlMs);
    this.settle.unref();
  }

  /** Whether endpoint lists are known to hold every live instance. */
  isComplete(): boolean {
    return this.complete;
  }

  /** The registry holds every live instance (a lease has passed, or a complete replica passed on its registry). */
  markComplete(): void {
    clearTimeout(this.settle);
    if (this.complete) return;
    this.complete = true;
    for (const sub of this.subscribers.values()) this.sendEndpoints(sub);
  }

  endpointsVersion(): string {
    return this.endpoints.version;
  }

  currentEndpoints() {
    return this.endpoints;
  }

  subscribe(instance: string, service: string, out: ServerResponse): void {
    // A reconnecting proxy replaces its old stream.
    this.subscribers.get(instance)?.out.end();
    const sub: Subscriber = { instance, service, out };
    this.subscribers.set(instance, sub);
    out.on('close', () => {
      if (this.subscribers.get(instance) === sub) {
        this.subscribers.delete(instance);
        this.registry.setStream(instance, this.replicaId, false);
        this.onStream(instance, false);
      }
    });
    this.registry.setStream(instance, this.replicaId, true);
    this.onStream(instance, true);
    // One connection per stream: when the stream ends (shutdown), its socket closes with it.
    out.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', connection: 'close' });
    this.sendResources(sub);
    this.sendEndpoints(sub);
  }

  close(): void {
    clearInterval(this.pinger);
    clearTimeout(this.settle);
    for (const sub of this.subscribers.values()) sub.out.end();
    this.subscribers.clear();
  }

  private onRegistryChange(): void {
    // A proxy whose lease ran out (its heartbeats stopped, or were refused: a revoked credential)
    // gets no more config: its stream ends, and it must register again to open another.
    for (const sub of [...this.subscribers.values()]) {
      if (this.registry.get(sub.instance)) continue;
      this.subscribers.delete(sub.instance);
      this.registry.setStream(sub.instance, this.replicaId, false);
      this.onStream(sub.instance, false);
      sub.out.end();
    }
    const next = endpointsSnapshot(this.registry.endpoints());
    if (next.version === this.endpoints.version) return;
    this.endpoints = next;
    for (const sub of this.subscribers.values()) this.sendEndpoints(sub);
  }

  private sendResources(sub: Subscriber): void {
    const { version, resources } = this.store.resourcesFor(sub.service);
    this.send(sub, { type: 'resources', version, resources });
  }

  private sendEndpoints(sub: Subscriber): void {
    if (sub.sentEndpoints === this.endpoints.version && sub.sentComplete === this.complete) return;
    sub.sentEndpoints = this.endpoints.version;
    sub.sentComplete = this.complete;
    this.send(sub, { type: 'endpoints', version: this.endpoints.version, clusters: this.endpoints.clusters, complete: this.complete });
  }

  private send(sub: Subscriber, msg: PushMessage): void {
    // One slow proxy never blocks the others: each stream buffers on its own.
    sub.out.write(`${JSON.stringify(msg)}\n`);
  }

  private broadcast(line: string): void {
    for (const sub of this.subscribers.values()) sub.out.write(line);
  }
}
