// Starts order-service from the environment (PORT, HOST, DATA_DIR, LOG_LEVEL, MESH_*).
import { readServiceEnv } from '@meshcart/service-kit';
import { ServiceMesh } from '@meshcart/service-mesh';
import { buildApp } from './app';

const env = readServiceEnv('order-service', 3003);
// How order-service reaches the others: its sidecar, the in-process mesh (proxyless) or directly.
const mesh = new ServiceMesh(env.mesh);
// Sweeping every 30 s also catches orders interrupted shortly before a restart, once they age.
const app = await buildApp({ dataDir: env.dataDir, mesh: mesh.client, logger: { level: env.logLevel }, recoveryIntervalMs: 30_000 });
await mesh.run(app, env);
