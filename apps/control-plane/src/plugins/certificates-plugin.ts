// Identity: a workload that proves its service (join credential, ServiceAccount token or its current certificate) gets a short-lived certificate for that service's SPIFFE ID; anyone gets the root.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CertificateRequest } from '@meshcart/control-plane-api';
import { durationMs } from '@meshcart/mesh-config';
import { HttpError } from '@meshcart/service-kit';
import * as x509 from '@peculiar/x509';
import type { Auth } from '../auth/auth';
import { CsrRejectedError, spiffeId, type CertificateAuthority } from '../certificate-authority';
import type { ConfigStore } from '../config-store';

export interface CertificatesPluginOptions {
  store: ConfigStore;
  /** Loaded when the control plane gets ready, before it serves anything. */
  ca: () => CertificateAuthority;
  auth: Auth;
}

export const certificatesPlugin: FastifyPluginAsyncTypebox<CertificatesPluginOptions> = async (app, { store, ca, auth }) => {
  // After the body is validated, as ever: a malformed request is told so with or without a credential.
  app.post('/api/v1/certificates', { schema: { body: CertificateRequest } }, async (req) => {
    // The certificate's identity is the caller's proven service, never the one the body names alone.
    auth.workloadOf(req, `a certificate for ${req.body.service}`, req.body.service);
    const { config } = store.current();
    const id = spiffeId(config.spec.trustDomain ?? 'meshcart.local', config.spec.namespace ?? 'default', req.body.service);
    try {
      const issued = await ca().issue(req.body.csr, id, durationMs(config.spec.mtls?.certTtl ?? '24h'));
      auth.issued(new x509.X509Certificate(issued.certificatePem).serialNumber, new Date(issued.notAfter), req.caller);
      return issued;
    } catch (err) {
      if (err instanceof CsrRejectedError) throw new HttpError(400, err.code, err.message);
      throw err;
    }
  });

  app.get('/api/v1/ca', async (_req, reply) => reply.type('application/x-pem-file').send(ca().rootPem));
};
