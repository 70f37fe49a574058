// A proxyless Fastify app's inbound side: the mesh's admission (authorization, rate limit) and telemetry as Fastify hooks.
import { ProxylessInbound, type MeshRuntime } from '@meshcart/sidecar';
import type { FastifyInstance } from 'fastify';

/**
 * With no sidecar in front of it, a proxyless app runs the sidecar's inbound checks itself, against
 * each request before the route handler, and writes the record when the response is sent. Requests
 * reach the app on its mesh port (ProxylessInbound.listen, mTLS: the caller is its certificate) or on
 * its own port (probes; anything else is refused under STRICT). (Deadlines are already honoured by
 * the service kit's request context.)
 */
export function installProxylessInbound(app: FastifyInstance, runtime: MeshRuntime, service: string): ProxylessInbound {
  const inbound = new ProxylessInbound(runtime, service);

  app.addHook('onRequest', async (request, reply) => {
    const refused = await inbound.admit(request.method, request.url, request.headers, request.raw);
    if (refused) return reply.code(refused.statusCode).headers(refused.headers).send(refused.body);
  });

  app.addHook('onResponse', async (request, reply) => {
    inbound.record(request.method, request.url, request.headers, reply.statusCode, reply.elapsedTime / 1000, request.raw);
  });
  return inbound;
}
