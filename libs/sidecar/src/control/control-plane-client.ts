// The proxy's side of the push protocol: register, hold a stream of versioned snapshots, ACK or NACK each.
import {
  ContractCheck,
  EndpointsPush,
  Lease,
  ResourcesPush,
  STREAM_PING_MS,
  type PushAck,
  type PushKind,
  type Registration,
} from '@meshcart/control-plane-api';
import type { EndpointsSnapshot, ResourcesSnapshot } from '@meshcart/mesh-config';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { ControlPlaneAccess, type ControlPlaneCall, type JoinCredential } from './control-plane-access';

/** Reported with every heartbeat, rather than said once at start. */
type Reported = 'configVersion' | 'endpointsVersion' | 'certNotAfter' | 'trustEpoch';

export interface ControlPlaneClientOptions {
  urls: string[];
  registration: Omit<Registration, Reported>;
  /** Throws to refuse (NACK) the snapshot; the data plane keeps its last good one. */
  onResources: (snapshot: ResourcesSnapshot) => void;
  /** `complete`: false while a freshly started control plane may not know every instance yet. */
  onEndpoints: (snapshot: EndpointsSnapshot, complete: boolean) => void;
  /** Told of each snapshot refused (after the NACK is decided, before it is sent). */
  onRejected?: (kind: PushKind, version: string) => void;
  versions: () => { resources?: string; endpoints?: string; certNotAfter?: string; trustEpoch?: string };
  /** How each call proves this proxy's service: its certificate over mTLS, or its join credential (the runtime's, shared with its identity). */
  access?: ControlPlaneAccess;
  /** Without `access`: the join credential every call presents. */
  join?: JoinCredential;
  heartbeatIntervalMs?: number;
  log?: { info: (msg: string) => void; warn: (msg: string) => void };
}

/** A pushed snapshot is checked whole against the API before any of it is used. */
const pushes = { resources: new ContractCheck(ResourcesPush), endpoints: new ContractCheck(EndpointsPush) };
const lease = new ContractCheck(Lease);

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

  private readonly access: ControlPlaneAccess;

  constructor(private readonly opts: ControlPlaneClientOptions) {
    if (opts.urls.length === 0) throw new Error('ControlPlaneClient needs at least one control-plane URL');
    this.access = opts.access ?? new ControlPlaneAccess(opts.join, () => undefined);
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
      const call = this.access.call(this.current);
      await request(`${call.base}/api/v1/proxies/${encodeURIComponent(this.opts.registration.instance)}`, {
        method: 'DELETE',
        dispatcher: call.dispatcher,
        headers: call.headers,
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
    const registration: Registration = { ...this.opts.registration, ...this.reportedVersions() };
    const send = (call: ControlPlaneCall) =>
      request(`${call.base}/api/v1/proxies/${encodeURIComponent(this.opts.registration.instance)}`, {
        method: 'PUT',
        dispatcher: call.dispatcher,
        headers: { 'content-type': 'application/json', ...call.headers },
        body: JSON.stringify(registration),
        headersTimeout: 2_000,
        bodyTimeout: 2_000,
      });
    const call = this.access.call(url);
    const res = await send(call).catch((err: Error) => {
      if (!call.dispatcher) throw err;
      // Nothing answers on the mTLS port it announced (a restarted control plane may have another):
      // register at the plain address again, which names the port anew.
      this.access.forgetTlsPort(url);
      return send(this.access.call(url));
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`register answered ${res.statusCode}: ${text}`);
    // The lease names the control plane's mTLS port: once this proxy has a certificate, it calls there.
    this.access.learnTlsPort(url, lease.verify(JSON.parse(text), 'the lease').tlsPort);
  }

  private reportedVersions(): Pick<Registration, Reported> {
    const v = this.opts.versions();
    return {
      configVersion: v.resources ?? null,
      endpointsVersion: v.endpoints ?? null,
      ...(v.certNotAfter ? { certNotAfter: v.certNotAfter } : {}),
      ...(v.trustEpoch ? { trustEpoch: v.trustEpoch } : {}),
    };
  }

  private async stream(url: string, onOpen: () => void): Promise<void> {
    const instance = encodeURIComponent(this.opts.registration.instance);
    const call = this.access.call(url);
    const res = await request(`${call.base}/api/v1/proxies/${instance}/stream`, {
      method: 'GET',
      dispatcher: call.dispatcher,
      headers: call.headers,
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
        if (line.trim()) await this.handle(url, line);
      }
    }
    throw new Error('stream closed by the control plane');
  }

  /**
   * Applies one pushed line and ACKs it, or NACKs it with why: a snapshot the data plane refuses, or
   * one that does not match the API (the last good config stays either way). A line whose kind
   * cannot be told has no version to NACK: it is logged and skipped.
   */
  private async handle(url: string, line: string): Promise<void> {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch (err) {
      this.opts.log?.warn(`skipped a push line that is not JSON (${(err as Error).message})`);
      return;
    }
    const head = typeof msg === 'object' && msg !== null ? msg : {};
    const kind = 'type' in head ? head.type : undefined;
    if (kind === 'ping') return;
    if (kind !== 'resources' && kind !== 'endpoints') {
      this.opts.log?.warn(`skipped a push line of no known kind: ${line.slice(0, 200)}`);
      return;
    }
    const pushed = 'version' in head && typeof head.version === 'string' ? head.version : '';
    const before = this.opts.versions()[kind];
    let ack: PushAck;
    try {
      if (kind === 'resources') {
        const { version, resources } = pushes.resources.verify(msg, 'the push');
        this.opts.onResources({ version, resources });
      } else {
        const { version, clusters, complete } = pushes.endpoints.verify(msg, 'the push');
        this.opts.onEndpoints({ version, clusters }, complete !== false);
      }
      ack = { kind, version: pushed };
    } catch (err) {
      const error = (err as Error).message;
      this.opts.log?.warn(`refused ${kind} ${pushed}: ${error}`);
      this.opts.onRejected?.(kind, pushed);
      ack = { kind, version: before ?? '', rejectedVersion: pushed, error };
    }
    const instance = encodeURIComponent(this.opts.registration.instance);
    const call = this.access.call(url);
    await request(`${call.base}/api/v1/proxies/${instance}/acks`, {
      method: 'POST',
      dispatcher: call.dispatcher,
      headers: { 'content-type': 'application/json', ...call.headers },
      body: JSON.stringify(ack),
      headersTimeout: 2_000,
    })
      .then((r) => r.body.dump())
      .catch(() => undefined);
  }
}
