// Replicas (replicas.ts): batches from peers, and this replica's view of them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { PeerBatch, PeersView } from '@meshcart/control-plane-api';
import type { Replicas } from '../replicas';
import { requireBootstrapToken } from './bootstrap-token';
import { guarded } from './guarded';

export interface PeersPluginOptions {
  replicas: Replicas;
  bootstrapToken: string;
}

export const peersPlugin: FastifyPluginAsyncTypebox<PeersPluginOptions> = async (app, { replicas, bootstrapToken }) => {
  app.post(
    '/api/v1/peers/events',
    {
      schema: { body: PeerBatch },
      bodyLimit: 64 * 1024 * 1024,
      logLevel: 'warn',
      // Before the body is even validated: a caller without the token learns nothing of the schema.
      preValidation: requireBootstrapToken(
        bootstrapToken,
        'peer replicas present the bootstrap token (Authorization: Bearer <MESH_BOOTSTRAP_TOKEN>)',
      ),
    },
    async (req) => guarded(() => replicas.receive(req.body)),
  );

  app.get('/api/v1/peers', { schema: { response: { 200: PeersView } } }, async () => replicas.status());
};
