// A sidecar: outbound and inbound listeners beside one app instance, driven by the control plane.
import type { Server } from 'node:http';
import type { Http2Server } from 'node:http2';
import type { Logger } from 'pino';
import { closeH2cServer, inboundH2cListener } from '../fronts/inbound-h2c';
import { inboundHandler, InboundServer } from '../fronts/inbound-server';
import { outboundListener } from '../fronts/outbound-listener';
import type { JoinCredential } from '../control/control-plane-access';
import { Inbound } from '../tiers/inbound';
import { MeshRuntime } from './mesh-runtime';
import { closeServer, listen } from './servers';

export interface SidecarOptions {
  service: string;
  instance: string;
  /** The local app, e.g. http://127.0.0.1:3004 */
  appUrl: string;
  controlPlaneUrls: string[];
  /** Outbound binds here, and admin unless adminHost is set (loopback: only the app beside us may use them). */
  host?: string;
  /** Admin (metrics, readiness, config dump: all read-only) binds here; 0.0.0.0 in containers so Prometheus can scrape. */
  adminHost?: string;
  /** Inbound binds here: peers reach it. */
  inboundHost?: string;
  /** The address peers use for the inbound listener, when it differs from inboundHost (0.0.0.0 in containers). */
  advertiseHost?: string;
  inboundPort?: number;
  /** HTTP/2 cleartext inbound, for peers that upgrade (h2UpgradePolicy: UPGRADE). */
  inboundH2cPort?: number;
  outboundPort?: number;
  adminPort?: number;
  labels?: Record<string, string>;
  logger?: Logger;
  heartbeatIntervalMs?: number;
  /** Proves this workload's service to the control plane (MESH_JOIN_TOKEN or MESH_JOIN_TOKEN_FILE). */
  join?: JoinCredential;
  /** Last good config on disk: served from at start when the control plane is unreachable. */
  bootstrapFile?: string;
}

export interface SidecarPorts {
  inbound: number;
  inboundH2c: number;
  outbound: number;
  admin: number;
}

export class Sidecar {
  readonly runtime: MeshRuntime;
  private readonly inbound: Inbound;
  private readonly servers: Server[] = [];
  private h2c?: Http2Server;
  private inboundServer?: InboundServer;

  constructor(private readonly opts: SidecarOptions) {
    this.runtime = new MeshRuntime({
      service: opts.service,
      instance: opts.instance,
      mode: 'sidecar',
      controlPlaneUrls: opts.controlPlaneUrls,
      admin: {
        host: opts.adminHost ?? opts.host ?? '127.0.0.1',
        port: opts.adminPort ?? 0,
        ...(opts.advertiseHost ? { advertiseHost: opts.advertiseHost } : {}),
      },
      labels: opts.labels,
      logger: opts.logger,
      heartbeatIntervalMs: opts.heartbeatIntervalMs,
      ...(opts.join ? { join: opts.join } : {}),
      ...(opts.bootstrapFile ? { bootstrapFile: opts.bootstrapFile } : {}),
    });
    const dataPlane = this.runtime.dataPlane;
    this.inbound = new Inbound(opts.appUrl, () => [this.runtime.metrics, this.runtime.accessLog], {
      service: opts.service,
      routes: () => dataPlane.routeTable(),
      authorization: () => dataPlane.authorization(),
      configured: () => dataPlane.configured(),
      events: dataPlane.events,
    });
  }

  async start(): Promise<SidecarPorts> {
    const host = this.opts.host ?? '127.0.0.1';
    const inboundHost = this.opts.inboundHost ?? host;
    const dataPlane = this.runtime.dataPlane;
    this.inboundServer = new InboundServer(
      inboundHandler(this.opts.service, this.inbound),
      () => dataPlane.mtls(),
      (reason) => dataPlane.events.emit('tls-handshake-failed', { reason }),
    );
    this.runtime.onCredentials((c) => this.inboundServer!.setCredentials(c));
    const outbound = outboundListener(this.opts.service, dataPlane);
    this.servers.push(outbound);
    this.h2c = inboundH2cListener(this.opts.service, this.inbound, () => dataPlane.mtls().mode === 'STRICT');
    const ports: SidecarPorts = {
      inbound: await this.inboundServer.listen(inboundHost, this.opts.inboundPort ?? 0),
      inboundH2c: await listen(this.h2c, inboundHost, this.opts.inboundH2cPort ?? 0),
      outbound: await listen(outbound, host, this.opts.outboundPort ?? 0),
      admin: 0,
    };
    const adminUrl = await this.runtime.startAdmin();
    ports.admin = this.runtime.adminPort;
    const advertise = this.opts.advertiseHost ?? inboundHost;
    this.runtime.connect(adminUrl, `http://${advertise}:${ports.inbound}`, `http://${advertise}:${ports.inboundH2c}`, true);
    return ports;
  }

  /** Deregisters, then drains: requests in flight finish before the listeners close. */
  async stop(): Promise<void> {
    await this.runtime.leave();
    await Promise.all([...this.servers.map(closeServer), this.inboundServer?.close(), this.h2c ? closeH2cServer(this.h2c) : undefined]);
    await this.inbound.close();
    await this.runtime.close();
  }
}
