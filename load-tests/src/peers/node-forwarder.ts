// The smallest honest Node proxy: node:http in, one keep-alive undici Pool out, bodies streamed both ways.
import { notifyReady, onShutdown, readPort } from '@meshcart/service-kit';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const upstream = process.env['UPSTREAM_URL'];
if (!upstream) {
  console.error('node-forwarder: UPSTREAM_URL is required');
  process.exit(1);
}
const pool = new Pool(upstream, { connections: 64, keepAliveTimeout: 60_000 });
// Hop-by-hop headers belong to each connection, not to the request.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

const server = createServer((req, res) => {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.has(k)) headers[k] = v;
  pool
    .request({ method: req.method as 'GET', path: req.url ?? '/', headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req })
    .then(({ statusCode, headers: upstreamHeaders, body }) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(upstreamHeaders)) if (v !== undefined && !HOP.has(k)) out[k] = v;
      res.writeHead(statusCode, out);
      body.pipe(res);
    })
    .catch((err: Error) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(err.message);
    });
});
server.keepAliveTimeout = 120_000;
server.listen(readPort(process.env, 'PORT', 0), '127.0.0.1', () => {
  notifyReady({ name: 'node-forwarder', ports: { http: (server.address() as AddressInfo).port } });
});
onShutdown(async () => {
  server.close();
  server.closeAllConnections();
  await pool.close();
}, console);
