// The gateway: the public HTTP API, routed by path to services through the mesh (the data plane in edge mode).
import { createServiceApp, type ServiceAppOptions } from '@meshcart/service-kit';
import { serveEdge, type MeshRuntime } from '@meshcart/sidecar';
import type { FastifyInstance } from 'fastify';

export interface GatewayOptions {
  /** The mesh runtime in edge mode, already connected to the control plane. */
  mesh: MeshRuntime;
  logger?: ServiceAppOptions['logger'];
}

/** Proxied routes must see the body as a stream, so this scope has no body parsers of its own. */
async function edgeRoutes(app: FastifyInstance, opts: { mesh: MeshRuntime }) {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));
  app.all('/api/*', (request, reply) => {
    reply.hijack();
    serveEdge(opts.mesh.dataPlane.edge, request.raw, reply.raw, { 'x-request-id': request.id });
  });
}

export function buildApp(opts: GatewayOptions) {
  const app = createServiceApp({ name: 'gateway', logger: opts.logger });
  app.addReadinessCheck('mesh', () => opts.mesh.ready());
  app.get('/', async () => ({
    name: 'MeshCart gateway',
    api: [
      'POST /api/users',
      'POST /api/sessions',
      'GET /api/users/me',
      'GET /api/products',
      'GET /api/products/:id',
      'POST /api/orders',
      'GET /api/orders',
      'GET /api/orders/:id',
    ],
  }));
  void app.register(edgeRoutes, { mesh: opts.mesh });
  return app;
}
