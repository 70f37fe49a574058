// The signing key is stored: tokens stay valid across restarts and replicas publish the same key.
import { JWKS_PATH } from '@meshcart/contracts';
import { makeTempDir } from '@meshcart/testing';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { buildApp } from './app';

const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };
let dir: ReturnType<typeof makeTempDir>;

beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => dir.remove());

it('accepts a token issued before a restart and keeps the same kid', async () => {
  const first = await buildApp({ dataDir: dir.path, logger: false, scryptCost: FAST_SCRYPT });
  await first.inject({ method: 'POST', url: '/users', payload: { email: 'ada@example.com', password: 'correct horse', name: 'Ada' } });
  const { token } = (
    await first.inject({ method: 'POST', url: '/sessions', payload: { email: 'ada@example.com', password: 'correct horse' } })
  ).json();
  const kidBefore = (await first.inject({ url: JWKS_PATH })).json().keys[0].kid;
  await first.close();

  const second = await buildApp({ dataDir: dir.path, logger: false, scryptCost: FAST_SCRYPT });
  try {
    const res = await second.inject({ url: '/users/me', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json().email).toBe('ada@example.com');
    expect((await second.inject({ url: JWKS_PATH })).json().keys[0].kid).toBe(kidBefore);
  } finally {
    await second.close();
  }
});

it('gives two replicas starting together on one database the same key', async () => {
  const [a, b] = await Promise.all([
    buildApp({ dataDir: dir.path, logger: false, scryptCost: FAST_SCRYPT }),
    buildApp({ dataDir: dir.path, logger: false, scryptCost: FAST_SCRYPT }),
  ]);
  try {
    const jwksA = (await a.inject({ url: JWKS_PATH })).json();
    const jwksB = (await b.inject({ url: JWKS_PATH })).json();
    expect(jwksA.keys).toHaveLength(1);
    expect(jwksB).toEqual(jwksA);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
