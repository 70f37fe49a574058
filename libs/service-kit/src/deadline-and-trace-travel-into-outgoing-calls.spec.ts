import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServiceApp, MeshClient } from './index';

// A stand-in for the sidecar's outbound listener that reports the headers it got.
const seen: Record<string, string | string[] | undefined>[] = [];
const sidecar = createServer((req, res) => {
  seen.push(req.headers);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{}');
});
let client: MeshClient;
const app = createServiceApp({ name: 'order-service', logger: false });

beforeAll(async () => {
  await new Promise<void>((r) => sidecar.listen(0, '127.0.0.1', r));
  client = new MeshClient({ service: 'order-service', mode: 'sidecar', outboundUrl: `http://127.0.0.1:${(sidecar.address() as AddressInfo).port}` });
  app.get('/work', async (_req, reply) => {
    await new Promise((r) => setTimeout(r, 50));
    try {
      await client.request('payment-service', { path: '/charges' });
    } catch (err) {
      return reply.code(504).send({ failed: (err as Error).message });
    }
    return { ok: true };
  });
});
afterAll(async () => {
  await app.close();
  await client.close();
  sidecar.close();
});

describe('request context', () => {
  it('passes the remaining deadline and the trace on to the calls a request makes', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await app.inject({ url: '/work', headers: { 'x-meshcart-deadline-ms': '1000', traceparent } });
    expect(res.statusCode).toBe(200);
    const sent = seen.at(-1)!;
    expect(sent['traceparent']).toBe(traceparent);
    const left = Number(sent['x-meshcart-deadline-ms']);
    expect(left).toBeLessThanOrEqual(960);
    expect(left).toBeGreaterThan(0);
  });

  it("refuses to start a call once the caller's deadline has passed", async () => {
    const before = seen.length;
    const res = await app.inject({ url: '/work', headers: { 'x-meshcart-deadline-ms': '10' } });
    expect(res.statusCode).toBe(504);
    expect(res.json().failed).toContain("the caller's deadline has passed");
    expect(seen.length).toBe(before);
  });

  it('sends neither header for a request that had none', async () => {
    await app.inject({ url: '/work' });
    expect(seen.at(-1)!['x-meshcart-deadline-ms']).toBeUndefined();
    expect(seen.at(-1)!['traceparent']).toBeUndefined();
  });
});
