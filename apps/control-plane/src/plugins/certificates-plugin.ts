// Identity: a workload with the bootstrap token gets a short-lived certificate for its service's SPIFFE ID; anyone gets the root.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CertificateRequest } from '@meshcart/control-plane-api';
import { durationMs } from '@meshcart/mesh-config';
import { HttpError } from '@meshcart/service-kit';
import { CsrRejectedError, spiffeId, type CertificateAuthority } from '../certificate-authority';
import type { ConfigStore } from '../config-store';
import { requireBootstrapToken } from './bootstrap-token';

export interface CertificatesPluginOptions {
  store: ConfigStore;
  /** Loaded when the control plane gets ready, before it serves anything. */
  ca: () => CertificateAuthority;
  bootstrapToken: string;
}

export const certificatesPlugin: FastifyPluginAsyncTypebox<CertificatesPluginOptions> = async (app, { store, ca, bootstrapToken }) => {
  // After the body is validated, as ever: a malformed request is told so with or without the token.
  const preHandler = requireBootstrapToken(bootstrapToken, 'a valid bootstrap token is required (Authorization: Bearer <MESH_BOOTSTRAP_TOKEN>)');
  app.post('/api/v1/certificates', { schema: { body: CertificateRequest }, preHandler }, async (req) => {
    const { config } = store.current();
    const id = spiffeId(config.spec.trustDomain ?? 'meshcart.local', config.spec.namespace ?? 'default', req.body.service);
    try {
      return await ca().issue(req.body.csr, id, durationMs(config.spec.mtls?.certTtl ?? '24h'));
    } catch (err) {
      if (err instanceof CsrRejectedError) throw new HttpError(400, err.code, err.message);
      throw err;
    }
  });

  app.get('/api/v1/ca', async (_req, reply) => reply.type('application/x-pem-file').send(ca().rootPem));
};
