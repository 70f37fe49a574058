// Which proxies exist: registrations with leases; an instance that stops heartbeating drops out.
import type { AckState, PushKind, Registration } from '@meshcart/control-plane-api';
import type { Endpoint } from '@meshcart/mesh-config';
import { EventEmitter } from 'node:events';

export interface ProxyRecord extends Registration {
  registeredAt: string;
  lastSeen: number;
  /** The control-plane replica holding this proxy's push stream, if any. */
  streamAt?: string;
  acks: { resources?: AckState; endpoints?: AckState };
}

/** What the proxy itself reported, without what the registry keeps about it. */
export function registrationOf(rec: ProxyRecord): Registration {
  const { registeredAt: _r, lastSeen: _l, streamAt: _s, acks: _a, ...registration } = rec;
  return registration;
}

/** Emits 'change' whenever the set of endpoints may have changed. */
export class Registry extends EventEmitter {
  private readonly proxies = new Map<string, ProxyRecord>();
  /** Instances an operator drained: kept across heartbeats and re-registrations until undrained. */
  private readonly drained = new Set<string>();
  private sweeper?: NodeJS.Timeout;

  constructor(
    readonly leaseTtlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  start(): void {
    this.sweeper = setInterval(() => this.sweep(), Math.max(100, Math.min(1_000, this.leaseTtlMs / 4)));
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  /**
   * Register or renew (the same call is the heartbeat). `seenAt` is when the proxy was last heard
   * from, for a registration another replica passes on in a snapshot: a lease is never extended
   * past what the replica that heard the proxy knows.
   */
  upsert(reg: Registration, seenAt = this.now()): ProxyRecord {
    const existing = this.proxies.get(reg.instance);
    const changed =
      !existing ||
      existing.endpointUrl !== reg.endpointUrl ||
      existing.h2cEndpointUrl !== reg.h2cEndpointUrl ||
      existing.mtls !== reg.mtls ||
      existing.service !== reg.service ||
      existing.mode !== reg.mode ||
      JSON.stringify(existing.labels) !== JSON.stringify(reg.labels);
    const record: ProxyRecord = {
      ...existing,
      ...reg,
      registeredAt: existing?.registeredAt ?? new Date(this.now()).toISOString(),
      lastSeen: Math.max(existing?.lastSeen ?? 0, seenAt),
      acks: existing?.acks ?? {},
    };
    this.proxies.set(reg.instance, record);
    if (changed) this.emit('change');
    return record;
  }

  get(instance: string): ProxyRecord | undefined {
    return this.proxies.get(instance);
  }

  /** Records a proxy's ACK or NACK of a pushed version; false when the proxy is not registered. */
  ack(instance: string, kind: PushKind, state: AckState): boolean {
    const rec = this.proxies.get(instance);
    if (!rec) return false;
    rec.acks[kind] = state;
    if (kind === 'resources') rec.configVersion = state.version;
    else rec.endpointsVersion = state.version;
    return true;
  }

  /** Which replica holds a proxy's push stream; a close from one replica never clears another's open. */
  setStream(instance: string, replica: string, open: boolean): void {
    const rec = this.proxies.get(instance);
    if (!rec) return;
    if (open) rec.streamAt = replica;
    else if (rec.streamAt === replica) delete rec.streamAt;
  }

  /** A replica that stopped answering: the streams it held are no longer known to be open. */
  dropStreamsAt(replica: string): void {
    for (const rec of this.proxies.values()) if (rec.streamAt === replica) delete rec.streamAt;
  }

  /** Drains (or undrains) an instance; true when that changed anything. */
  setDrained(instance: string, drained: boolean): boolean {
    if (this.drained.has(instance) === drained) return false;
    if (drained) this.drained.add(instance);
    else this.drained.delete(instance);
    this.emit('change');
    return true;
  }

  isDrained(instance: string): boolean {
    return this.drained.has(instance);
  }

  drainedInstances(): string[] {
    return [...this.drained].sort();
  }

  remove(instance: string): boolean {
    const removed = this.proxies.delete(instance);
    if (removed) this.emit('change');
    return removed;
  }

  list(): ProxyRecord[] {
    return [...this.proxies.values()].sort((a, b) => (a.instance < b.instance ? -1 : 1));
  }

  /** Instances that take mesh traffic, grouped by service: what every proxy load-balances over. */
  endpoints(): Record<string, Endpoint[]> {
    const out: Record<string, Endpoint[]> = {};
    for (const p of this.proxies.values()) {
      if (!p.endpointUrl || this.drained.has(p.instance)) continue;
      (out[p.service] ??= []).push({
        instance: p.instance,
        url: p.endpointUrl,
        ...(p.h2cEndpointUrl ? { h2cUrl: p.h2cEndpointUrl } : {}),
        ...(p.mtls ? { mtls: true } : {}),
        weight: Number(p.labels['weight'] ?? 1) || 1,
        labels: p.labels,
      });
    }
    return out;
  }

  private sweep(): void {
    const deadline = this.now() - this.leaseTtlMs;
    let expired = false;
    for (const [instance, p] of this.proxies) {
      if (p.lastSeen < deadline) {
        this.proxies.delete(instance);
        expired = true;
      }
    }
    if (expired) this.emit('change');
  }
}
