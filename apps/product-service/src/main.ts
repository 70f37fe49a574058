// Starts product-service from the environment (PORT, HOST, DATA_DIR, LOG_LEVEL, MESH_*).
import { readServiceEnv, runService } from '@meshcart/service-kit';
import { ServiceMesh } from '@meshcart/sidecar';
import { buildApp } from './app';

const DEFAULT_PORT = 3002;

const env = readServiceEnv('product-service', DEFAULT_PORT);
// Proxyless, the service registers itself with the control plane; otherwise this is a no-op.
const mesh = new ServiceMesh(env.mesh);
const app = await buildApp({ dataDir: env.dataDir, logger: { level: env.logLevel } });
app.addReadinessCheck('mesh', () => mesh.ready());
// Leave the mesh first, so callers stop picking this instance before it stops serving.
app.addHook('preClose', () => mesh.leave());
await runService(app, {
  name: 'product-service',
  host: env.host,
  port: env.port,
  onListening: (port) => mesh.joined(port),
  afterClose: () => mesh.close(),
});
