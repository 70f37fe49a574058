// How a service joins the mesh in its mode: the client it calls others with, and, proxyless, the mesh in-process.
import { MeshClient, portInUseMessage, runService, type ServiceEnv, type ServiceMeshEnv } from '@meshcart/service-kit';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { MeshDispatcher, MeshRuntime, type ProxylessInbound } from '@meshcart/sidecar';
import { installProxylessInbound } from './proxyless-inbound';

export class ServiceMesh {
  readonly client: MeshClient;
  readonly runtime?: MeshRuntime;
  /** Proxyless: the app's mesh port (mTLS) and its inbound checks. */
  private inbound?: { front: ProxylessInbound; app: FastifyInstance };

  constructor(
    private readonly env: ServiceMeshEnv,
    logger?: Logger,
  ) {
    // Off, the service still registers so the gateway can find it (discovery, as a Kubernetes
    // Service gives); its own calls go straight to MESH_UPSTREAMS with no mesh in between.
    if (env.mode === 'proxyless' || env.mode === 'off') {
      this.runtime = new MeshRuntime({
        service: env.service,
        instance: env.instance,
        mode: env.mode,
        controlPlaneUrls: env.controlPlaneUrls,
        admin: { host: env.adminHost, port: env.adminPort, advertiseHost: env.advertiseHost },
        labels: env.labels,
        ...(logger ? { logger } : {}),
        // Its own join credential: to register, and (proxyless) to get the certificate it presents to peers.
        ...(env.join ? { join: env.join } : {}),
      });
      this.client =
        env.mode === 'proxyless'
          ? new MeshClient({ ...env, dispatcher: new MeshDispatcher(this.runtime.dataPlane, env.service) })
          : new MeshClient(env);
    } else {
      this.client = new MeshClient(env);
    }
  }

  /**
   * Wires the mesh into the app before it listens: readiness follows the mesh config, the
   * instance leaves the mesh before it stops serving, and, proxyless, the inbound policies run in
   * the app itself. Proxyless, its mesh port drains before the app closes: requests in flight there
   * finish while the app can still answer them.
   */
  attach(app: FastifyInstance): void {
    app.addReadinessCheck('mesh', () => this.ready());
    app.addHook('preClose', async () => {
      await this.leave();
      await this.inbound?.front.close();
    });
    if (this.env.mode === 'proxyless') this.inbound = { front: installProxylessInbound(app, this.runtime!, this.env.service), app };
  }

  /** Attaches the mesh, listens, and on shutdown leaves the mesh and closes it: a service's whole main. */
  async run(app: FastifyInstance, env: Pick<ServiceEnv, 'host' | 'port'>): Promise<number> {
    this.attach(app);
    return runService(app, {
      name: this.env.service,
      host: env.host,
      port: env.port,
      onListening: (port) => this.joined(port),
      afterClose: () => this.close(),
    });
  }

  /**
   * Called once the app listens. Proxyless, the app serves the mesh port itself (mTLS, as a sidecar's
   * inbound port: MESH_INBOUND_PORT) and registers it as its endpoint, offering mTLS when it can
   * have a certificate; the app's own port then serves probes only under STRICT. Off, the app's own
   * address is the endpoint (plaintext: no mesh). In sidecar mode the sidecar registers its inbound
   * listener.
   */
  async joined(appPort: number): Promise<Record<string, number>> {
    if (!this.runtime) return {};
    const adminUrl = await this.runtime.startAdmin();
    if (!this.inbound) {
      this.runtime.connect(adminUrl, `http://${this.env.advertiseHost}:${appPort}`);
      return { admin: this.runtime.adminPort };
    }
    const { front, app } = this.inbound;
    const { inboundHost, inboundPort } = this.env;
    const port = await front
      .listen((req, res) => app.routing(req, res), inboundHost, inboundPort)
      .catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EADDRINUSE' ? new Error(portInUseMessage(inboundPort, inboundHost, 'MESH_INBOUND_PORT')) : err;
      });
    this.runtime.connect(adminUrl, `http://${this.env.advertiseHost}:${port}`, undefined, this.runtime.hasIdentity());
    return { admin: this.runtime.adminPort, inbound: port };
  }

  /** For /readyz: proxyless, ready once the mesh config has arrived; otherwise always. */
  ready(): boolean {
    return this.env.mode === 'proxyless' ? this.runtime!.ready() : true;
  }

  /** Leaves the mesh before the app stops serving, so peers stop picking this instance first. */
  async leave(): Promise<void> {
    await this.runtime?.leave();
  }

  async close(): Promise<void> {
    await this.inbound?.front.close();
    await this.client.close();
    await this.runtime?.close();
  }
}
