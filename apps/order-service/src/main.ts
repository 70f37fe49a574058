// Starts order-service from the environment (PORT, HOST, DATA_DIR, LOG_LEVEL, MESH_*).
import { MeshClient, readServiceEnv, runService } from '@meshcart/service-kit';
import { buildApp } from './app';

const env = readServiceEnv('order-service', 3003);
const mesh = new MeshClient(env.mesh);
// Sweeping every 30 s also catches orders interrupted shortly before a restart, once they age.
const app = await buildApp({ dataDir: env.dataDir, mesh, logger: { level: env.logLevel }, recoveryIntervalMs: 30_000 });
await runService(app, { name: 'order-service', host: env.host, port: env.port });
