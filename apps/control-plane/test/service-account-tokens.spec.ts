import { EnvError } from '@meshcart/service-kit';
import { makeTempDir } from '@meshcart/testing';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ServiceAccountTokenError,
  ServiceAccountTokens,
  serviceAccountTokensFromEnv,
  type ServiceAccountTokensOptions,
} from '../src/auth/service-account-tokens';
import { CertificateAuthority } from '../src/certificate-authority';
import { claimsFor, nowSec, publicJwk, sign, startIssuer, type Issuer, type KeyPair } from './cluster-issuer';

const without = (o: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

/** The refusal a promise rejects with (fails the test if it resolves or throws anything else). */
async function refusal(p: Promise<unknown>): Promise<ServiceAccountTokenError> {
  const err = await p.then(
    (v) => {
      throw new Error(`expected a refusal, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServiceAccountTokenError);
  return err as ServiceAccountTokenError;
}

describe('ServiceAccountTokens: projected ServiceAccount tokens verified against the cluster issuer', () => {
  let issuer: Issuer;
  let clusterKey: KeyPair;
  const verifiers: ServiceAccountTokens[] = [];
  const verifier = (opts: Partial<ServiceAccountTokensOptions> = {}) => {
    const v = new ServiceAccountTokens({ issuer: issuer.issuer, audience: 'meshcart', ...opts });
    verifiers.push(v);
    return v;
  };

  beforeAll(async () => {
    issuer = await startIssuer();
    clusterKey = await generateKeyPair('RS256', { extractable: true });
  });
  afterEach(async () => {
    await Promise.all(verifiers.splice(0).map((v) => v.close()));
  });
  afterAll(async () => {
    await issuer.close();
  });
  const reset = async () => {
    issuer.jwks = [await publicJwk(clusterKey, 'cluster-key-1')];
    issuer.requests = [];
  };

  it('accepts a projected token: namespace, ServiceAccount and pod from its kubernetes.io claim, keys from the discovery document', async () => {
    await reset();
    const claims = claimsFor(issuer.issuer);
    const identity = await verifier().verify(await sign(claims, clusterKey, 'cluster-key-1'));
    expect(identity).toEqual({
      namespace: 'meshcart',
      serviceAccount: 'payment-service',
      podName: 'payment-service-7d9c5b-x2x4q',
      expiresAt: new Date((claims['exp'] as number) * 1000),
    });
    // The discovery document, then its jwks_uri; no credential sent to a server that did not ask.
    expect(issuer.requests).toEqual([
      { path: '/.well-known/openid-configuration', authorization: undefined },
      { path: '/openid/v1/jwks', authorization: undefined },
    ]);
  });

  it('accepts an audience list that contains meshcart, and keeps the keys for the next token', async () => {
    await reset();
    const v = verifier();
    await v.verify(await sign(claimsFor(issuer.issuer, { aud: ['vault', 'meshcart'] }), clusterKey, 'cluster-key-1'));
    await v.verify(await sign(claimsFor(issuer.issuer), clusterKey, 'cluster-key-1'));
    expect(v.fetchCount).toBe(1);
  });

  it('refuses an expired token, saying when it expired', async () => {
    await reset();
    const exp = nowSec() - 120;
    const token = await sign(claimsFor(issuer.issuer, { iat: exp - 600, nbf: exp - 600, exp }), clusterKey, 'cluster-key-1');
    const err = await refusal(verifier().verify(token));
    expect(err.code).toBe('MESH_ERR_SA_TOKEN_EXPIRED');
    expect(err.statusCode).toBe(401);
    expect(err.message).toContain(`expired at ${new Date(exp * 1000).toISOString()}`);
    expect(err.message).toMatch(/read the file again/);
  });

  it('refuses a token for another audience (the API server), naming the audiences it has and the one required', async () => {
    await reset();
    const token = await sign(claimsFor(issuer.issuer, { aud: ['https://kubernetes.default.svc.cluster.local', 'k3s'] }), clusterKey, 'cluster-key-1');
    const err = await refusal(verifier().verify(token));
    expect(err.code).toBe('MESH_ERR_SA_TOKEN_AUDIENCE');
    expect(err.message).toContain('"https://kubernetes.default.svc.cluster.local", "k3s"');
    expect(err.message).toContain('requires "meshcart"');
  });

  it('refuses a token of another issuer without fetching any key', async () => {
    await reset();
    const token = await sign(claimsFor('https://oidc.other-cluster.example'), clusterKey, 'cluster-key-1');
    const v = verifier();
    const err = await refusal(v.verify(token));
    expect(err.code).toBe('MESH_ERR_SA_TOKEN_ISSUER');
    expect(err.message).toContain('"https://oidc.other-cluster.example"');
    expect(err.message).toContain(JSON.stringify(issuer.issuer));
    expect(v.fetchCount).toBe(0);
  });

  it("refuses a token signed by a key that is not the cluster's, under the cluster key's kid or another", async () => {
    await reset();
    const forger = await generateKeyPair('RS256');
    const v = verifier();
    const sameKid = await refusal(v.verify(await sign(claimsFor(issuer.issuer), forger, 'cluster-key-1')));
    expect(sameKid.code).toBe('MESH_ERR_SA_TOKEN_SIGNATURE');
    expect(sameKid.message).toMatch(/signature does not verify/);
    const otherKid = await refusal(v.verify(await sign(claimsFor(issuer.issuer), forger, 'forged-key')));
    expect(otherKid.code).toBe('MESH_ERR_SA_TOKEN_SIGNATURE');
    expect(otherKid.message).toContain('"forged-key" is not among');
  });

  it("refuses an HMAC token keyed with the cluster's public key (algorithm confusion), and alg none", async () => {
    await reset();
    const encode = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${encode({ alg: 'HS256', kid: 'cluster-key-1' })}.${encode(claimsFor(issuer.issuer))}`;
    const hmac = createHmac('sha256', JSON.stringify(issuer.jwks[0])).update(input).digest('base64url');
    const err = await refusal(verifier().verify(`${input}.${hmac}`));
    expect(err.code).toBe('MESH_ERR_SA_TOKEN_SIGNATURE');
    expect(err.message).toContain('"HS256"');
    const none = `${encode({ alg: 'none' })}.${encode(claimsFor(issuer.issuer))}.`;
    expect((await refusal(verifier().verify(none))).code).toBe('MESH_ERR_SA_TOKEN_MALFORMED');
    const noneSigned = `${encode({ alg: 'none' })}.${encode(claimsFor(issuer.issuer))}.AAAA`;
    expect((await refusal(verifier().verify(noneSigned))).code).toBe('MESH_ERR_SA_TOKEN_SIGNATURE');
  });

  it.each([
    ['an empty string', ''],
    ['a bootstrap-style opaque token', 'c2VjcmV0LXRva2Vu'],
    ['two parts', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0'],
    ['three parts that are not JSON', 'bm90.anNvbg.c2ln'],
  ])('refuses %s as not a JWT', async (_, token) => {
    await reset();
    const v = verifier();
    const err = await refusal(v.verify(token));
    expect(err.code).toBe('MESH_ERR_SA_TOKEN_MALFORMED');
    expect(err.message).toMatch(/^the credential is not a JWT/);
    expect(err.message).toContain('projected ServiceAccount token');
    if (token) expect(err.message).not.toContain(token);
    expect(v.fetchCount).toBe(0);
  });

  it('refuses a token without expiry and one that lives longer than 24 h', async () => {
    await reset();
    const noExp = await refusal(verifier().verify(await sign(without(claimsFor(issuer.issuer), 'exp'), clusterKey, 'cluster-key-1')));
    expect(noExp.code).toBe('MESH_ERR_SA_TOKEN_LIFETIME');
    expect(noExp.message).toContain('no expiry');
    const iat = nowSec();
    const year = await refusal(
      verifier().verify(await sign(claimsFor(issuer.issuer, { iat, nbf: iat, exp: iat + 365 * 86_400 }), clusterKey, 'cluster-key-1')),
    );
    expect(year.code).toBe('MESH_ERR_SA_TOKEN_LIFETIME');
    expect(year.message).toContain(`lives ${365 * 86_400} s`);
    expect(year.message).toContain('at most 86400 s');
    // Just under the limit is a projected token's longest (expirationSeconds up to 24 h here).
    await verifier().verify(await sign(claimsFor(issuer.issuer, { iat, nbf: iat, exp: iat + 86_000 }), clusterKey, 'cluster-key-1'));
  });

  it('refuses a legacy Secret-based token (issuer kubernetes/serviceaccount, no expiry) as such', async () => {
    await reset();
    const legacy = {
      iss: 'kubernetes/serviceaccount',
      'kubernetes.io/serviceaccount/namespace': 'meshcart',
      'kubernetes.io/serviceaccount/secret.name': 'payment-service-token-abcde',
      'kubernetes.io/serviceaccount/service-account.name': 'payment-service',
      'kubernetes.io/serviceaccount/service-account.uid': '9a3d2b7c-0000-4000-8000-000000000003',
      sub: 'system:serviceaccount:meshcart:payment-service',
    };
    const err = await refusal(verifier().verify(await sign(legacy, clusterKey, 'cluster-key-1')));
    expect(err.code).toBe('MESH_ERR_SA_TOKEN_LIFETIME');
    expect(err.message).toMatch(/legacy Secret-based/);
  });

  it('refuses a token not valid yet (nbf, iat in the future)', async () => {
    await reset();
    const later = nowSec() + 300;
    const nbf = await refusal(verifier().verify(await sign(claimsFor(issuer.issuer, { nbf: later }), clusterKey, 'cluster-key-1')));
    expect(nbf.code).toBe('MESH_ERR_SA_TOKEN_NOT_YET_VALID');
    const iat = await refusal(
      verifier().verify(await sign(claimsFor(issuer.issuer, { iat: later, nbf: undefined, exp: later + 600 }), clusterKey, 'cluster-key-1')),
    );
    expect(iat.code).toBe('MESH_ERR_SA_TOKEN_NOT_YET_VALID');
  });

  it('refuses a cluster-signed token whose subject and kubernetes.io claim disagree, or that has no pod claims', async () => {
    await reset();
    const v = verifier();
    const mismatch = await refusal(
      v.verify(await sign(claimsFor(issuer.issuer, { sub: 'system:serviceaccount:meshcart:order-service' }), clusterKey, 'cluster-key-1')),
    );
    expect(mismatch.code).toBe('MESH_ERR_SA_TOKEN_CLAIMS');
    expect(mismatch.message).toContain('"system:serviceaccount:meshcart:payment-service"');
    const bare = await refusal(v.verify(await sign(without(claimsFor(issuer.issuer), 'kubernetes.io'), clusterKey, 'cluster-key-1')));
    expect(bare.code).toBe('MESH_ERR_SA_TOKEN_CLAIMS');
    const k8s = { namespace: 'meshcart/../other', serviceaccount: { name: 'payment-service', uid: 'x' } };
    const badName = await refusal(
      v.verify(
        await sign(
          claimsFor(issuer.issuer, { 'kubernetes.io': k8s, sub: 'system:serviceaccount:meshcart/../other:payment-service' }),
          clusterKey,
          'cluster-key-1',
        ),
      ),
    );
    expect(badName.code).toBe('MESH_ERR_SA_TOKEN_CLAIMS');
    expect(badName.message).toMatch(/not valid Kubernetes names/);
  });

  it('fetches the keys again for a new kid (the cluster rotated its signing key), at most once per refetch interval', async () => {
    await reset();
    let clock = Date.now();
    const v = verifier({ now: () => clock, refetchIntervalMs: 10_000 });
    await v.verify(await sign(claimsFor(issuer.issuer), clusterKey, 'cluster-key-1'));
    expect(v.fetchCount).toBe(1);

    const rotated = await generateKeyPair('RS256', { extractable: true });
    issuer.jwks = [await publicJwk(clusterKey, 'cluster-key-1'), await publicJwk(rotated, 'cluster-key-2')];
    const newToken = await sign(claimsFor(issuer.issuer), rotated, 'cluster-key-2');
    // Within the interval of the last fetch, an unknown kid is refused without a fetch.
    const early = await refusal(v.verify(newToken));
    expect(early.code).toBe('MESH_ERR_SA_TOKEN_SIGNATURE');
    expect(v.fetchCount).toBe(1);

    clock += 10_000;
    expect(await v.verify(newToken)).toMatchObject({ serviceAccount: 'payment-service' });
    expect(v.fetchCount).toBe(2);
    // Both keys now known: no further fetch for either.
    await v.verify(await sign(claimsFor(issuer.issuer), clusterKey, 'cluster-key-1'));
    await v.verify(newToken);
    expect(v.fetchCount).toBe(2);
  });

  it('shares one fetch between concurrent tokens, and refetches keys past their age so a dropped key stops verifying', async () => {
    await reset();
    let clock = Date.now();
    const v = verifier({ now: () => clock, maxKeyAgeMs: 60_000 });
    const token = await sign(claimsFor(issuer.issuer), clusterKey, 'cluster-key-1');
    await Promise.all([v.verify(token), v.verify(token), v.verify(token)]);
    expect(v.fetchCount).toBe(1);

    const replacement = await generateKeyPair('RS256', { extractable: true });
    issuer.jwks = [await publicJwk(replacement, 'cluster-key-3')];
    clock += 30_000;
    await v.verify(token);
    expect(v.fetchCount).toBe(1);
    clock += 30_000;
    expect((await refusal(v.verify(token))).code).toBe('MESH_ERR_SA_TOKEN_SIGNATURE');
    expect(v.fetchCount).toBe(2);
  });

  it('says so (503) when the keys cannot be had: issuer down, or a discovery document naming another issuer', async () => {
    await reset();
    const down = new ServiceAccountTokens({ issuer: 'http://127.0.0.1:1', audience: 'meshcart', timeoutMs: 2_000 });
    verifiers.push(down);
    const token = await sign(claimsFor('http://127.0.0.1:1'), clusterKey, 'cluster-key-1');
    const err = await refusal(down.verify(token));
    expect(err.code).toBe('MESH_ERR_SA_TOKEN_KEYS_UNAVAILABLE');
    expect(err.statusCode).toBe(503);
    expect(err.message).toContain('http://127.0.0.1:1/.well-known/openid-configuration');

    // The same server under another name: its document names the issuer it really is.
    const alias = issuer.issuer.replace('127.0.0.1', 'localhost');
    const misnamed = new ServiceAccountTokens({ issuer: alias, audience: 'meshcart' });
    verifiers.push(misnamed);
    const wrong = await refusal(misnamed.verify(await sign(claimsFor(alias), clusterKey, 'cluster-key-1')));
    expect(wrong.code).toBe('MESH_ERR_SA_TOKEN_KEYS_UNAVAILABLE');
    expect(wrong.message).toContain(`names issuer ${JSON.stringify(issuer.issuer)}`);
  });

  it('takes MESH_K8S_JWKS_URL instead of the discovery document', async () => {
    await reset();
    const v = verifier({ jwksUrl: `${issuer.issuer}/openid/v1/jwks` });
    await v.verify(await sign(claimsFor(issuer.issuer), clusterKey, 'cluster-key-1'));
    expect(issuer.requests.map((r) => r.path)).toEqual(['/openid/v1/jwks']);
  });

  it('never sends its own token over plain HTTP, and says what the issuer wants', async () => {
    await reset();
    const dir = makeTempDir('meshcart-sa-token-');
    try {
      writeFileSync(join(dir.path, 'token'), 'control-plane-own-token\n');
      issuer.requiredBearer = 'control-plane-own-token';
      const v = verifier({ bearerFile: join(dir.path, 'token') });
      const err = await refusal(v.verify(await sign(claimsFor(issuer.issuer), clusterKey, 'cluster-key-1')));
      expect(err.code).toBe('MESH_ERR_SA_TOKEN_KEYS_UNAVAILABLE');
      expect(err.message).toMatch(/answered 403: .*only over HTTPS/);
      expect(issuer.requests.every((r) => r.authorization === undefined)).toBe(true);
    } finally {
      delete issuer.requiredBearer;
      dir.remove();
    }
  });
});

describe('ServiceAccountTokens over HTTPS, as from an API server: its cluster CA and the control plane own token', () => {
  const dir = makeTempDir('meshcart-sa-https-');
  let apiServer: Issuer;
  let clusterKey: KeyPair;
  let caFile = '';
  let bearerFile = '';
  const verifiers: ServiceAccountTokens[] = [];

  beforeAll(async () => {
    // The cluster CA signs the API server's serving certificate; the pod gets the CA as ca.crt.
    const clusterCa = await CertificateAuthority.loadOrCreate(join(dir.path, 'cluster-ca'), 'cluster.test');
    const serving = await clusterCa.issueServing(['localhost'], 3_600_000);
    apiServer = await startIssuer({ key: serving.keyPem, cert: serving.certificatePem });
    clusterKey = await generateKeyPair('ES256', { extractable: true });
    apiServer.jwks = [{ ...(await exportJWK(clusterKey.publicKey)), kid: 'es-key', alg: 'ES256', use: 'sig' }];
    caFile = join(dir.path, 'ca.crt');
    writeFileSync(caFile, clusterCa.rootPem);
    bearerFile = join(dir.path, 'token');
    writeFileSync(bearerFile, 'control-plane-own-token\n');
    // The default cluster: discovery only for authenticated ServiceAccounts.
    apiServer.requiredBearer = 'control-plane-own-token';
  });
  afterEach(async () => {
    await Promise.all(verifiers.splice(0).map((v) => v.close()));
  });
  afterAll(async () => {
    await apiServer.close();
    dir.remove();
  });

  const es256 = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'es-key' }).sign(clusterKey.privateKey);

  it('trusts the cluster CA, presents its own token after a 403, and from then on at once', async () => {
    apiServer.requests = [];
    const v = new ServiceAccountTokens({ issuer: apiServer.issuer, audience: 'meshcart', caFile, bearerFile, refetchIntervalMs: 0 });
    verifiers.push(v);
    expect(await v.verify(await es256(claimsFor(apiServer.issuer)))).toMatchObject({ namespace: 'meshcart', serviceAccount: 'payment-service' });
    expect(apiServer.requests).toEqual([
      { path: '/.well-known/openid-configuration', authorization: undefined },
      { path: '/.well-known/openid-configuration', authorization: 'Bearer control-plane-own-token' },
      { path: '/openid/v1/jwks', authorization: 'Bearer control-plane-own-token' },
    ]);
    // The kubelet rotated the control plane's token: the file is read again for each fetch.
    writeFileSync(bearerFile, 'control-plane-rotated-token\n');
    apiServer.requiredBearer = 'control-plane-rotated-token';
    apiServer.requests = [];
    await v
      .verify(await new SignJWT(claimsFor(apiServer.issuer)).setProtectedHeader({ alg: 'ES256', kid: 'unknown' }).sign(clusterKey.privateKey))
      .catch(() => {});
    expect(apiServer.requests.map((r) => r.authorization)).toEqual(['Bearer control-plane-rotated-token', 'Bearer control-plane-rotated-token']);
    writeFileSync(bearerFile, 'control-plane-own-token\n');
    apiServer.requiredBearer = 'control-plane-own-token';
  });

  it('refuses an API server whose certificate the CA file does not vouch for', async () => {
    const v = new ServiceAccountTokens({ issuer: apiServer.issuer, audience: 'meshcart', bearerFile });
    verifiers.push(v);
    const err = await refusal(v.verify(await es256(claimsFor(apiServer.issuer))));
    expect(err.code).toBe('MESH_ERR_SA_TOKEN_KEYS_UNAVAILABLE');
    expect(err.message).toMatch(/certificate/i);
  });

  it('names the missing credential when the API server asks for one and no token is mounted', async () => {
    const v = new ServiceAccountTokens({ issuer: apiServer.issuer, audience: 'meshcart', caFile });
    verifiers.push(v);
    const err = await refusal(v.verify(await es256(claimsFor(apiServer.issuer))));
    expect(err.code).toBe('MESH_ERR_SA_TOKEN_KEYS_UNAVAILABLE');
    expect(err.message).toContain('MESH_K8S_BEARER_FILE');
  });

  it('names the ClusterRole to bind when the API server refuses the control plane token too', async () => {
    const other = join(dir.path, 'other-token');
    writeFileSync(other, 'a-token-without-rights\n');
    const v = new ServiceAccountTokens({ issuer: apiServer.issuer, audience: 'meshcart', caFile, bearerFile: other });
    verifiers.push(v);
    const err = await refusal(v.verify(await es256(claimsFor(apiServer.issuer))));
    expect(err.code).toBe('MESH_ERR_SA_TOKEN_KEYS_UNAVAILABLE');
    expect(err.message).toContain('system:service-account-issuer-discovery');
  });
});

