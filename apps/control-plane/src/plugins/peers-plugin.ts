// Replicas (replicas.ts): batches from peers, proven by their certificates, and this replica's view of them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { PeerBatch, PeersView } from '@meshcart/control-plane-api';
import type { Auth } from '../auth/auth';
import type { Replicas } from '../replicas';
import { guarded } from './guarded';

export interface PeersPluginOptions {
  replicas: Replicas;
  auth: Auth;
}

export const peersPlugin: FastifyPluginAsyncTypebox<PeersPluginOptions> = async (app, { replicas, auth }) => {
  app.post(
    '/api/v1/peers/events',
    {
      schema: { body: PeerBatch },
      bodyLimit: 64 * 1024 * 1024,
      logLevel: 'warn',
      // Before the body is even validated: a caller that is not a replica learns nothing of the schema.
      preValidation: auth.replicaOnly('peer events'),
    },
    async (req) => guarded(() => replicas.receive(req.body)),
  );

  app.get('/api/v1/peers', { schema: { response: { 200: PeersView } }, preValidation: auth.reader('the peers view') }, async () => replicas.status());
};
