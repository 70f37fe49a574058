// The one upstream every peer forwards to: a Fastify server in its own process answering ~100 bytes of JSON.
import { installHealth, readPort, readServiceEnv, runService } from '@meshcart/service-kit';
import { ServiceMesh } from '@meshcart/service-mesh';
import Fastify from 'fastify';

const item = { id: 'item_0123456789', name: 'Blue ceramic mug', priceCents: 1299, currency: 'EUR', inStock: true };

const app = Fastify({ logger: false, keepAliveTimeout: 120_000 });
app.get('/items/:id', async () => item);
const port = readPort(process.env, 'PORT', 0);
if (process.env['MESH_MODE'] === 'proxyless') {
  // The meshcart-proxyless peer's upstream: the same app with the mesh in-process, as a proxyless service
  // runs (MESH_SERVICE and the MESH_* settings of readServiceEnv): its own mTLS mesh port, inbound admission.
  installHealth(app);
  const env = readServiceEnv(process.env['MESH_SERVICE'] ?? 'bench-upstream', port);
  await new ServiceMesh(env.mesh).run(app, { host: '127.0.0.1', port });
} else {
  await runService(app, { name: 'bench-upstream', host: '127.0.0.1', port });
}
