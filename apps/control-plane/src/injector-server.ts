// The sidecar injector's HTTPS listener: the Kubernetes API server posts an AdmissionReview for each
// new pod in a namespace the webhook configuration selects, and applies the JSON Patch it gets back.
import { createServiceApp, type ServiceAppOptions } from '@meshcart/service-kit';
import type { CertificateAuthority } from './certificate-authority';
import { AdmissionReviewBody, review, type InjectionSettings } from './sidecar-injector';

export interface InjectorOptions {
  host: string;
  port: number;
  /** Names the API server dials, e.g. control-plane.meshcart.svc: they go into the serving certificate. */
  dnsNames: string[];
  settings: InjectionSettings;
}

/** A serving certificate lives a year and is made anew at every start of the control plane. */
const SERVING_TTL_MS = 365 * 24 * 3_600_000;

export async function startInjector(ca: CertificateAuthority, opts: InjectorOptions, logger: ServiceAppOptions['logger']) {
  const { keyPem, certificatePem } = await ca.issueServing(opts.dnsNames, SERVING_TTL_MS);
  const app = createServiceApp({ name: 'sidecar-injector', logger, tls: { key: keyPem, cert: certificatePem } });
  app.post('/inject', { schema: { body: AdmissionReviewBody } }, async (req) => review(req.body, opts.settings));
  await app.listen({ host: opts.host, port: opts.port });
  return app;
}
