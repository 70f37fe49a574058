// Workload identity (POST /api/v1/certificates): a CSR for a service, answered with a short-lived certificate for its SPIFFE ID.
import { ServiceName } from '@meshcart/mesh-config';
import { Type, type Static } from '@sinclair/typebox';

export const CertificateRequest = Type.Object(
  { service: ServiceName, csr: Type.String({ minLength: 1, maxLength: 20_000 }) },
  { additionalProperties: false },
);
export type CertificateRequest = Static<typeof CertificateRequest>;

export const IssuedCertificate = Type.Object({
  certificatePem: Type.String(),
  /** The roots workload certificates chain to (one, or two during a root rotation): what peers are verified against. */
  caPem: Type.String(),
  spiffeId: Type.String(),
  /** ISO time; the workload renews at two thirds of the lifetime. */
  notAfter: Type.String(),
  /** The CA's roots this certificate and bundle belong to (see the resources' mtls.trustEpoch). */
  trustEpoch: Type.Optional(Type.String()),
});
export type IssuedCertificate = Static<typeof IssuedCertificate>;
