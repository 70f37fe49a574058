// What every mesh participant runs, sidecar or edge: data plane, control-plane client, metrics, logs, admin port.
import type { ProxyMode } from '@meshcart/control-plane-api';
import type { EndpointsSnapshot, ResourcesSnapshot } from '@meshcart/mesh-config';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import { ControlPlaneClient } from '../control/control-plane-client';
import { ControlPlaneAccess, type JoinCredential } from '../control/control-plane-access';
import { WorkloadIdentity, type Credentials } from '../control/workload-identity';
import { ResourcesRejectedError } from '../core/errors';
import { AccessLog } from '../policies/access-log/access-log';
import { MeshMetrics } from '../policies/telemetry/metrics';
import { adminListener } from './admin-server';
import { DataPlane } from './data-plane';
import { closeServer, listen } from './servers';

export interface MeshRuntimeOptions {
  service: string;
  instance: string;
  mode: ProxyMode;
  controlPlaneUrls: string[];
  /**
   * The admin port binds to loopback only unless told otherwise (containers need 0.0.0.0, so that a
   * Prometheus beside them can scrape). `advertiseHost` is the address registered with the control
   * plane when `host` is a wildcard that no one can dial.
   */
  admin: { host: string; port: number; advertiseHost?: string };
  labels?: Record<string, string>;
  logger?: Logger;
  heartbeatIntervalMs?: number;
  /**
   * Proves this workload's service to the control plane, for its first certificate and its calls
   * until then (MESH_JOIN_TOKEN or MESH_JOIN_TOKEN_FILE). Without one this proxy has no mTLS identity,
   * and a control plane that requires credentials refuses it.
   */
  join?: JoinCredential;
  /**
   * Where the last good config is kept. At start, when the file exists, the proxy serves from it
   * until the control plane answers; every applied push rewrites it.
   */
  bootstrapFile?: string;
}

export class MeshRuntime {
  readonly dataPlane: DataPlane;
  readonly metrics: MeshMetrics;
  readonly accessLog: AccessLog;
  readonly log: Logger;
  private leaving = false;
  private cp?: ControlPlaneClient;
  private admin?: Server;
  private readonly identity?: WorkloadIdentity;
  private readonly access: ControlPlaneAccess;
  private readonly credentialListeners: ((c: Credentials) => void)[] = [];
  adminPort = 0;

  constructor(private readonly opts: MeshRuntimeOptions) {
    this.log = opts.logger ?? pino({ base: { service: opts.service, instance: opts.instance, component: 'mesh' } });
    this.metrics = new MeshMetrics({ service: opts.service, instance: opts.instance });
    this.accessLog = new AccessLog({ service: opts.service, instance: opts.instance });
    const observers = [this.metrics, this.accessLog];
    this.dataPlane = new DataPlane({
      observers: () => observers,
      onListenerChange: (listeners) => {
        const own = listeners.find((l) => l.name === (this.opts.mode === 'edge' ? 'edge' : 'outbound'));
        if (own) this.accessLog.configure(own.accessLog);
      },
    });
    this.metrics.observe(this.dataPlane.events);
    // Once per change of the set, not per request: which endpoints STRICT mTLS keeps this proxy from using.
    this.dataPlane.events.on('plaintext-endpoints', ({ cluster, instances }) => {
      if (instances.length > 0) {
        this.log.warn({ cluster, endpoints: instances }, 'mTLS is STRICT: endpoints registered without mTLS are left out and never sent plaintext');
      } else this.log.info({ cluster }, 'no endpoint is left out for lacking mTLS any more');
    });
    this.access = new ControlPlaneAccess(opts.join, () => this.identity?.current());
    if (opts.join) {
      this.identity = new WorkloadIdentity({ service: opts.service, controlPlaneUrls: opts.controlPlaneUrls, join: opts.join, access: this.access });
      this.identity.on('change', (c) => {
        this.dataPlane.setCredentials(c);
        this.dataPlane.events.emit('certificate', { notAfter: c.notAfter, issuedAt: c.issuedAt });
        for (const l of this.credentialListeners) l(c);
        // The control plane shows certificate expiry (meshctl status): tell it at once.
        this.cp?.heartbeatNow();
        this.log.info({ spiffeId: c.spiffeId, keyType: c.keyType, notAfter: c.notAfter }, 'workload certificate in use');
      });
      this.identity.on('error', (err) => this.log.warn({ err }, 'workload certificate renewal failed; keeping the current one'));
    }
    // After the identity: whether a saved STRICT config can be served depends on it.
    this.loadBootstrap();
  }

