import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MeshCallError, MeshClient, parseUpstreams, readPort, EnvError } from './index';

const closers: (() => Promise<void>)[] = [];

/** A plain echo server (libs/testing depends on this lib, so it is not used here). */
async function startRecordingServer() {
  const requests: { url: string; headers: Record<string, string | string[] | undefined> }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url, body }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())),
  };
}
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

describe('MeshClient', () => {
  it('in sidecar mode sends every call to the outbound listener, naming the service in Host', async () => {
    const sidecar = await startRecordingServer();
    closers.push(sidecar.close);
    const client = new MeshClient({ service: 'order-service', mode: 'sidecar', outboundUrl: sidecar.url });
    closers.push(() => client.close());
    const res = await client.request<{ url: string; body: string }>('payment-service', { method: 'POST', path: '/charges', body: { a: 1 } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatchObject({ url: '/charges', body: '{"a":1}' });
    expect(sidecar.requests[0]!.headers.host).toBe('payment-service');
    expect(sidecar.requests[0]!.headers['content-type']).toBe('application/json');
  });

  it('with the mesh off calls the service address directly, and fails clearly without one', async () => {
    const product = await startRecordingServer();
    closers.push(product.close);
    const client = new MeshClient({ service: 'order-service', mode: 'off', upstreams: { 'product-service': product.url } });
    closers.push(() => client.close());
    expect((await client.request('product-service', { path: '/products' })).statusCode).toBe(200);
    await expect(client.request('payment-service', { path: '/x' })).rejects.toThrow(/no address for "payment-service"/);
  });

  it('turns a refused connection into MeshCallError naming the service', async () => {
    const client = new MeshClient({ service: 'order-service', mode: 'off', upstreams: { 'user-service': 'http://127.0.0.1:9' } });
    closers.push(() => client.close());
    const err = await client.request('user-service', { path: '/users/1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeshCallError);
    expect((err as Error).message).toMatch(/^call to user-service failed/);
  });
});

describe('environment settings', () => {
  it('name the variable and what is allowed', () => {
    expect(() => readPort({ PORT: 'abc' }, 'PORT', 1)).toThrow(new EnvError('PORT', 'abc', 'an integer from 0 to 65535'));
    expect(readPort({}, 'PORT', 3001)).toBe(3001);
    expect(parseUpstreams('a=http://127.0.0.1:1, b=http://127.0.0.1:2')).toEqual({ a: 'http://127.0.0.1:1', b: 'http://127.0.0.1:2' });
    expect(() => parseUpstreams('a=localhost')).toThrow(/MESH_UPSTREAMS/);
  });
});
