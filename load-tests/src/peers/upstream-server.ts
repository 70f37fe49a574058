// The one upstream every peer forwards to: a Fastify server in its own process answering ~100 bytes of JSON.
import { readPort, runService } from '@meshcart/service-kit';
import Fastify from 'fastify';

const item = { id: 'item_0123456789', name: 'Blue ceramic mug', priceCents: 1299, currency: 'EUR', inStock: true };

const app = Fastify({ logger: false, keepAliveTimeout: 120_000 });
app.get('/items/:id', async () => item);
await runService(app, { name: 'bench-upstream', host: '127.0.0.1', port: readPort(process.env, 'PORT', 0) });