describe('serviceAccountTokensFromEnv', () => {
  const dir = makeTempDir('meshcart-sa-env-');
  afterAll(() => dir.remove());

  it('is off without MESH_K8S_TOKEN_ISSUER, and defaults the audience to meshcart', async () => {
    expect(serviceAccountTokensFromEnv({})).toBeUndefined();
    const v = serviceAccountTokensFromEnv({ MESH_K8S_TOKEN_ISSUER: 'https://kubernetes.default.svc.cluster.local' })!;
    expect([v.issuer, v.audience]).toEqual(['https://kubernetes.default.svc.cluster.local', 'meshcart']);
    await v.close();
    const file = join(dir.path, 'ca.crt');
    writeFileSync(file, '');
    const all = serviceAccountTokensFromEnv({
      MESH_K8S_TOKEN_ISSUER: 'https://oidc.example/id/abc',
      MESH_K8S_TOKEN_AUDIENCE: 'meshcart-prod',
      MESH_K8S_JWKS_URL: 'https://kubernetes.default.svc/openid/v1/jwks',
      MESH_K8S_CA_FILE: file,
      MESH_K8S_BEARER_FILE: file,
    })!;
    expect(all.audience).toBe('meshcart-prod');
    await all.close();
  });

  it.each([
    [{ MESH_K8S_TOKEN_ISSUER: 'kubernetes.default.svc' }, 'MESH_K8S_TOKEN_ISSUER'],
    [{ MESH_K8S_TOKEN_ISSUER: 'https://k8s.example', MESH_K8S_TOKEN_AUDIENCE: 'mesh cart' }, 'MESH_K8S_TOKEN_AUDIENCE'],
    [{ MESH_K8S_TOKEN_ISSUER: 'https://k8s.example', MESH_K8S_JWKS_URL: '/openid/v1/jwks' }, 'MESH_K8S_JWKS_URL'],
    [{ MESH_K8S_TOKEN_ISSUER: 'https://k8s.example', MESH_K8S_CA_FILE: '/nonexistent/ca.crt' }, 'MESH_K8S_CA_FILE'],
    [{ MESH_K8S_TOKEN_ISSUER: 'https://k8s.example', MESH_K8S_BEARER_FILE: '/nonexistent/token' }, 'MESH_K8S_BEARER_FILE'],
    [{ MESH_K8S_TOKEN_AUDIENCE: 'meshcart' }, 'MESH_K8S_TOKEN_ISSUER'],
  ])('refuses %o naming %s', (env, variable) => {
    let thrown: unknown;
    try {
      serviceAccountTokensFromEnv(env)?.close();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(EnvError);
    expect((thrown as Error).message.startsWith(`${variable}=`)).toBe(true);
  });
});
