// Starts product-service from the environment (PORT, HOST, DATA_DIR, LOG_LEVEL, MESH_*).
import { readServiceEnv } from '@meshcart/service-kit';
import { ServiceMesh } from '@meshcart/service-mesh';
import { buildApp } from './app';

const DEFAULT_PORT = 3002;

const env = readServiceEnv('product-service', DEFAULT_PORT);
// How this service joins the mesh (sidecar, proxyless or off): see ServiceMesh.
const mesh = new ServiceMesh(env.mesh);
const app = await buildApp({ dataDir: env.dataDir, logger: { level: env.logLevel } });
await mesh.run(app, env);