  /**
   * A control plane that just (re)started knows only the proxies that have re-registered so far;
   * until a lease has passed it marks its endpoint lists incomplete. Those add and update
   * endpoints but remove none, so a control-plane restart never empties a destination.
   */
  /** Starts from the last good config on disk, if any (the control plane may be unreachable). */
  private loadBootstrap(): void {
    const file = this.opts.bootstrapFile;
    if (!file || !existsSync(file)) return;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { resources: ResourcesSnapshot; endpoints: EndpointsSnapshot };
      this.refuseUnservable(saved.resources);
      this.dataPlane.applyResources(saved.resources);
      this.dataPlane.applyEndpoints(saved.endpoints);
      this.log.info({ file, version: saved.resources.version }, 'serving from the bootstrap file until the control plane answers');
    } catch (err) {
      this.log.warn({ err, file }, 'bootstrap file unusable; waiting for the control plane');
    }
  }

  private saveBootstrap(): void {
    const file = this.opts.bootstrapFile;
    const dump = this.dataPlane.dump() as { resources: ResourcesSnapshot | null; endpoints: EndpointsSnapshot | null };
    if (!file || !dump.resources || !dump.endpoints) return;
    try {
      mkdirSync(dirname(file), { recursive: true });
      // Whole or not at all: a crash mid-write must not leave a half file to start from.
      writeFileSync(`${file}.tmp`, JSON.stringify({ resources: dump.resources, endpoints: dump.endpoints }));
      renameSync(`${file}.tmp`, file);
    } catch (err) {
      this.log.warn({ err, file }, 'could not save the bootstrap file');
    }
  }

  private onEndpoints(s: EndpointsSnapshot, complete: boolean): void {
    if (complete || !this.dataPlane.ready()) {
      this.dataPlane.applyEndpoints(s);
      this.saveBootstrap();
      return;
    }
    const current = (this.dataPlane.dump() as { endpoints: EndpointsSnapshot | null }).endpoints?.clusters ?? {};
    const merged: EndpointsSnapshot['clusters'] = { ...current };
    for (const [cluster, list] of Object.entries(s.clusters)) {
      const byInstance = new Map((current[cluster] ?? []).map((e) => [e.instance, e]));
      for (const e of list) byInstance.set(e.instance, e);
      merged[cluster] = [...byInstance.values()];
    }
    this.dataPlane.applyEndpoints({ version: s.version, clusters: merged });
    this.saveBootstrap();
  }

  /** New workload certificates (first and renewed), for listeners that serve mTLS. */
  onCredentials(listener: (c: Credentials) => void): void {
    this.credentialListeners.push(listener);
    const current = this.identity?.current();
    if (current) listener(current);
  }

  /** This proxy can get a workload certificate (it was given the credential to ask for one). */
  hasIdentity(): boolean {
    return this.identity !== undefined;
  }

  /**
   * A proxyless app serves the mesh's inbound mTLS itself, with its workload certificate. Without a
   * way to get one it cannot, so it refuses (NACKs) a STRICT config, which then never comes into
   * force here: it says so at start-up rather than take traffic it could only refuse or, worse,
   * serve in plaintext.
   */
  private refuseUnservable(s: ResourcesSnapshot): void {
    if (this.opts.mode !== 'proxyless' || this.identity || s.resources.mtls.mode !== 'STRICT') return;
    const why =
      'mTLS mode is STRICT, and this proxyless instance has no credential to get the workload certificate it must serve mTLS with ' +
      '(MESH_JOIN_TOKEN or MESH_JOIN_TOKEN_FILE); refusing the config rather than serving plaintext';
    this.log.error({ version: s.version }, why);
    throw new ResourcesRejectedError(why);
  }

  /** Config in force, and a certificate when mTLS is on and this proxy can have one. */
  ready(): boolean {
    if (!this.dataPlane.ready()) return false;
    return this.dataPlane.mtls().mode === 'DISABLE' || !this.identity || this.dataPlane.hasCredentials();
  }

  async startAdmin(): Promise<string> {
    this.admin = adminListener(this.dataPlane, this.metrics, {
      status: () => ({
        service: this.opts.service,
        instance: this.opts.instance,
        mode: this.opts.mode,
        controlPlane: this.cp?.status() ?? null,
        identity: this.identity?.current()
          ? { spiffeId: this.identity.current()!.spiffeId, keyType: this.identity.current()!.keyType, notAfter: this.identity.current()!.notAfter }
          : null,
      }),
      ready: () => this.ready(),
      drain: () => this.leave(),
      draining: () => this.leaving,
    });
    const { host, port, advertiseHost } = this.opts.admin;
    this.adminPort = await listen(this.admin, host, port);
    const wildcard = host === '0.0.0.0' || host === '::';
    return `http://${wildcard && advertiseHost ? advertiseHost : host}:${this.adminPort}`;
  }

  /** Registers with the control plane; `endpointUrl` is where peers send this instance mesh traffic. */
  connect(adminUrl: string, endpointUrl?: string, h2cEndpointUrl?: string, mtls = false): void {
    this.cp = new ControlPlaneClient({
      urls: this.opts.controlPlaneUrls,
      registration: {
        service: this.opts.service,
        instance: this.opts.instance,
        mode: this.opts.mode,
        adminUrl,
        ...(endpointUrl ? { endpointUrl } : {}),
        ...(h2cEndpointUrl ? { h2cEndpointUrl } : {}),
        ...(mtls ? { mtls } : {}),
        labels: this.opts.labels ?? {},
      },
      onResources: (s) => {
        this.refuseUnservable(s);
        this.dataPlane.applyResources(s);
        this.saveBootstrap();
        this.log.info({ version: s.version, profile: s.resources.profile }, 'applied resources');
        // mTLS on: make sure this workload has a certificate of the configured key type.
        if (s.resources.mtls.mode !== 'DISABLE' && this.identity) {
          this.identity
            .ensure(s.resources.mtls.keyType, s.resources.mtls.trustEpoch)
            .catch((err: Error) => this.log.error({ err }, 'could not get a workload certificate'));
        }
      },
      onEndpoints: (s, complete) => this.onEndpoints(s, complete),
      onRejected: (kind, version) => this.dataPlane.events.emit('config-rejected', { kind, version }),
      versions: () => ({
        ...this.dataPlane.versions(),
        certNotAfter: this.identity?.current()?.notAfter.toISOString(),
        trustEpoch: this.identity?.current()?.trustEpoch,
      }),
      heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
      access: this.access,
      log: { info: (m) => this.log.info(m), warn: (m) => this.log.warn(m) },
    });
    this.cp.start();
  }

  /** Resolves once the first resources and endpoints have arrived. */
  async waitReady(timeoutMs = 15_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.dataPlane.ready()) {
      if (Date.now() > until) throw new Error(`no config from the control plane within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * Leaves the mesh: deregisters (peers stop sending) and stops taking config, while the listeners
   * keep serving what is in flight or already on its way. One-way: a pod's preStop (POST /drain)
   * or the start of a shutdown.
   */
  async leave(): Promise<void> {
    this.leaving = true;
    await this.cp?.stop();
  }

  async close(): Promise<void> {
    this.identity?.stop();
    await this.cp?.stop();
    await this.access.close();
    if (this.admin) await closeServer(this.admin);
    await this.accessLog.flush();
    await this.dataPlane.close();
  }
}
