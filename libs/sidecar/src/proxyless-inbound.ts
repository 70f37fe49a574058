// Proxyless services' inbound side: the same inbound policies (authorization, rate limit, telemetry) as Fastify hooks.
import type { FastifyInstance } from 'fastify';
import { MeshError } from './errors';
import { authzLayer } from './layers/authz-layer';
import { rateLimitLayer } from './layers/rate-limit-layer';
import { SOURCE_HEADER } from './listeners';
import type { MeshRuntime } from './mesh-runtime';
import type { MeshRequest } from './types';

/**
 * With no sidecar in front of it, a proxyless app measures and rate-limits its own inbound
 * traffic. The checks are the sidecar's own layers, run against the request before the route
 * handler; the record is written when the response is sent. (Deadlines are already honoured by
 * the service kit's request context.)
 */
export function installProxylessInbound(app: FastifyInstance, runtime: MeshRuntime, service: string): void {
  const limit = rateLimitLayer(service, () => runtime.dataPlane.routeTable());
  const authz = authzLayer(() => runtime.dataPlane.authorization(), runtime.dataPlane.events);
  // Authorization first, then the rate limit: the sidecar's inbound order.
  const admit = authz(limit(() => Promise.resolve(undefined as never)));
  const observers = [runtime.metrics, runtime.accessLog];

  app.addHook('onRequest', async (request, reply) => {
    const req: MeshRequest = {
      method: request.method,
      path: request.url,
      headers: request.headers,
      body: null,
      ctx: { direction: 'inbound', srcService: String(request.headers[SOURCE_HEADER] ?? 'unknown'), dstService: service },
    };
    try {
      await admit(req);
    } catch (err) {
      if (!(err instanceof MeshError)) throw err;
      return reply
        .code(err.statusCode)
        .headers({ ...err.headers, 'x-meshcart-error': err.code })
        .send({ error: { code: err.code, message: err.message } });
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    const record = {
      direction: 'inbound' as const,
      srcService: String(request.headers[SOURCE_HEADER] ?? 'unknown'),
      dstService: service,
      route: runtime.dataPlane.routeTable().match(service, request.method, request.url, request.headers)?.name ?? '',
      method: request.method,
      path: request.url,
      statusCode: reply.statusCode,
      durationSeconds: reply.elapsedTime / 1000,
    };
    for (const o of observers) o.onRequestEnd(record);
  });
}
