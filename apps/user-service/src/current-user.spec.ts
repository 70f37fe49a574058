// GET /users/me: who the Bearer token says you are, and 401 for anything but a valid, current token.
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@meshcart/contracts';
import { makeTempDir } from '@meshcart/testing';
import Database from 'better-sqlite3';
import { SignJWT, generateKeyPair, importJWK, type JWK } from 'jose';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from './app';

const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };

describe('current user', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let user: { id: string; email: string; name: string; createdAt: string };
  let token: string;

  beforeEach(async () => {
    dir = makeTempDir();
    app = await buildApp({ dataDir: dir.path, logger: false, scryptCost: FAST_SCRYPT });
    user = (
      await app.inject({ method: 'POST', url: '/users', payload: { email: 'alan@example.com', password: 'enigma-1912', name: 'Alan' } })
    ).json();
    token = (await app.inject({ method: 'POST', url: '/sessions', payload: { email: 'alan@example.com', password: 'enigma-1912' } })).json().token;
  });
  afterEach(async () => {
    await app.close();
    dir.remove();
  });

  const me = (authorization?: string) => app.inject({ url: '/users/me', headers: authorization ? { authorization } : {} });

  /** Signs claims with the service's own stored key, to forge tokens that differ only in one respect. */
  async function signWithServiceKey(build: (jwt: SignJWT) => SignJWT): Promise<string> {
    const db = new Database(join(dir.path, 'user-service.db'), { readonly: true });
    const row = db.prepare('SELECT kid, private_jwk FROM signing_keys').get() as { kid: string; private_jwk: string };
    db.close();
    const key = await importJWK(JSON.parse(row.private_jwk) as JWK, 'ES256');
    return build(new SignJWT({ email: user.email, name: user.name }).setProtectedHeader({ alg: 'ES256', kid: row.kid })).sign(key);
  }

  it('returns the user the token belongs to', async () => {
    const res = await me(`Bearer ${token}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(user);
  });

  it('answers 401 UNAUTHORIZED with WWW-Authenticate when the header is missing', async () => {
    const res = await me();
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHORIZED');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('answers 401 for a header that is not Bearer', async () => {
    const res = await me(`Basic ${Buffer.from('alan:enigma-1912').toString('base64')}`);
    expect(res.statusCode).toBe(401);
  });

  it('answers 401 for a malformed token', async () => {
    const res = await me('Bearer not.a.jwt');
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHORIZED');
  });

  it('answers 401 for a token with a tampered payload', async () => {
    const [h, , s] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ sub: user.id, email: 'admin@example.com', iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE, exp: 4e9 }),
    ).toString('base64url');
    const res = await me(`Bearer ${h}.${forged}.${s}`);
    expect(res.statusCode).toBe(401);
  });

  it('answers 401 for a token signed by another key', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const foreign = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(user.id)
      .setExpirationTime('1h')
      .sign(privateKey);
    const res = await me(`Bearer ${foreign}`);
    expect(res.statusCode).toBe(401);
  });

  it('answers 401 for an expired token signed with the right key', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await signWithServiceKey((jwt) =>
      jwt
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setSubject(user.id)
        .setIssuedAt(now - 7200)
        .setExpirationTime(now - 3600),
    );
    const res = await me(`Bearer ${expired}`);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toMatch(/expired/);
  });

  it('answers 401 for a token meant for another audience', async () => {
    const wrongAudience = await signWithServiceKey((jwt) =>
      jwt.setIssuer(TOKEN_ISSUER).setAudience('somebody-else').setSubject(user.id).setExpirationTime('1h'),
    );
    expect((await me(`Bearer ${wrongAudience}`)).statusCode).toBe(401);
  });

  it('accepts a well-formed token from the same key (the forging helper itself is sound)', async () => {
    const good = await signWithServiceKey((jwt) =>
      jwt.setIssuer(TOKEN_ISSUER).setAudience(TOKEN_AUDIENCE).setSubject(user.id).setExpirationTime('1h'),
    );
    expect((await me(`Bearer ${good}`)).statusCode).toBe(200);
  });

  it('answers 401 when the token names a user that does not exist', async () => {
    const ghost = await signWithServiceKey((jwt) =>
      jwt.setIssuer(TOKEN_ISSUER).setAudience(TOKEN_AUDIENCE).setSubject('00000000-0000-0000-0000-000000000000').setExpirationTime('1h'),
    );
    const res = await me(`Bearer ${ghost}`);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHORIZED');
  });
});
