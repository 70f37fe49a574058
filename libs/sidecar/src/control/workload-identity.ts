// This workload's mTLS identity: a key made here, a certificate for its SPIFFE ID from the control plane, renewed at 2/3 of its life.
import { ContractCheck, IssuedCertificate, type CertificateRequest } from '@meshcart/control-plane-api';
import type { KeyType } from '@meshcart/mesh-config';
import * as x509 from '@peculiar/x509';
import { EventEmitter } from 'node:events';
import { webcrypto } from 'node:crypto';
import { request } from 'undici';
import { ControlPlaneAccess, type JoinCredential } from './control-plane-access';

x509.cryptoProvider.set(webcrypto as never);

const issuedCertificate = new ContractCheck(IssuedCertificate);

const ALGORITHMS = {
  RSA_2048: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  ECDSA_P256: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
} as const;

export interface Credentials {
  keyPem: string;
  certPem: string;
  caPem: string;
  spiffeId: string;
  keyType: KeyType;
  notAfter: Date;
  /** When it arrived: its renewal falls due at two thirds of notAfter - issuedAt. */
  issuedAt: Date;
  /** Changes with every renewal, so connection pools can tell credentials apart. */
  version: number;
  /** The CA's roots the certificate and bundle belong to, as the control plane said when it issued them. */
  trustEpoch?: string;
}

/** PEM as OpenSSL writes it (64-column base64, a newline at the end), by x509's own encoder. */
const toPem = (der: ArrayBuffer, label: string): string => `${x509.PemConverter.encode(der, label)}\n`;

/** The service account name in a SPIFFE ID (spiffe://<domain>/ns/<ns>/sa/<name>), if it is one of ours. */
export function serviceOfSpiffeId(id: string | undefined, trustDomain: string, namespace: string): string | undefined {
  const prefix = `spiffe://${trustDomain}/ns/${namespace}/sa/`;
  return id?.startsWith(prefix) ? id.slice(prefix.length) : undefined;
}

export class WorkloadIdentity extends EventEmitter<{ change: [Credentials]; error: [Error] }> {
  private credentials?: Credentials;
  private renewal?: NodeJS.Timeout;
  private version = 0;
  private readonly opts: { service: string; controlPlaneUrls: string[] };
  private readonly access: ControlPlaneAccess;

  /**
   * `join` proves the service for the first certificate; renewals prove it with the certificate they
   * replace. `access`: the runtime's, shared with its control-plane client (one made here otherwise).
   */
  constructor(opts: { service: string; controlPlaneUrls: string[]; join: JoinCredential; access?: ControlPlaneAccess }) {
    super();
    this.opts = opts;
    this.access = opts.access ?? new ControlPlaneAccess(opts.join, () => this.current());
  }

  current(): Credentials | undefined {
    return this.credentials;
  }

  /**
   * Gets a certificate now if there is none yet, if the key type asked for changed, or if the CA's
   * roots moved on (`trustEpoch`, a root rotation): the new certificate comes with the new trust
   * bundle. Calls queue behind each other, so each looks at what the one before it got.
   */
  ensure(keyType: KeyType, trustEpoch?: string): Promise<Credentials> {
    const fits = (c: Credentials | undefined): c is Credentials =>
      c !== undefined && c.keyType === keyType && (trustEpoch === undefined || c.trustEpoch === undefined || c.trustEpoch === trustEpoch);
    if (fits(this.credentials)) return Promise.resolve(this.credentials);
    const next = this.queue.catch(() => undefined).then(() => (fits(this.credentials) ? this.credentials : this.issue(keyType)));
    this.queue = next;
    return next;
  }
  private queue: Promise<unknown> = Promise.resolve();

  stop(): void {
    clearTimeout(this.renewal);
  }

  private async issue(keyType: KeyType): Promise<Credentials> {
    const alg = ALGORITHMS[keyType];
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: `CN=${this.opts.service}`,
      keys: keys as never,
      signingAlgorithm: alg,
    });
    const issued = await this.requestCertificate(csr.toString('pem'));
    const credentials: Credentials = {
      keyPem: toPem((await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) as ArrayBuffer, 'PRIVATE KEY'),
      certPem: issued.certificatePem,
      caPem: issued.caPem,
      spiffeId: issued.spiffeId,
      keyType,
      notAfter: new Date(issued.notAfter),
      issuedAt: new Date(),
      version: ++this.version,
      ...(issued.trustEpoch ? { trustEpoch: issued.trustEpoch } : {}),
    };
    this.credentials = credentials;
    this.scheduleRenewal(credentials);
    this.emit('change', credentials);
    return credentials;
  }

  /** Renew at two thirds of the lifetime, so a certificate never expires under live connections. */
  private scheduleRenewal(c: Credentials): void {
    clearTimeout(this.renewal);
    const lifetime = c.notAfter.getTime() - Date.now();
    this.renewal = setTimeout(
      () => {
        this.issue(c.keyType).catch((err: Error) => {
          this.emit('error', err);
          // Try again soon; the current certificate stays in use until it is replaced.
          this.renewal = setTimeout(() => this.scheduleRenewal(c), 5_000);
          this.renewal.unref();
        });
      },
      Math.max(1_000, (lifetime * 2) / 3),
    );
    this.renewal.unref();
  }

  private async requestCertificate(csr: string): Promise<IssuedCertificate> {
    let last: Error | undefined;
    for (const url of this.opts.controlPlaneUrls) {
      try {
        // A renewal proves the service with the certificate it replaces; the first with the join credential.
        const call = this.access.call(url);
        const res = await request(`${call.base}/api/v1/certificates`, {
          method: 'POST',
          dispatcher: call.dispatcher,
          headers: { 'content-type': 'application/json', ...call.headers },
          body: JSON.stringify({ service: this.opts.service, csr } satisfies CertificateRequest),
          headersTimeout: 5_000,
        });
        const body = await res.body.json();
        if (res.statusCode !== 200) {
          const { error } = body as { error?: { message: string } };
          throw new Error(`certificate request refused (${res.statusCode}): ${error?.message ?? ''}`);
        }
        return issuedCertificate.verify(body, 'the issued certificate');
      } catch (err) {
        last = err as Error;
      }
    }
    throw last ?? new Error('no control plane to ask for a certificate');
  }
}
