// Tokens are checked locally against user-service's published keys, refetched for a new key id at most every interval.
import { JWKS_PATH, TOKEN_AUDIENCE, TOKEN_ISSUER } from '@meshcart/contracts';
import { HttpError, MeshClient } from '@meshcart/service-kit';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TokenVerifier } from './token-verifier';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function makeKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

function sign(key: SigningKey, claims: { sub?: string; iss?: string; aud?: string; exp?: string | number } = {}): Promise<string> {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
    .setIssuer(claims.iss ?? TOKEN_ISSUER)
    .setAudience(claims.aud ?? TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? '5m');
  if (claims.sub !== '') jwt.setSubject(claims.sub ?? 'user-1');
  return jwt.sign(key.privateKey);
}

/** Stands in for the one endpoint of user-service the verifier uses, so keys can be rotated at will. */
let server: Server;
let published: JWK[] = [];
let jwksAnswer = 200;
let mesh: MeshClient;
let keyA: SigningKey;
let keyB: SigningKey;
let clock = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url !== JWKS_PATH) return void res.writeHead(404).end();
    res.writeHead(jwksAnswer, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  mesh = new MeshClient({ service: 'order-service', mode: 'off', upstreams: { 'user-service': `http://127.0.0.1:${port}` } });
  keyA = await makeKey('key-a');
  keyB = await makeKey('key-b');
});

afterAll(async () => {
  await mesh.close();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  published = [keyA.publicJwk];
  jwksAnswer = 200;
  clock = 1_000_000;
});

const newVerifier = () => new TokenVerifier({ mesh, refetchIntervalMs: 30_000, now: () => clock });

async function rejection(verifier: TokenVerifier, header: string | undefined): Promise<HttpError> {
  const err = await verifier.verify(header).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpError);
  return err as HttpError;
}

describe('TokenVerifier', () => {
  it('accepts a token signed with a published key and returns its subject as the user id', async () => {
    const verifier = newVerifier();
    await expect(verifier.verify(`Bearer ${await sign(keyA, { sub: 'u-42' })}`)).resolves.toEqual({ userId: 'u-42' });
    await expect(verifier.verify(`bearer ${await sign(keyA, { sub: 'u-43' })}`)).resolves.toEqual({ userId: 'u-43' });
    expect(verifier.fetchCount).toBe(1);
  });

  it.each([
    ['missing header', undefined],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['a bearer that is not a JWT', 'Bearer not-a-token'],
  ])('answers 401 for %s', async (_label, header) => {
    const err = await rejection(newVerifier(), header);
    expect(err.statusCode).toBe(401);
    expect(err.code).toBe('UNAUTHORIZED');
  });

  it('answers 401 for an expired token, a wrong issuer or audience, and a token without subject', async () => {
    const verifier = newVerifier();
    const past = Math.floor(Date.now() / 1000) - 60;
    for (const token of [
      await sign(keyA, { exp: past }),
      await sign(keyA, { iss: 'someone-else' }),
      await sign(keyA, { aud: 'another-app' }),
      await sign(keyA, { sub: '' }),
    ]) {
      const err = await rejection(verifier, `Bearer ${token}`);
      expect(err.statusCode).toBe(401);
    }
    expect((await rejection(verifier, `Bearer ${await sign(keyA, { exp: past })}`)).message).toMatch(/expired/);
  });

  it('answers 401 for a token whose signature does not match the key named by its kid', async () => {
    const forged = await sign({ ...keyB, kid: keyA.kid });
    const err = await rejection(newVerifier(), `Bearer ${forged}`);
    expect(err.statusCode).toBe(401);
    expect(err.message).toMatch(/signature/);
  });

  it('refetches the key set for an unknown kid, so a rotated user-service key works', async () => {
    const verifier = newVerifier();
    await verifier.verify(`Bearer ${await sign(keyA)}`);
    published = [keyB.publicJwk];
    clock += 30_000;
    await expect(verifier.verify(`Bearer ${await sign(keyB, { sub: 'u-b' })}`)).resolves.toEqual({ userId: 'u-b' });
    expect(verifier.fetchCount).toBe(2);
  });

  it('refetches at most once per interval, so forged kids cannot flood user-service', async () => {
    const verifier = newVerifier();
    await verifier.verify(`Bearer ${await sign(keyA)}`);
    published = [keyA.publicJwk, keyB.publicJwk];
    clock += 5_000;
    // Too soon after the last fetch: the new key is not looked for yet.
    expect((await rejection(verifier, `Bearer ${await sign(keyB)}`)).statusCode).toBe(401);
    expect(verifier.fetchCount).toBe(1);
    clock += 25_000;
    await expect(verifier.verify(`Bearer ${await sign(keyB)}`)).resolves.toEqual({ userId: 'user-1' });
    const unknown = await makeKey('key-c');
    expect((await rejection(verifier, `Bearer ${await sign(unknown)}`)).statusCode).toBe(401);
    expect(verifier.fetchCount).toBe(2);
  });

  it('answers 503 rather than 401 when the key set cannot be fetched, and recovers once it can', async () => {
    const verifier = newVerifier();
    jwksAnswer = 500;
    const token = `Bearer ${await sign(keyA)}`;
    const err = await rejection(verifier, token);
    expect(err.statusCode).toBe(503);
    expect(err.code).toBe('TOKEN_KEYS_UNAVAILABLE');
    jwksAnswer = 200;
    await expect(verifier.verify(token)).resolves.toEqual({ userId: 'user-1' });
  });

  it('shares one key set fetch between concurrent first requests', async () => {
    const verifier = newVerifier();
    const token = `Bearer ${await sign(keyA)}`;
    await Promise.all(Array.from({ length: 10 }, () => verifier.verify(token)));
    expect(verifier.fetchCount).toBe(1);
  });
});
