// The mesh's certificate authority: a root kept on disk, short-lived workload certificates with SPIFFE IDs.
import type { IssuedCertificate } from '@meshcart/control-plane-api';
import * as x509 from '@peculiar/x509';
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

/** Each certificate of a PEM bundle. */
function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

async function importKey(file: string): Promise<CryptoKey> {
  return (await webcrypto.subtle.importKey('pkcs8', fromPem(readFileSync(file, 'utf8')), ROOT_ALG, false, ['sign'])) as CryptoKey;
}

/** A self-signed root, ten years, allowed to sign workload certificates only (path length 0). */
async function newRoot(trustDomain: string, name: string): Promise<{ key: CryptoKey; keyPem: string; cert: x509.X509Certificate }> {
  const keys = (await webcrypto.subtle.generateKey(ROOT_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex'),
    name: `CN=${name}, O=${trustDomain}`,
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
  const keyPem = toPem((await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as never)) as ArrayBuffer, 'PRIVATE KEY');
  return { key: keys.privateKey, keyPem, cert };
}

function fromPem(pem: string): ArrayBuffer {
  const b64 = pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
  const buf = Buffer.from(b64, 'base64');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

/** A root, its key when it can sign, and its role in a rotation. */
interface Root {
  cert: x509.X509Certificate;
  key?: CryptoKey;
}

/** Where a rotation stands: `staged` trusts a new root beside the signing one; `overlap` signs with the new one and still trusts the old. */
export type RotationPhase = 'steady' | 'staged' | 'overlap';

export class RotationError extends Error {
  readonly code = 'CA_ROTATION_REFUSED';
}

const FILES = {
  key: 'ca-key.pem',
  cert: 'ca-cert.pem',
  nextKey: 'ca-next-key.pem',
  nextCert: 'ca-next-cert.pem',
  /** Roots no longer signing, still trusted until the rotation ends. */
  retired: 'ca-retired.pem',
};

const fingerprintOf = (cert: x509.X509Certificate) => createHash('sha256').update(Buffer.from(cert.rawData)).digest('hex');

export class CertificateAuthority {
  private constructor(
    private readonly dir: string,
    private readonly trustDomain: string,
    private signer: Required<Root>,
    private staged: Required<Root> | undefined,
    private retired: x509.X509Certificate[],
  ) {}

  /** The root that signs workload certificates now. */
  get root(): x509.X509Certificate {
    return this.signer.cert;
  }

  /** Every root workloads trust: the signing one first, then a staged or a retired one during a rotation. */
  get rootPem(): string {
    return this.trusted()
      .map((c) => c.toString('pem') + '\n')
      .join('');
  }

  /** SHA-256 of the signing root (DER), hex: how replicas check they share one root. */
  get rootFingerprint(): string {
    return fingerprintOf(this.signer.cert);
  }

  /** The roots as they stand (which signs, which are trusted): it changes at every step of a rotation. */
  get trustEpoch(): string {
    const others = this.trusted().slice(1).map(fingerprintOf).sort();
    return createHash('sha256')
      .update([this.rootFingerprint, ...others].join(','))
      .digest('hex')
      .slice(0, 16);
  }

  get phase(): RotationPhase {
    return this.staged ? 'staged' : this.retired.length ? 'overlap' : 'steady';
  }

  /** The roots with their roles, for meshctl ca status. */
  roots(): { fingerprint: string; subject: string; notAfter: string; role: 'signing' | 'staged' | 'retired' }[] {
    const row = (cert: x509.X509Certificate, role: 'signing' | 'staged' | 'retired') => ({
      fingerprint: fingerprintOf(cert),
      subject: cert.subject,
      notAfter: cert.notAfter.toISOString(),
      role,
    });
    return [
      row(this.signer.cert, 'signing'),
      ...(this.staged ? [row(this.staged.cert, 'staged')] : []),
      ...this.retired.map((c) => row(c, 'retired')),
    ];
  }

  private trusted(): x509.X509Certificate[] {
    const all = [this.signer.cert, ...(this.staged ? [this.staged.cert] : []), ...this.retired];
    return all.filter((c, i) => all.findIndex((d) => fingerprintOf(d) === fingerprintOf(c)) === i);
  }

  /**
   * Loads the roots from `dir` (ca-key.pem and ca-cert.pem, e.g. a mounted Kubernetes Secret, and
   * during a rotation ca-next-*.pem and ca-retired.pem), or creates a root there on first start.
   */
  static async loadOrCreate(dir: string, trustDomain: string): Promise<CertificateAuthority> {
    const file = (name: string) => join(dir, name);
    let signer: Required<Root>;
    if (existsSync(file(FILES.key)) && existsSync(file(FILES.cert))) {
      signer = { key: await importKey(file(FILES.key)), cert: new x509.X509Certificate(readFileSync(file(FILES.cert), 'utf8')) };
    } else {
      const fresh = await newRoot(trustDomain, 'MeshCart root CA');
      mkdirSync(dir, { recursive: true });
      writeFileSync(file(FILES.key), fresh.keyPem, { mode: 0o600 });
      writeFileSync(file(FILES.cert), fresh.cert.toString('pem') + '\n');
      signer = { key: fresh.key, cert: fresh.cert };
    }
    const staged =
      existsSync(file(FILES.nextKey)) && existsSync(file(FILES.nextCert))
        ? { key: await importKey(file(FILES.nextKey)), cert: new x509.X509Certificate(readFileSync(file(FILES.nextCert), 'utf8')) }
        : undefined;
    const retired = existsSync(file(FILES.retired))
      ? splitPem(readFileSync(file(FILES.retired), 'utf8')).map((p) => new x509.X509Certificate(p))
      : [];
    return new CertificateAuthority(dir, trustDomain, signer, staged, retired);
  }

  /** Rotation, step 1: a new root, trusted by everyone from now on, not signing yet. */
  async stage(): Promise<void> {
    if (this.phase !== 'steady') throw new RotationError(`a rotation is already under way (${this.phase}); finish it first`);
    const fresh = await newRoot(this.trustDomain, `MeshCart root CA ${new Date().toISOString().slice(0, 16)}`);
    this.write(FILES.nextKey, fresh.keyPem, 0o600);
    this.write(FILES.nextCert, fresh.cert.toString('pem') + '\n');
    this.staged = { key: fresh.key, cert: fresh.cert };
  }

  /** Step 2: the new root signs; the old one is still trusted, for certificates it signed that are still in use. */
  activate(): void {
    if (!this.staged) throw new RotationError('no new root is staged');
    this.write(FILES.retired, [this.signer.cert, ...this.retired].map((c) => c.toString('pem') + '\n').join(''));
    this.write(FILES.key, readFileSync(join(this.dir, FILES.nextKey), 'utf8'), 0o600);
    this.write(FILES.cert, this.staged.cert.toString('pem') + '\n');
    rmSync(join(this.dir, FILES.nextKey), { force: true });
    rmSync(join(this.dir, FILES.nextCert), { force: true });
    this.retired = [this.signer.cert, ...this.retired];
    this.signer = this.staged;
    this.staged = undefined;
  }

  /** Step 3: the old root is trusted no more. */
  retire(): void {
    rmSync(join(this.dir, FILES.retired), { force: true });
    this.retired = [];
  }

  /** Written whole or not at all: a crash mid-rotation leaves each file old or new, never half. */
  private write(name: string, content: string, mode = 0o644): void {
    const target = join(this.dir, name);
    try {
      writeFileSync(`${target}.tmp`, content, { mode });
      renameSync(`${target}.tmp`, target);
    } catch (err) {
      throw new RotationError(
        `cannot write ${target} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): a CA mounted read-only (a Kubernetes Secret) is rotated by updating the Secret, see docs/security.md`,
      );
    }
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
      issuer: this.signer.cert.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + ttlMs),
      publicKey: keys.publicKey as never,
      signingKey: this.signer.key as never,
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
    return {
      certificatePem: cert.toString('pem') + '\n',
      caPem: this.rootPem,
      spiffeId: expectedId,
      notAfter: notAfter.toISOString(),
      trustEpoch: this.trustEpoch,
    };
  }

  /** A certificate with `id` as its one URI SAN, for client and server use. */
  private signWorkload(publicKey: x509.PublicKey | CryptoKey, id: string, notAfter: Date): Promise<x509.X509Certificate> {
    return x509.X509CertificateGenerator.create({
      serialNumber: randomBytes(16).toString('hex'),
      subject: `O=${new URL(id).host}`,
      issuer: this.signer.cert.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter,
      publicKey: publicKey as never,
      signingKey: this.signer.key as never,
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
