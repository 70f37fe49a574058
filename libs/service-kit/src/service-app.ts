// The Fastify instance every MeshCart service starts from: logging, validation, errors, health.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyServerOptions } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { DEADLINE_HEADER, parseDeadlineMs, traceIdOf, TRACEPARENT_HEADER, withRequestContext } from './request-context';
import { installErrorHandling } from './errors';
import { trackConnections } from './graceful-close';
import { installHealth } from './health';

export interface ServiceAppOptions {
  /** The service's one name (Nx project, image, mesh service, metric label). */
  name: string;
  /** pino options, or false for silence (tests). */
  logger?: FastifyServerOptions['logger'];
  /** Serve HTTPS with this key and certificate (PEM): for callers that speak only TLS, such as the Kubernetes API server calling a webhook. */
  tls?: { key: string; cert: string };
}

export function createServiceApp(options: ServiceAppOptions) {
  const app = Fastify({
    logger: options.logger ?? { level: 'info' },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Report every problem in a body at once, not only the first.
    ajv: { customOptions: { allErrors: true, coerceTypes: 'array', removeAdditional: false } },
    // Idle keep-alive sockets close at shutdown; requests in flight finish first.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // An https.Server serves the same request/response API; Fastify's types only know it through its own https option.
    ...(options.tls
      ? { serverFactory: (handler: Parameters<typeof createHttpsServer>[1]) => createHttpsServer(options.tls!, handler) as unknown as Server }
      : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.decorate('serviceName', options.name);
  installErrorHandling(app);
  installHealth(app);
  // A caller's deadline bounds every call this request makes in turn, and its trace continues
  // through them; the trace id is in every log line of the request.
  app.addHook('onRequest', (request, reply, done) => {
    const deadlineMs = parseDeadlineMs(request.headers[DEADLINE_HEADER]);
    const traceparent = request.headers[TRACEPARENT_HEADER];
    const traceId = traceIdOf(traceparent);
    // Both loggers: the handler logs through the request's, Fastify's "request completed" through the reply's.
    if (traceId) request.log = reply.log = request.log.child({ traceId });
    if (deadlineMs === undefined && !traceId) return done();
    withRequestContext({ ...(deadlineMs !== undefined ? { deadlineMs } : {}), ...(traceId ? { traceparent: traceparent as string } : {}) }, () =>
      done(),
    );
  });
  const connections = trackConnections(app.server);
  // Runs before Fastify closes the server: spare keep-alive sockets must not hold the close open.
  app.addHook('preClose', async () => connections.drain());
  return app;
}

export type ServiceApp = ReturnType<typeof createServiceApp>;

declare module 'fastify' {
  interface FastifyInstance {
    serviceName: string;
  }
}
