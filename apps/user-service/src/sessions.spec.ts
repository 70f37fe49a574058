// Logging in: tokens other services can verify with the published key set, and uniform failures.
import { JWKS_PATH, TOKEN_AUDIENCE, TOKEN_ISSUER } from '@meshcart/contracts';
import { makeTempDir } from '@meshcart/testing';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from './app';

const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };

describe('sessions', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let userId: string;

  beforeEach(async () => {
    dir = makeTempDir();
    app = await buildApp({ dataDir: dir.path, logger: false, scryptCost: FAST_SCRYPT, tokenTtlSeconds: 600 });
    const res = await app.inject({
      method: 'POST',
      url: '/users',
      payload: { email: 'grace@example.com', password: 'hopper-1906', name: 'Grace Hopper' },
    });
    userId = res.json().id;
  });
  afterEach(async () => {
    await app.close();
    dir.remove();
  });

  const login = (payload: unknown) => app.inject({ method: 'POST', url: '/sessions', payload: payload as object });

  it('issues a Bearer token that verifies against the published JWKS', async () => {
    const res = await login({ email: 'grace@example.com', password: 'hopper-1906' });
    expect(res.statusCode).toBe(200);
    const session = res.json();
    expect(session).toEqual({ token: expect.any(String), tokenType: 'Bearer', expiresIn: 600 });

    const jwks = (await app.inject({ url: JWKS_PATH })).json();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: expect.any(String) });
    expect(jwks.keys[0]).not.toHaveProperty('d');

    const header = decodeProtectedHeader(session.token);
    expect(header).toMatchObject({ alg: 'ES256', kid: jwks.keys[0].kid });
    const { payload } = await jwtVerify(session.token, createLocalJWKSet(jwks), { issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE });
    expect(payload).toMatchObject({ sub: userId, email: 'grace@example.com', name: 'Grace Hopper' });
    expect(payload.exp! - payload.iat!).toBe(600);
  });

  it('accepts the email in any case', async () => {
    const res = await login({ email: ' Grace@EXAMPLE.com ', password: 'hopper-1906' });
    expect(res.statusCode).toBe(200);
  });

  it('answers a wrong password and an unknown email the same way: 401 INVALID_CREDENTIALS', async () => {
    const wrongPassword = await login({ email: 'grace@example.com', password: 'not-her-password' });
    const unknownEmail = await login({ email: 'nobody@example.com', password: 'hopper-1906' });
    expect(wrongPassword.statusCode).toBe(401);
    expect(unknownEmail.statusCode).toBe(401);
    expect(wrongPassword.json().error.code).toBe('INVALID_CREDENTIALS');
    expect(unknownEmail.json()).toEqual(wrongPassword.json());
  });

  it('names a missing password', async () => {
    const res = await login({ email: 'grace@example.com' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toContainEqual(expect.objectContaining({ path: '/password' }));
  });

  it('names a wrong-typed email', async () => {
    const res = await login({ email: ['a', 'b'], password: 'hopper-1906' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain('body/email');
  });

  it('rejects invalid JSON with 400 INVALID_JSON', async () => {
    const res = await app.inject({ method: 'POST', url: '/sessions', headers: { 'content-type': 'application/json' }, payload: 'nope' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('INVALID_JSON');
  });
});
