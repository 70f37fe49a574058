// Bare @fastify/http-proxy in its own process: the Fastify ecosystem's stock reverse proxy, no options tuned.
import proxy from '@fastify/http-proxy';
import { readPort, runService } from '@meshcart/service-kit';
import Fastify from 'fastify';

const upstream = process.env['UPSTREAM_URL'];
if (!upstream) {
  console.error('fastify-http-proxy: UPSTREAM_URL is required');
  process.exit(1);
}
const app = Fastify({ logger: false, keepAliveTimeout: 120_000 });
await app.register(proxy, { upstream });
await runService(app, { name: 'fastify-http-proxy', host: '127.0.0.1', port: readPort(process.env, 'PORT', 0) });
