// Measures HTTP/2 (h2c) against pooled HTTP/1.1 between two sidecars, interleaved in one run on one machine.
import { compileProxyResources, endpointsSnapshot, parseMeshConfig } from '@meshcart/mesh-config';
import { Sidecar } from '@meshcart/sidecar';
import Table from 'cli-table3';
import * as hdr from 'hdr-histogram-js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Pool } from 'undici';

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, seconds: { type: 'string' } } });
const seconds = Number(values.seconds ?? (values.quick ? 2 : 5));
const rounds = values.quick ? 1 : 3;
const concurrencies = [1, 32];

function config(h2: boolean) {
  return parseMeshConfig(`
apiVersion: meshcart.io/v1alpha1
kind: MeshConfig
metadata: { name: h2-bench }
spec:
  defaults:
    accessLog: { mode: 'off' }
    policy: { connectionPool: { maxConnections: 64, maxRequestsPerConnection: 0, h2UpgradePolicy: ${h2 ? 'UPGRADE' : 'DO_NOT_UPGRADE'} } }
  services: { order-service: {}, payment-service: {} }
`);
}

const body = JSON.stringify({ id: 'ch_0123456789', orderId: 'ord_0123456789', amountCents: 12345, status: 'succeeded' });
const app = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
const silent = pino({ level: 'silent' });
const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
const order = new Sidecar({
  service: 'order-service',
  instance: 'order-1',
  appUrl: 'http://127.0.0.1:9',
  controlPlaneUrls: ['http://127.0.0.1:9'],
  logger: silent,
});
const payment = new Sidecar({ service: 'payment-service', instance: 'payment-1', appUrl, controlPlaneUrls: ['http://127.0.0.1:9'], logger: silent });
const [o, p] = [await order.start(), await payment.start()];
const endpoints = endpointsSnapshot({
  'payment-service': [
    { instance: 'payment-1', url: `http://127.0.0.1:${p.inbound}`, h2cUrl: `http://127.0.0.1:${p.inboundH2c}`, weight: 1, labels: {} },
  ],
});

async function measure(h2: boolean, concurrency: number) {
  for (const s of [order, payment]) {
    s.runtime.dataPlane.applyResources(compileProxyResources(config(h2), 'order-service'));
    s.runtime.dataPlane.applyEndpoints(endpoints);
  }
  const client = new Pool(`http://127.0.0.1:${o.outbound}`, { connections: concurrency });
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: 3 });
  let count = 0;
  let recording = false;
  const until = Date.now() + 1_000 + seconds * 1_000;
  setTimeout(() => (recording = true), 1_000); // one second of warm-up
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        const start = process.hrtime.bigint();
        const res = await client.request({ path: '/charges/1', method: 'GET', headers: { host: 'payment-service' } });
        await res.body.dump();
        if (recording) {
          histogram.recordValue(Number(process.hrtime.bigint() - start) / 1_000);
          count++;
        }
      }
    }),
  );
  await client.close();
  return { rps: count / seconds, p50: histogram.getValueAtPercentile(50), p99: histogram.getValueAtPercentile(99) };
}

console.log(`HTTP/1.1 (pooled keep-alive) vs HTTP/2 (h2c) between two sidecars: ${rounds} interleaved round(s) of ${seconds} s per case.`);
console.log('The client, both sidecars and the app share this one process and its event loop: compare the rows, not absolute figures.');
const results = new Map<string, { rps: number[]; p50: number[]; p99: number[] }>();
for (let round = 1; round <= rounds; round++) {
  for (const concurrency of concurrencies) {
    for (const h2 of [false, true]) {
      const key = `${h2 ? 'h2c' : 'http/1.1'} × ${concurrency}`;
      process.stdout.write(`  round ${round}/${rounds}: ${key} ... `);
      const r = await measure(h2, concurrency);
      console.log(`${Math.round(r.rps)} req/s, p50 ${r.p50} µs, p99 ${r.p99} µs`);
      const acc = results.get(key) ?? { rps: [], p50: [], p99: [] };
      acc.rps.push(r.rps);
      acc.p50.push(r.p50);
      acc.p99.push(r.p99);
      results.set(key, acc);
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const table = new Table({ head: ['protocol × concurrency', 'req/s (median)', 'p50 µs', 'p99 µs'], style: { head: [], border: [] } });
for (const [key, r] of results) table.push([key, Math.round(median(r.rps)), median(r.p50), median(r.p99)]);
console.log(table.toString());
await order.stop();
await payment.stop();
app.close();
