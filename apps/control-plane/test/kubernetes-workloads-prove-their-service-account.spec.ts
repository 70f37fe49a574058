// A real control plane verifying projected ServiceAccount tokens against a cluster issuer on loopback (a key the
// test generates): a pod's token gets its own service's certificate and registration, and nothing else.
import { ContractCheck, ProxyList } from '@meshcart/control-plane-api';
import { WorkloadIdentity } from '@meshcart/sidecar';
import { makeTempDir } from '@meshcart/testing';
import { generateKeyPair } from 'jose';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { ServiceAccountTokens } from '../src/auth/service-account-tokens';
import { claimsFor, nowSec, publicJwk, sign, startIssuer, type Issuer, type KeyPair } from './cluster-issuer';
import { OPERATOR_TOKEN } from './credentials';
import { startSidecarProxy } from './sidecar-proxy';

const dir = makeTempDir('meshcart-k8s-identity-');
const WAIT = { timeout: 5_000, interval: 50 };
const proxyList = new ContractCheck(ProxyList);
let issuer: Issuer;
let clusterKey: KeyPair;
let app: ReturnType<typeof buildApp>;
let url: string;

/** A projected token for `serviceAccount` in the mesh's namespace (default in the optimized profile), or as `over` says. */
const tokenFor = (serviceAccount: string, over: Record<string, unknown> = {}, namespace = 'default') =>
  sign(
    claimsFor(issuer.issuer, {
      sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
      'kubernetes.io': { namespace, pod: { name: `${serviceAccount}-abc`, uid: 'u-1' }, serviceaccount: { name: serviceAccount, uid: 'u-2' } },
      ...over,
    }),
    clusterKey,
    'cluster-key',
  );

/** The token as the kubelet mounts it: a file the workload reads afresh for each use. */
function mounted(name: string, token: string): { file: string } {
  const file = join(dir.path, name);
  writeFileSync(file, token);
  return { file };
}

beforeAll(async () => {
  issuer = await startIssuer();
  clusterKey = await generateKeyPair('RS256');
  issuer.jwks = [await publicJwk(clusterKey, 'cluster-key')];
  app = buildApp({
    configDir: join(__dirname, '../../../deploy/mesh'),
    profile: 'optimized',
    caDir: join(dir.path, 'ca'),
    operatorToken: OPERATOR_TOKEN,
    // No join credentials: on Kubernetes a pod's ServiceAccount token is its proof.
    serviceAccounts: new ServiceAccountTokens({ issuer: issuer.issuer, audience: 'meshcart' }),
    logger: false,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await app.close();
  await issuer.close();
  dir.remove();
});

describe('on Kubernetes, a pod proves its service with its projected ServiceAccount token', () => {
  it('and gets the certificate of its ServiceAccount, registers as it, then talks to the control plane with that certificate', async () => {
    const { rt, adminUrl } = await startSidecarProxy({
      url,
      service: 'payment-service',
      instance: 'payment-service-abc',
      join: mounted('payment-token', await tokenFor('payment-service')),
    });
    try {
      const listed = async () => proxyList.verify(await (await request(`${url}/api/v1/proxies`)).body.json(), 'proxies')[0];
      await expect
        .poll(async () => (await listed())?.attestedBy, { ...WAIT, message: 'how payment-service-abc proved its service' })
        .toBe('certificate');
      expect((await listed())?.certNotAfter).not.toBeNull();
      const dump = (await (await request(`${adminUrl}/config_dump`)).body.json()) as { identity: { spiffeId: string } | null };
      expect(dump.identity?.spiffeId).toBe('spiffe://meshcart.local/ns/default/sa/payment-service');
    } finally {
      await rt.close();
    }
  });

  it("is refused another service's certificate, naming its identity", async () => {
    const identity = new WorkloadIdentity({
      service: 'payment-service',
      controlPlaneUrls: [url],
      join: mounted('order-token', await tokenFor('order-service')),
    });
    await expect(identity.ensure('ECDSA_P256')).rejects.toThrow(
      /refused \(403\).*spiffe:\/\/meshcart.local\/ns\/default\/sa\/order-service is order-service and may act only for order-service, not for payment-service/,
    );
  });

  it('is refused with an expired token, one for another audience, another namespace, or signed by another key, saying which', async () => {
    const other = await generateKeyPair('RS256');
    const refused: [string, string, RegExp][] = [
      ['expired', await tokenFor('payment-service', { iat: nowSec() - 1_200, nbf: nowSec() - 1_200, exp: nowSec() - 600 }), /expired/i],
      ['another audience', await tokenFor('payment-service', { aud: ['vault'] }), /audience.*meshcart/i],
      ['another namespace', await tokenFor('payment-service', {}, 'shop-team'), /namespace shop-team; this mesh's workloads are in default/],
      [
        'another key',
        await sign(claimsFor(issuer.issuer, { sub: 'system:serviceaccount:default:payment-service' }), other, 'cluster-key'),
        /signature/i,
      ],
    ];
    for (const [what, token, reason] of refused) {
      const identity = new WorkloadIdentity({ service: 'payment-service', controlPlaneUrls: [url], join: mounted(`bad-${what}`, token) });
      const err = await identity.ensure('ECDSA_P256').then(
        () => new Error(`${what}: issued`),
        (e: Error) => e,
      );
      expect(err.message, what).toMatch(/refused \(401\).*the ServiceAccount token (was refused|is for namespace)/);
      expect(err.message, what).toMatch(reason);
    }
  });
});
