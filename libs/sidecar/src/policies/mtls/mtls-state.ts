// This proxy's mTLS state: the mesh's policy in force, our workload certificate, and client settings per destination.
import type { Endpoint, ProxyResources } from '@meshcart/mesh-config';
import type { Credentials } from '../../control/workload-identity';
import { PlaintextEndpointRefusedError } from '../../core/errors';
import type { ClientTls } from './client-tls';

export interface MtlsPolicy {
  mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE';
  keyType: 'RSA_2048' | 'ECDSA_P256';
  trustDomain: string;
  namespace: string;
}

const BEFORE_CONFIG: MtlsPolicy = Object.freeze({ mode: 'DISABLE', keyType: 'ECDSA_P256', trustDomain: 'meshcart.local', namespace: 'default' });

export class MtlsState {
  private mtlsPolicy: Readonly<MtlsPolicy> = BEFORE_CONFIG;
  private credentials?: Credentials;
  /**
   * Client TLS settings per destination, made once per certificate and config rather than per
   * request; the same object each time also lets the pool lookup skip rebuilding its key.
   */
  private readonly clientTlsOf = new Map<string, ClientTls>();

  /** The mesh's mTLS policy in force (DISABLE until config arrives). Read per connection and per request, so made once per push. */
  policy(): MtlsPolicy {
    return this.mtlsPolicy;
  }

  configure(resources: ProxyResources): void {
    this.mtlsPolicy = Object.freeze({ ...resources.mtls, trustDomain: resources.trustDomain, namespace: resources.namespace });
    this.clientTlsOf.clear();
  }

  /** This workload's certificate, for mTLS to peers (renewals replace it). */
  setCredentials(c: Credentials): void {
    this.credentials = c;
    this.clientTlsOf.clear();
  }

  hasCredentials(): boolean {
    return this.credentials !== undefined;
  }

  /** STRICT and no workload certificate yet: this proxy can send nothing, since it may send nothing in plaintext. */
  awaitingCertificate(): boolean {
    return this.mtlsPolicy.mode === 'STRICT' && this.credentials === undefined;
  }

  /**
   * For a request about to go to `e` without TLS: under STRICT, the error that stops it. The concrete
   * tier already leaves endpoints without mTLS out and the outbound tier waits for a certificate, so
   * this is the last check, where the connection is chosen: whatever led here, no plaintext leaves.
   */
  plaintextRefusal(cluster: string, e: Endpoint | undefined): PlaintextEndpointRefusedError | undefined {
    if (this.mtlsPolicy.mode !== 'STRICT') return undefined;
    const why = this.credentials ? 'the endpoint does not offer mTLS' : 'this proxy has no workload certificate yet';
    return new PlaintextEndpointRefusedError(
      `${cluster}: mTLS mode is STRICT and ${why}; nothing is sent to ${e?.instance ?? 'it'} (${e?.url ?? 'no address'}) in plaintext`,
    );
  }

  /** mTLS to this endpoint: when the mesh has it on, the endpoint offers it, and we have a certificate. */
  clientTls(cluster: string, e: Endpoint | undefined): ClientTls | undefined {
    const p = this.mtlsPolicy;
    const c = this.credentials;
    if (!c || p.mode === 'DISABLE' || !e?.mtls) return undefined;
    let tls = this.clientTlsOf.get(cluster);
    if (!tls) {
      tls = {
        cert: c.certPem,
        key: c.keyPem,
        ca: c.caPem,
        version: c.version,
        expectedId: `spiffe://${p.trustDomain}/ns/${p.namespace}/sa/${cluster}`,
      };
      this.clientTlsOf.set(cluster, tls);
    }
    return tls;
  }
}
