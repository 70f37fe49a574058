import { WorkloadIdentity } from '@meshcart/sidecar';
import { makeTempDir } from '@meshcart/testing';
import * as x509 from '@peculiar/x509';
import { webcrypto, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { access, asWorkload, joinOf } from './credentials';

const caDir = makeTempDir('meshcart-ca-');
const deployDir = join(__dirname, '../../../deploy/mesh');
let app: ReturnType<typeof buildApp>;
let url: string;

async function start() {
  const a = buildApp({ configDir: deployDir, profile: 'optimized', logger: false, caDir: caDir.path, ...access });
  await a.listen({ host: '127.0.0.1', port: 0 });
  return { a, url: `http://127.0.0.1:${(a.server.address() as { port: number }).port}` };
}

beforeAll(async () => {
  ({ a: app, url } = await start());
});
afterAll(async () => {
  await app.close();
  caDir.remove();
});

describe('certificate authority', () => {
  it.each(['ECDSA_P256', 'RSA_2048'] as const)(
    'issues a %s workload certificate for the SPIFFE ID of the service, signed by the root',
    async (keyType) => {
      const identity = new WorkloadIdentity({ service: 'payment-service', controlPlaneUrls: [url], join: joinOf('payment-service') });
      const creds = await identity.ensure(keyType);
      identity.stop();
      expect(creds.spiffeId).toBe('spiffe://meshcart.local/ns/default/sa/payment-service');
      const cert = new X509Certificate(creds.certPem);
      const root = new X509Certificate(creds.caPem);
      expect(cert.subjectAltName).toBe('URI:spiffe://meshcart.local/ns/default/sa/payment-service');
      expect(cert.verify(root.publicKey)).toBe(true);
      expect(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(creds.keyPem))).toBe(true);
      expect(cert.publicKey.asymmetricKeyType).toBe(keyType === 'RSA_2048' ? 'rsa' : 'ec');
      // Short-lived: the configured lifetime (24 h by default), not years.
      expect(new Date(cert.validTo).getTime() - Date.now()).toBeLessThanOrEqual(24 * 3_600_000 + 60_000);
    },
  );

  it("refuses a credential it does not know, another service's credential, and a CSR asking for another identity", async () => {
    const guess = new WorkloadIdentity({ service: 'payment-service', controlPlaneUrls: [url], join: { token: 'a-guessed-token-1234567' } });
    await expect(guess.ensure('ECDSA_P256')).rejects.toThrow(/refused \(401\).*neither the operator credential nor a join credential/);
    // order-service's own credential proves order-service, not payment-service.
    const borrowed = new WorkloadIdentity({ service: 'payment-service', controlPlaneUrls: [url], join: joinOf('order-service') });
    await expect(borrowed.ensure('ECDSA_P256')).rejects.toThrow(
      /refused \(403\).*spiffe:\/\/meshcart.local\/ns\/default\/sa\/order-service is order-service and may act only for order-service, not for payment-service/,
    );

    x509.cryptoProvider.set(webcrypto as never);
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=order-service',
      keys: keys as never,
      signingAlgorithm: alg,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://meshcart.local/ns/default/sa/payment-service' }])],
    });
    const res = await request(`${url}/api/v1/certificates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...asWorkload('order-service') },
      body: JSON.stringify({ service: 'order-service', csr: csr.toString('pem') }),
    });
    expect(res.statusCode).toBe(400);
    const body = (await res.body.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('CSR_REJECTED');
    expect(body.error.message).toContain('may only have spiffe://meshcart.local/ns/default/sa/order-service');
  });

  it('keeps its root across restarts, so certificates it issued stay valid', async () => {
    const before = await (await request(`${url}/api/v1/ca`)).body.text();
    const second = await start();
    const after = await (await request(`${second.url}/api/v1/ca`)).body.text();
    await second.a.close();
    expect(after).toBe(before);
    expect(before).toContain('BEGIN CERTIFICATE');
  });
});
