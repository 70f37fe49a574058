// Proxyless services' inbound front: the sidecar's inbound admission (authorization, rate limit) and telemetry, run by the app itself.
import type { IncomingHttpHeaders } from 'node:http';
import { MeshError } from '../core/errors';
import type { Handler } from '../core/types';
import type { RequestRecord } from '../policies/telemetry/telemetry-layer';
import type { MeshRuntime } from '../runtime/mesh-runtime';
import { buildProxylessAdmission } from '../tiers/inbound';
import { errorAnswer, type ErrorAnswer } from './error-response';
import { callerOf, meshRequest, PLAINTEXT } from './request';

/**
 * With no sidecar in front of it, a proxyless app admits, measures and rate-limits its own inbound
 * traffic: its HTTP server asks `admit` before the route handler runs and calls `record` once the
 * response is sent. Framework glue (the Fastify hooks) lives with the service kit's mesh join.
 */
export class ProxylessInbound {
  private readonly admission: Handler;

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

  /** Undefined when the request may go on; otherwise the answer that refuses it (403, 429, …), as a sidecar would give it. */
  async admit(method: string, url: string, headers: IncomingHttpHeaders): Promise<ErrorAnswer | undefined> {
    try {
      // Still plaintext only, so the caller is what it claims: until the app serves the mesh's mTLS itself.
      const caller = callerOf(headers, PLAINTEXT);
      await this.admission(meshRequest('inbound', caller, this.service, { method, path: url, headers, body: null }, caller));
      return undefined;
    } catch (err) {
      if (!(err instanceof MeshError)) throw err;
      return errorAnswer(err);
    }
  }

  /** Tells the proxy's observers (metrics, access log) of a request the app has answered. */
  record(method: string, url: string, headers: IncomingHttpHeaders, statusCode: number, durationSeconds: number): void {
    const route = this.runtime.dataPlane.routeTable().match(this.service, method, url, headers);
    const record: RequestRecord = {
      direction: 'inbound',
      srcService: callerOf(headers, PLAINTEXT),
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
