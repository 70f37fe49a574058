import { Type } from '@sinclair/typebox';
import { afterAll, describe, expect, it } from 'vitest';
import { createServiceApp, HttpError } from './index';

const app = createServiceApp({ name: 'test', logger: false });
app.post(
  '/things',
  {
    schema: {
      body: Type.Object(
        { name: Type.String({ minLength: 1 }), count: Type.Integer({ minimum: 1 }), kind: Type.Union([Type.Literal('a'), Type.Literal('b')]) },
        { additionalProperties: false },
      ),
    },
  },
  async () => ({ ok: true }),
);
app.get('/teapot', async () => {
  throw new HttpError(418, 'TEAPOT', 'short and stout');
});
app.get('/boom', async () => {
  throw new Error('secret internals');
});
afterAll(() => app.close());

describe('error responses', () => {
  it('reports every invalid field with its path', async () => {
    const res = await app.inject({ method: 'POST', url: '/things', payload: { count: 0, kind: 'c', extra: 1 } });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('VALIDATION_FAILED');
    const paths = error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['/name', '/count', '/extra', '/kind']));
    expect(error.message).toContain('body/name');
  });

  it('rejects malformed JSON with INVALID_JSON', async () => {
    const res = await app.inject({ method: 'POST', url: '/things', headers: { 'content-type': 'application/json' }, payload: '{"name": ' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('INVALID_JSON');
  });

  it('passes HttpError status and code through', async () => {
    const res = await app.inject('/teapot');
    expect(res.statusCode).toBe(418);
    expect(res.json()).toEqual({ error: { code: 'TEAPOT', message: 'short and stout' } });
  });

  it('hides unexpected errors behind a 500 INTERNAL', async () => {
    const res = await app.inject('/boom');
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
  });

  it('answers unknown routes with ROUTE_NOT_FOUND', async () => {
    const res = await app.inject('/nope');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('ROUTE_NOT_FOUND');
  });
});
