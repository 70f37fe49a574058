// Proxyless services' inbound front: the mesh port served by the app itself (mTLS, the caller proven by its certificate), and the sidecar's inbound admission and telemetry run by the app.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { MeshError, MtlsRequiredError } from '../core/errors';
import type { Handler } from '../core/types';
import type { RequestRecord } from '../policies/telemetry/telemetry-layer';
import type { MeshRuntime } from '../runtime/mesh-runtime';
import { buildProxylessAdmission } from '../tiers/inbound';
import { errorAnswer, type ErrorAnswer } from './error-response';
import { InboundServer } from './inbound-server';
import { callerOf, meshRequest, PLAINTEXT, principalOf, type PeerIdentity } from './request';

/**
 * Paths probed on the app's own port (kubelet, the launcher, an operator), answered without the mesh:
 * they are not mesh traffic, as a sidecar's app is probed on its own port too.
 */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

function isProbe(url: string): boolean {
  const q = url.indexOf('?');
  return PROBE_PATHS.has(q === -1 ? url : url.slice(0, q));
}

/**
 * With no sidecar in front of it, a proxyless app terminates the mesh's mTLS and admits, measures and
 * rate-limits its own inbound traffic. `listen` serves the mesh port (what the instance registers as
 * its endpoint): mTLS and plaintext on one port as a sidecar's inbound port, STRICT refusing
 * plaintext, each request handed to the app's own request handler with the identity its connection
 * proved. The app's server asks `admit` before the route handler runs and calls `record` once the
 * response is sent, for requests from either port. Framework glue (the Fastify hooks) lives with the
 * service kit's mesh join.
 */
export class ProxylessInbound {
  private readonly admission: Handler;
  /** Requests that came in through the mesh port, with what their connection proved. */
  private readonly viaMesh = new WeakMap<object, PeerIdentity>();
  private server?: InboundServer;

  constructor(
    private readonly runtime: MeshRuntime,
    private readonly service: string,
  ) {
    const dataPlane = runtime.dataPlane;
    this.admission = buildProxylessAdmission({
      service,
      routes: () => dataPlane.routeTable(),
      authorization: () => dataPlane.authorization(),
      configured: () => dataPlane.configured(),
      events: dataPlane.events,
    });
  }

  /**
   * Serves the mesh port on host:port (0: any free port) with this workload's certificate (renewals
   * apply to new connections), handing every request it accepts to `app`. Resolves to the port.
   */
  listen(app: (req: IncomingMessage, res: ServerResponse) => void, host: string, port: number): Promise<number> {
    const dataPlane = this.runtime.dataPlane;
    const server = new InboundServer(
      (req, res, peer) => {
        this.viaMesh.set(req, peer);
        app(req, res);
      },
      () => dataPlane.mtls(),
      (reason) => dataPlane.events.emit('tls-handshake-failed', { reason }),
    );
    this.server = server;
    this.runtime.onCredentials((c) => server.setCredentials(c));
    return server.listen(host, port);
  }

  /** Stops accepting on the mesh port; requests in flight finish, idle connections close now. */
  async close(): Promise<void> {
    await this.server?.close();
  }

  /**
   * Undefined when the request may go on; otherwise the answer that refuses it (403, 429, …), as a
   * sidecar would give it. `raw` is the request as node:http delivered it. One that came through the
   * mesh port is admitted on what its connection proved. One on the app's own port is a probe (let
   * through), or, under STRICT, refused (it would bypass mTLS), or else admitted as a plaintext caller,
   * which authorization does not know.
   */
  async admit(method: string, url: string, headers: IncomingHttpHeaders, raw?: object): Promise<ErrorAnswer | undefined> {
    const peer = raw === undefined ? undefined : this.viaMesh.get(raw);
    if (peer === undefined) {
      if (isProbe(url)) return undefined;
      if (this.runtime.dataPlane.mtls().mode === 'STRICT') {
        return errorAnswer(
          new MtlsRequiredError(`${this.service} accepts only mTLS (PeerAuthentication STRICT): call it through the mesh, on its mesh port`),
        );
      }
    }
    const from = peer ?? PLAINTEXT;
    try {
      const arrival = { method, path: url, headers, body: null };
      await this.admission(meshRequest('inbound', callerOf(headers, from), this.service, arrival, principalOf(from)));
      return undefined;
    } catch (err) {
      if (!(err instanceof MeshError)) throw err;
      return errorAnswer(err);
    }
  }

  /** Tells the proxy's observers (metrics, access log) of a request the app has answered; probes on the app's own port are not mesh traffic. */
  record(method: string, url: string, headers: IncomingHttpHeaders, statusCode: number, durationSeconds: number, raw?: object): void {
    const peer = raw === undefined ? undefined : this.viaMesh.get(raw);
    if (peer === undefined && isProbe(url)) return;
    const route = this.runtime.dataPlane.routeTable().match(this.service, method, url, headers);
    const record: RequestRecord = {
      direction: 'inbound',
      srcService: callerOf(headers, peer ?? PLAINTEXT),
      dstService: this.service,
      route: route?.name ?? '',
      method,
      path: url,
      statusCode,
      durationSeconds,
    };
    this.runtime.metrics.onRequestEnd(record);
    this.runtime.accessLog.onRequestEnd(record);
  }
}
