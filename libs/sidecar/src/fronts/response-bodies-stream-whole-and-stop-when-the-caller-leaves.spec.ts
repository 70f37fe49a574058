import { compileProxyResources, endpointsSnapshot, parseMeshConfig } from '@meshcart/mesh-config';
import { startRecordingServer, type RecordingServer } from '@meshcart/testing';
import type { AddressInfo } from 'node:net';
import type { Server, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../policies/telemetry/telemetry-layer';
import { DataPlane } from '../runtime/data-plane';
import { MeshDispatcher } from './mesh-dispatcher';
import { outboundListener } from './outbound-listener';

const config = parseMeshConfig(`
apiVersion: meshcart.io/v1alpha1
kind: MeshConfig
metadata: { name: bodies }
spec:
  defaults: { accessLog: { mode: 'off' }, policy: { timeoutMs: 10000 } }
  services: { order-service: {}, payment-service: {} }
`);

const CHUNK = Buffer.alloc(64 * 1024, 'x');
const CHUNKS = 64; // 4 MiB: far more than any stream's buffer, so backpressure must reach the upstream
/** Responses the upstream saw end before they were complete (the caller left and the mesh let go). */
const cutShort: string[] = [];

function streamBody(path: string, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  let sent = 0;
  let finished = false;
  res.once('finish', () => (finished = true));
  res.once('close', () => {
    if (!finished) cutShort.push(path);
  });
  const more = () => {
    while (sent < CHUNKS) {
      sent++;
      if (!res.write(CHUNK)) return void res.once('drain', more);
    }
    res.end();
  };
  more();
}

/** Slow to finish: a first chunk, then nothing for a long time. */
function trickle(path: string, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.write('first ');
  const timer = setTimeout(() => res.end('last'), 5_000);
  res.once('close', () => {
    clearTimeout(timer);
    if (!res.writableFinished) cutShort.push(path);
  });
}

let upstream: RecordingServer;
let dataPlane: DataPlane;
let dispatcher: MeshDispatcher;
let listener: Server;
let listenerUrl: string;
const records: RequestRecord[] = [];

beforeAll(async () => {
  upstream = await startRecordingServer((req, res) => (req.url.startsWith('/trickle') ? trickle(req.url, res) : streamBody(req.url, res)));
  dataPlane = new DataPlane({ observers: () => [{ onRequestEnd: (r) => records.push(r) }] });
  dataPlane.applyResources(compileProxyResources(config, 'order-service'));
  dataPlane.applyEndpoints(endpointsSnapshot({ 'payment-service': [{ instance: 'p1', url: upstream.url, weight: 1, labels: {} }] }));
  dispatcher = new MeshDispatcher(dataPlane, 'order-service');
  listener = outboundListener('order-service', dataPlane);
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => listener.close(resolve));
  await dataPlane.close();
  await upstream.close();
});

/** Reads a body slowly at first, so that it waits on the reader several times. */
async function slowlyRead(body: AsyncIterable<Buffer>): Promise<number> {
  let bytes = 0;
  let reads = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    if (++reads <= 5) await sleep(20);
  }
  return bytes;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await sleep(25);
}

describe('response bodies through the mesh', () => {
  it('proxyless: a body larger than every buffer arrives whole to a slow reader, and is measured when it ends', async () => {
    const res = await request('http://payment-service/big', { dispatcher });
    expect(res.statusCode).toBe(200);
    expect(await slowlyRead(res.body)).toBe(CHUNK.length * CHUNKS);
    expect(records.at(-1)).toMatchObject({ path: '/big', statusCode: 200, endpoint: 'p1' });
  });

  it('sidecar: the same body arrives whole through the outbound listener', async () => {
    const res = await request(`${listenerUrl}/big-via-listener`, { headers: { host: 'payment-service' } });
    expect(res.statusCode).toBe(200);
    expect(await slowlyRead(res.body)).toBe(CHUNK.length * CHUNKS);
  });

  it('proxyless: a caller that gives up mid-body ends the upstream response', async () => {
    const caller = new AbortController();
    const res = await request('http://payment-service/trickle-proxyless', { dispatcher, signal: caller.signal });
    const first = await res.body[Symbol.asyncIterator]().next();
    expect(String(first.value)).toBe('first ');
    caller.abort();
    await until(() => cutShort.includes('/trickle-proxyless'));
    expect(cutShort).toContain('/trickle-proxyless');
  });

  it('sidecar: a client that goes away mid-body ends the upstream response', async () => {
    const res = await request(`${listenerUrl}/trickle-listener`, { headers: { host: 'payment-service' } });
    const first = await res.body[Symbol.asyncIterator]().next();
    expect(String(first.value)).toBe('first ');
    res.body.destroy();
    await until(() => cutShort.includes('/trickle-listener'));
    expect(cutShort).toContain('/trickle-listener');
  });
});
