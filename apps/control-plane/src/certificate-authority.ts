// The mesh's certificate authority: a root kept on disk, short-lived workload certificates with SPIFFE IDs.
import type { IssuedCertificate } from '@meshcart/control-plane-api';
import * as x509 from '@peculiar/x509';
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as never);

const ROOT_ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export class CsrRejectedError extends Error {
  readonly code = 'CSR_REJECTED';
}

export function spiffeId(trustDomain: string, namespace: string, service: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${service}`;
}

/** PEM as OpenSSL writes it (64-column base64, a newline at the end), by x509's own encoder. */
const toPem = (der: ArrayBuffer, label: string): string => `${x509.PemConverter.encode(der, label)}\n`;

function fromPem(pem: string): ArrayBuffer {
  const b64 = pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
  const buf = Buffer.from(b64, 'base64');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

export class CertificateAuthority {
  private constructor(
    private readonly key: CryptoKey,
    readonly root: x509.X509Certificate,
  ) {}

  get rootPem(): string {
    return this.root.toString('pem') + '\n';
  }

  /** SHA-256 of the root certificate (DER), hex: how replicas check they share one root. */
  get rootFingerprint(): string {
    return (this.fingerprint ??= createHash('sha256').update(Buffer.from(this.root.rawData)).digest('hex'));
  }
  private fingerprint?: string;

  /**
   * Loads the root from `dir` (ca-key.pem, ca-cert.pem, e.g. a mounted Kubernetes Secret), or
   * creates one there on first start (local runs).
   */
  static async loadOrCreate(dir: string, trustDomain: string): Promise<CertificateAuthority> {
    const keyFile = join(dir, 'ca-key.pem');
    const certFile = join(dir, 'ca-cert.pem');
    if (existsSync(keyFile) && existsSync(certFile)) {
      const key = await webcrypto.subtle.importKey('pkcs8', fromPem(readFileSync(keyFile, 'utf8')), ROOT_ALG, false, ['sign']);
      return new CertificateAuthority(key as CryptoKey, new x509.X509Certificate(readFileSync(certFile, 'utf8')));
    }
    const keys = (await webcrypto.subtle.generateKey(ROOT_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomBytes(16).toString('hex'),
      name: `CN=MeshCart root CA, O=${trustDomain}`,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 10 * 365 * 24 * 3_600_000),
      keys: keys as never,
      signingAlgorithm: ROOT_ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
      ],
    });
    mkdirSync(dir, { recursive: true });
    writeFileSync(keyFile, toPem((await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as never)) as ArrayBuffer, 'PRIVATE KEY'), {
      mode: 0o600,
    });
    writeFileSync(certFile, root.toString('pem') + '\n');
    return new CertificateAuthority(keys.privateKey, root);
  }

  /**
   * A serving certificate for DNS names, with a P-256 key made here: the injection webhook's, which
   * the Kubernetes API server checks against this root (the webhook configuration's caBundle).
   */
  async issueServing(dnsNames: string[], ttlMs: number): Promise<{ keyPem: string; certificatePem: string }> {
    const alg = { name: 'ECDSA', namedCurve: 'P-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomBytes(16).toString('hex'),
      subject: `CN=${dnsNames[0]}`,
      issuer: this.root.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + ttlMs),
      publicKey: keys.publicKey as never,
      signingKey: this.key as never,
      signingAlgorithm: ROOT_ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value }))),
      ],
    });
    const keyPem = toPem((await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as never)) as ArrayBuffer, 'PRIVATE KEY');
    return { keyPem, certificatePem: cert.toString('pem') + '\n' };
  }

  /**
   * A key made here and a certificate for `id` (client and server use): the control plane's own
   * identity, which proxies check when they talk to it over mTLS and replicas present to each other.
   */
  async issueIdentity(id: string, ttlMs: number): Promise<{ keyPem: string; certificatePem: string; notAfter: Date }> {
    const alg = { name: 'ECDSA', namedCurve: 'P-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
    const notAfter = new Date(Date.now() + ttlMs);
    const cert = await this.signWorkload(keys.publicKey, id, notAfter);
    const keyPem = toPem((await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as never)) as ArrayBuffer, 'PRIVATE KEY');
    return { keyPem, certificatePem: cert.toString('pem') + '\n', notAfter };
  }

  /**
   * Signs a workload certificate for `expectedId` from a PKCS#10 request. The request must be
   * self-signed by its key and may only ask for that one SPIFFE ID.
   */
  async issue(csrPem: string, expectedId: string, ttlMs: number): Promise<IssuedCertificate> {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch (err) {
      throw new CsrRejectedError(`not a PEM certificate request: ${(err as Error).message}`);
    }
    if (!(await csr.verify())) throw new CsrRejectedError('the request is not signed by its own key');
    const san = csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension);
    const asked = san?.names.items.filter((n) => n.type === 'url').map((n) => n.value) ?? [];
    if (asked.some((id) => id !== expectedId)) {
      throw new CsrRejectedError(`the request asks for ${asked.join(', ')}; this workload may only have ${expectedId}`);
    }
    const notAfter = new Date(Date.now() + ttlMs);
    const cert = await this.signWorkload(csr.publicKey, expectedId, notAfter);
    return { certificatePem: cert.toString('pem') + '\n', caPem: this.rootPem, spiffeId: expectedId, notAfter: notAfter.toISOString() };
  }

  /** A certificate with `id` as its one URI SAN, for client and server use. */
  private signWorkload(publicKey: x509.PublicKey | CryptoKey, id: string, notAfter: Date): Promise<x509.X509Certificate> {
    return x509.X509CertificateGenerator.create({
      serialNumber: randomBytes(16).toString('hex'),
      subject: `O=${new URL(id).host}`,
      issuer: this.root.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter,
      publicKey: publicKey as never,
      signingKey: this.key as never,
      signingAlgorithm: ROOT_ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: id }], true),
      ],
    });
  }
}
