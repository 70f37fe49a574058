// Registering accounts and looking them up by id.
import { makeTempDir } from '@meshcart/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from './app';

const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };

describe('registration', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeEach(async () => {
    dir = makeTempDir();
    app = await buildApp({ dataDir: dir.path, logger: false, scryptCost: FAST_SCRYPT });
  });
  afterEach(async () => {
    await app.close();
    dir.remove();
  });

  const register = (payload: unknown) => app.inject({ method: 'POST', url: '/users', payload: payload as object });

  it('creates the account and answers 201 without the password', async () => {
    const res = await register({ email: 'ada@example.com', password: 'correct horse', name: 'Ada' });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), email: 'ada@example.com', name: 'Ada', createdAt: expect.any(String) });
    expect(JSON.stringify(body)).not.toMatch(/password|scrypt/);
  });

  it('stores the email lower-cased', async () => {
    const res = await register({ email: 'Ada@Example.COM', password: 'correct horse', name: 'Ada' });
    expect(res.json().email).toBe('ada@example.com');
  });

  it('rejects a second account with the same email, whatever its case, with 409 EMAIL_TAKEN', async () => {
    expect((await register({ email: 'ada@example.com', password: 'correct horse', name: 'Ada' })).statusCode).toBe(201);
    const res = await register({ email: 'ADA@example.com', password: 'another one', name: 'Other Ada' });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('EMAIL_TAKEN');
  });

  it('rejects invalid JSON with 400 INVALID_JSON', async () => {
    const res = await app.inject({ method: 'POST', url: '/users', headers: { 'content-type': 'application/json' }, payload: '{"email":' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('INVALID_JSON');
  });

  it('names a missing field', async () => {
    const res = await register({ email: 'ada@example.com', name: 'Ada' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
    expect(res.json().error.details).toContainEqual(expect.objectContaining({ path: '/password', in: 'body' }));
  });

  it('names a wrong-typed field', async () => {
    const res = await register({ email: 'ada@example.com', password: 'correct horse', name: { first: 'Ada' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain('body/name');
  });

  it('rejects a malformed email and a short password, naming both', async () => {
    const res = await register({ email: 'not-an-email', password: 'short', name: 'Ada' });
    expect(res.statusCode).toBe(400);
    const paths = (res.json().error.details as { path: string }[]).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['/email', '/password']));
  });

  it('rejects unknown properties', async () => {
    const res = await register({ email: 'ada@example.com', password: 'correct horse', name: 'Ada', admin: true });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toContainEqual(expect.objectContaining({ path: '/admin' }));
  });

  it('finds a user by id', async () => {
    const created = (await register({ email: 'ada@example.com', password: 'correct horse', name: 'Ada' })).json();
    const res = await app.inject({ url: `/users/${created.id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(created);
  });

  it('answers 404 USER_NOT_FOUND for an unknown id', async () => {
    const res = await app.inject({ url: '/users/00000000-0000-0000-0000-000000000000' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('USER_NOT_FOUND');
  });

  it('answers 400 naming the id when it is malformed', async () => {
    const res = await app.inject({ url: '/users/not.an.id' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toContainEqual(expect.objectContaining({ path: '/id', in: 'params' }));
  });

  it('is ready once the database is open', async () => {
    const res = await app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(200);
  });
});
