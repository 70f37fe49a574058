// Starts product-service from the environment (PORT, HOST, DATA_DIR, LOG_LEVEL, MESH_*).
import { readServiceEnv } from '@meshcart/service-kit';
import { ServiceMesh } from '@meshcart/service-mesh';
import { buildApp } from './app';

const DEFAULT_PORT = 3002;

const env = readServiceEnv('product-service', DEFAULT_PORT);
// How this service joins the mesh (sidecar, proxyless or off): see ServiceMesh.
const mesh = new ServiceMesh(env.mesh);
// The version label the mesh routes on (MESH_LABELS version=v2 for the canary) is also what it answers as.
const app = await buildApp({ dataDir: env.dataDir, logger: { level: env.logLevel }, version: env.mesh.labels['version'] });
await mesh.run(app, env);
