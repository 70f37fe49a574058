// Resolves each request's caller before anything else runs (see auth/auth.ts).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Auth } from '../auth/auth';

async function resolveCallers(app: FastifyInstance, { auth }: { auth: Auth }) {
  app.decorateRequest('caller', null as never);
  app.addHook('onRequest', async (req) => {
    req.caller = await auth.resolve(req);
  });
}

// Not encapsulated: every route of the app has its caller.
export const authPlugin = fp(resolveCallers, { name: 'auth', fastify: '5.x' });
